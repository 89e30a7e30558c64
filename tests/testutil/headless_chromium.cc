#include "testutil/headless_chromium.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

#include "common/json_text.h"

namespace dram::testing {

namespace json = boost::json;

namespace {

// Records the page's CSP violations where the test can read them (before any script of the page).
constexpr const char* kCspRecorder =
    "window.__cspViolations = [];"
    "document.addEventListener('securitypolicyviolation', function (e) {"
    "  window.__cspViolations.push({blockedURI: e.blockedURI, violatedDirective: e.violatedDirective});"
    "});";

std::string ChromiumBinary() {
  const char* configured = std::getenv("DRAM_CHROMIUM");
  return configured && *configured ? configured : "/usr/bin/chromium";
}

}  // namespace

Result<std::unique_ptr<HeadlessChromium>> HeadlessChromium::Start(int width, int height) {
  const std::string binary = ChromiumBinary();
  if (::access(binary.c_str(), X_OK) != 0) {
    return NotFound("no Chromium at " + binary + ": install Debian's chromium (DRAM_WITH_BROWSER=1 scripts/setup.sh)");
  }
  ::signal(SIGPIPE, SIG_IGN);  // a browser that died makes a write fail, not the test process
  std::unique_ptr<HeadlessChromium> browser(new HeadlessChromium());
  browser->profile_ = std::make_unique<TempDir>();
  int commands[2];    // test → browser (its fd 3)
  int replies[2];     // browser (its fd 4) → test
  if (::pipe2(commands, O_CLOEXEC) != 0 || ::pipe2(replies, O_CLOEXEC) != 0) return Unavailable("pipe failed");
  std::vector<std::string> args = {binary,
                                   "--headless",
                                   "--remote-debugging-pipe",
                                   "--user-data-dir=" + browser->profile_->path() + "/profile",
                                   "--no-first-run",
                                   "--no-default-browser-check",
                                   "--disable-gpu",
                                   "--disable-extensions",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--hide-scrollbars",
                                   "--mute-audio",
                                   "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                                   // Containers: a small /dev/shm, and often no user namespaces for the
                                   // sandbox (which root may not use at all). The browser only visits
                                   // the test's own server.
                                   "--disable-dev-shm-usage",
                                   "--no-sandbox",
                                   "about:blank"};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log_path = browser->profile_->path() + "/chromium.log";
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);  // its own process group: the destructor ends the browser's helpers with it
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::dup2(commands[0], 3);
    ::dup2(replies[1], 4);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log);
  ::close(commands[0]);
  ::close(replies[1]);
  browser->pid_ = pid;
  browser->to_browser_ = commands[1];
  browser->from_browser_ = replies[0];
  if (pid < 0) return Unavailable("fork failed");

  ASSIGN_OR_RETURN(json::value targets, browser->Call("Target.getTargets", {}, std::chrono::seconds(60), true));
  std::string target_id;
  for (const auto& target : targets.at("targetInfos").as_array()) {
    if (target.at("type") == "page") target_id = std::string(target.at("targetId").as_string());
  }
  if (target_id.empty()) {
    ASSIGN_OR_RETURN(json::value created, browser->Call("Target.createTarget", {{"url", "about:blank"}}, std::chrono::seconds(30), true));
    target_id = std::string(created.at("targetId").as_string());
  }
  ASSIGN_OR_RETURN(json::value attached,
                   browser->Call("Target.attachToTarget", {{"targetId", target_id}, {"flatten", true}}, std::chrono::seconds(30), true));
  browser->session_id_ = std::string(attached.at("sessionId").as_string());
  for (const char* domain : {"Page.enable", "Network.enable", "Runtime.enable"}) {
    RETURN_IF_ERROR(browser->Call(domain).status());
  }
  RETURN_IF_ERROR(browser->Call("Page.addScriptToEvaluateOnNewDocument", {{"source", kCspRecorder}}).status());
  RETURN_IF_ERROR(browser
                      ->Call("Emulation.setDeviceMetricsOverride",
                             {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", false}})
                      .status());
  return browser;
}

HeadlessChromium::~HeadlessChromium() {
  if (pid_ > 0) {
    (void)Call("Browser.close", {}, std::chrono::seconds(5), true);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (::waitpid(pid_, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(-pid_, SIGKILL);  // the browser's group: its helper processes too (a no-op when gone)
    ::waitpid(pid_, &status, WNOHANG);
  }
  if (to_browser_ >= 0) ::close(to_browser_);
  if (from_browser_ >= 0) ::close(from_browser_);
}

std::string HeadlessChromium::log() const { return profile_ ? ReadFile(profile_->path() + "/chromium.log") : ""; }

Status HeadlessChromium::Send(const json::object& message) {
  std::string bytes = json::serialize(message);
  bytes.push_back('\0');
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::write(to_browser_, bytes.data() + sent, bytes.size() - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unavailable("the browser is gone (write failed)");
    sent += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<json::object> HeadlessChromium::Receive(std::chrono::steady_clock::time_point deadline) {
  while (true) {
    size_t end = buffer_.find('\0');
    if (end != std::string::npos) {
      boost::system::error_code ec;
      json::value message = json::parse(std::string_view(buffer_).substr(0, end), ec);
      buffer_.erase(0, end + 1);
      if (ec || !message.is_object()) return Internal("the browser sent a message that is not a JSON object");
      return std::move(message.as_object());
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return DeadlineExceeded("no message from the browser in time");
    pollfd fd{from_browser_, POLLIN, 0};
    int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[65536];
    ssize_t n = ::read(from_browser_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unavailable("the browser is gone (its pipe closed)");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

Result<json::value> HeadlessChromium::Call(const std::string& method, json::object params, std::chrono::milliseconds timeout,
                                           bool browser) {
  const int64_t id = next_id_++;
  json::object message{{"id", id}, {"method", method}, {"params", std::move(params)}};
  if (!browser) message["sessionId"] = session_id_;
  RETURN_IF_ERROR(Send(message));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    ASSIGN_OR_RETURN(json::object reply, Receive(deadline));
    const json::value* reply_id = reply.if_contains("id");
    if (!reply_id) {
      if (reply.contains("method")) events_.push_back(std::move(reply));
      continue;
    }
    if (!reply_id->is_int64() || reply_id->as_int64() != id) continue;
    if (const json::value* error = reply.if_contains("error")) return Internal(method + " failed: " + json::serialize(*error));
    const json::value* result = reply.if_contains("result");
    return result ? *result : json::value(json::object{});
  }
}

Status HeadlessChromium::Navigate(const std::string& url, std::chrono::milliseconds timeout) {
  const size_t seen = events_.size();
  ASSIGN_OR_RETURN(json::value navigated, Call("Page.navigate", {{"url", url}}, timeout));
  if (const json::value* error = navigated.as_object().if_contains("errorText")) {
    return Unavailable("navigation failed: " + json::serialize(*error));
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (size_t i = seen;; ++i) {
    while (i >= events_.size()) {
      ASSIGN_OR_RETURN(json::object message, Receive(deadline));
      if (message.contains("method") && !message.contains("id")) events_.push_back(std::move(message));
    }
    if (events_[i].at("method") == "Page.loadEventFired") return Status::Ok();
  }
}

Result<json::value> HeadlessChromium::Evaluate(const std::string& expression) {
  ASSIGN_OR_RETURN(json::value evaluated,
                   Call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}}));
  if (const json::value* exception = evaluated.as_object().if_contains("exceptionDetails")) {
    return Internal("the expression threw: " + json::serialize(*exception));
  }
  const json::object& result = evaluated.at("result").as_object();
  const json::value* value = result.if_contains("value");
  return value ? *value : json::value(nullptr);
}

Status HeadlessChromium::WaitFor(const std::string& expression, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    ASSIGN_OR_RETURN(json::value value, Evaluate(expression));
    if (value.is_bool() && value.as_bool()) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) return DeadlineExceeded("still false: " + expression);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<std::string> HeadlessChromium::Screenshot() {
  ASSIGN_OR_RETURN(json::value shot, Call("Page.captureScreenshot", {{"format", "png"}}));
  auto png = common::DecodeBase64(shot.at("data").as_string());
  if (!png) return Internal("the screenshot is not base64");
  return *png;
}

Result<json::array> HeadlessChromium::CspViolations() {
  ASSIGN_OR_RETURN(json::value violations, Evaluate("window.__cspViolations || []"));
  if (!violations.is_array()) return Internal("no CSP violation list on the page");
  return violations.as_array();
}

}  // namespace dram::testing
