#include "testutil/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace dram::testing {

namespace {

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Reads one HTTP request (head + Content-Length body). Empty when the client closed.
std::string ReadRequest(int fd) {
  std::string data;
  char buffer[65536];
  size_t head_end = std::string::npos;
  size_t need = 0;
  for (;;) {
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::string head = Lower(data.substr(0, head_end));
        size_t at = head.find("\r\ncontent-length:");
        need = head_end + 4 + (at == std::string::npos ? 0 : std::stoul(head.substr(at + 17)));
      }
    }
    if (head_end != std::string::npos && data.size() >= need) return data;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return "";
    data.append(buffer, static_cast<size_t>(n));
  }
}

struct Reply {
  std::string status_line;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Parses a whole upstream reply read to EOF (identity or chunked body).
bool ParseReply(const std::string& raw, bool head_request, Reply& reply) {
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  size_t line_end = raw.find("\r\n");
  reply.status_line = raw.substr(0, line_end);
  bool chunked = false;
  size_t pos = line_end + 2;
  while (pos < head_end) {
    size_t end = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, end - pos);
    pos = end + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (Lower(name) == "transfer-encoding" && Lower(value).find("chunked") != std::string::npos) chunked = true;
    reply.headers.emplace_back(name, value);
  }
  std::string body = raw.substr(head_end + 4);
  if (head_request) return true;
  if (!chunked) {
    reply.body = std::move(body);
    return true;
  }
  size_t at = 0;
  for (;;) {
    size_t end = body.find("\r\n", at);
    if (end == std::string::npos) return false;
    size_t size = std::stoul(body.substr(at, end - at), nullptr, 16);
    if (size == 0) return true;
    reply.body += body.substr(end + 2, size);
    at = end + 2 + size + 2;
  }
}

std::string Serialize(const Reply& reply, bool head_request, std::string_view body) {
  std::string out = reply.status_line + "\r\n";
  bool had_length = false;
  for (const auto& [name, value] : reply.headers) {
    std::string lower = Lower(name);
    if (lower == "connection" || lower == "transfer-encoding") continue;
    if (lower == "content-length") {
      had_length = true;
      if (head_request) {
        out += name + ": " + value + "\r\n";
        continue;
      }
      out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
      continue;
    }
    out += name + ": " + value + "\r\n";
  }
  if (!had_length && !head_request) out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  out += body;
  return out;
}

}  // namespace

FaultProxy::FaultProxy(std::string upstream_host, int upstream_port)
    : upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::listen(listen_fd_, 64);
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::lock_guard lock(threads_mu_);
  for (auto& thread : threads_) thread.join();
}

void FaultProxy::Set(Fault fault, int times, std::string method, std::string target_contains, std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  fault_ = fault;
  times_ = times;
  method_ = std::move(method);
  target_contains_ = std::move(target_contains);
  delay_ = delay;
}

void FaultProxy::Accept() {
  while (!stopping_) {
    pollfd waiting{listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, 100) <= 0) continue;
    int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    std::lock_guard lock(threads_mu_);
    threads_.emplace_back([this, client] { Serve(client); });
  }
}

void FaultProxy::Serve(int client) {
  // Each client connection carries requests one after another; each goes upstream on its own connection.
  for (;;) {
    std::string request = ReadRequest(client);
    if (request.empty()) break;
    ++requests_;
    std::string first_line = request.substr(0, request.find("\r\n"));
    std::string method = first_line.substr(0, first_line.find(' '));
    std::string target = first_line.substr(method.size() + 1, first_line.rfind(' ') - method.size() - 1);
    const bool head_request = method == "HEAD";
    Fault fault = Fault::kNone;
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard lock(mu_);
      bool matches = fault_ != Fault::kNone && times_ != 0 && (method_.empty() || method_ == method) &&
                     target.find(target_contains_) != std::string::npos;
      if (matches) {
        fault = fault_;
        delay = delay_;
        if (times_ > 0) --times_;
        ++injected_;
      }
    }
    if (fault == Fault::kReset) break;
    if (fault == Fault::kStatus503 || fault == Fault::kStatus500) {
      std::string code = fault == Fault::kStatus503 ? "503 Service Unavailable" : "500 Internal Server Error";
      std::string body = "<Error><Code>" + std::string(fault == Fault::kStatus503 ? "SlowDown" : "InternalError") + "</Code></Error>";
      if (!SendAll(client, "HTTP/1.1 " + code + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body)) break;
      continue;
    }
    // Forward with Connection: close so the upstream reply ends at EOF.
    size_t head_end = request.find("\r\n\r\n");
    std::string upstream_request = request.substr(0, head_end) + "\r\nConnection: close" + request.substr(head_end);
    int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    ::inet_pton(AF_INET, upstream_host_.c_str(), &address.sin_addr);
    std::string raw;
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && SendAll(upstream, upstream_request)) {
      char buffer[65536];
      ssize_t n;
      while ((n = ::recv(upstream, buffer, sizeof buffer, 0)) > 0) raw.append(buffer, static_cast<size_t>(n));
    }
    ::close(upstream);
    Reply reply;
    if (!ParseReply(raw, head_request, reply)) break;
    if (fault == Fault::kSlow) std::this_thread::sleep_for(delay);
    if (fault == Fault::kCorrupt && !reply.body.empty()) reply.body[reply.body.size() / 2] ^= 0x5a;
    if (fault == Fault::kWrongEtag) {
      for (auto& [name, value] : reply.headers) {
        if (Lower(name) == "etag") value = "\"00000000000000000000000000000000\"";
      }
      for (const char* open : {"<ETag>&quot;", "<ETag>\""}) {
        size_t at = 0;
        while ((at = reply.body.find(open, at)) != std::string::npos) {
          size_t start = at + std::string(open).size();
          size_t end = reply.body.find("</ETag>", start);
          if (end == std::string::npos) break;
          reply.body.replace(start, std::min<size_t>(32, end - start), std::string(std::min<size_t>(32, end - start), '0'));
          at = end;
        }
      }
    }
    std::string body = reply.body;
    if (fault == Fault::kTruncate) body.resize(body.size() / 2);
    if (!SendAll(client, Serialize(reply, head_request, body))) break;
    if (fault == Fault::kTruncate) break;  // the promised length never arrives
    break;  // Connection: close was announced
  }
  ::close(client);
}

}  // namespace dram::testing
