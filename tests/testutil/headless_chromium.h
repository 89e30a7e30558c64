#pragma once

#include <sys/types.h>

#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dram/status.h"
#include "testutil/temp_dir.h"

namespace dram::testing {

// A headless Chromium (Debian's `chromium`, or $DRAM_CHROMIUM) driven over the DevTools protocol
// on a pipe (--remote-debugging-pipe: NUL-terminated JSON messages, commands on fd 3, replies and
// events on fd 4), with one page, for tests of pages the server renders. Nothing but the page
// uses the network (background networking is off). Not thread-safe.
class HeadlessChromium {
 public:
  // Starts the browser with a `width`×`height` viewport, attached to its page, with the Page,
  // Network and Runtime domains on and CSP violations collected (see CspViolations).
  static Result<std::unique_ptr<HeadlessChromium>> Start(int width, int height);
  // Closes the browser; kills its process group if it does not exit.
  ~HeadlessChromium();
  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;

  // Sends a command to the page (or, with `browser`, to the browser) and returns its result.
  // Errors: Internal for a protocol error, DeadlineExceeded, Unavailable when the browser died.
  Result<boost::json::value> Call(const std::string& method, boost::json::object params = {},
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30), bool browser = false);
  // Navigates and waits for the page's load event.
  Status Navigate(const std::string& url, std::chrono::milliseconds timeout);
  // The value of a JavaScript expression (awaited when it is a promise), by value.
  Result<boost::json::value> Evaluate(const std::string& expression);
  // Polls `expression` every 50 ms until it is true; DeadlineExceeded after `timeout`.
  Status WaitFor(const std::string& expression, std::chrono::milliseconds timeout);
  // The page's viewport as PNG bytes.
  Result<std::string> Screenshot();
  // The `securitypolicyviolation` events of the page: {blockedURI, violatedDirective} each.
  Result<boost::json::array> CspViolations();

  // Every event received so far ({method, params}), e.g. Network.requestWillBeSent.
  const std::vector<boost::json::object>& events() const { return events_; }
  // Chromium's own output (stderr), for failure messages.
  std::string log() const;

 private:
  HeadlessChromium() = default;
  Status Send(const boost::json::object& message);
  // Reads one message; DeadlineExceeded when none arrives before `deadline`.
  Result<boost::json::object> Receive(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<TempDir> profile_;
  pid_t pid_ = -1;
  int to_browser_ = -1;
  int from_browser_ = -1;
  std::string buffer_;  // received bytes not yet split into messages
  std::string session_id_;
  int64_t next_id_ = 1;
  std::vector<boost::json::object> events_;
};

}  // namespace dram::testing
