#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "dram/status.h"
#include "store/object_store.h"

namespace dram::store {


struct HttpCall {
  std::string method = "GET";  // GET, HEAD, PUT, DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;       // for PUT; must outlive the call
  const ByteSink* sink = nullptr;  // 2xx bodies go here when set, into HttpReply::body otherwise
  long sink_status = 0;            // when set, only a reply with this status goes to the sink
  std::chrono::milliseconds timeout{60'000};  // the whole attempt
};

struct HttpReply {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;            // error bodies always (first 64 KiB); 2xx bodies when no sink
  int64_t body_bytes = 0;      // bytes received (to the sink or the body)
  const std::string* Header(std::string_view name) const;
};

// The Status for a failed HTTP reply from an object store: 404/410 NotFound, 412
// FailedPrecondition, 416 OutOfRange, 401/403 PermissionDenied, 400 InvalidArgument; 5xx,
// throttling (429), timeouts (408) and a concurrent conditional write (409) are Unavailable
// (worth retrying); anything else Internal. `detail` says what came back ("HTTP 503 SlowDown"),
// `what` names the object; neither may hold a credential.
Status StatusOfHttpError(long status, const std::string& detail, const std::string& what);

// "Wed, 21 Oct 2015 07:28:00 GMT" (a Last-Modified value) → ms since the epoch; 0 when absent
// or unreadable.
int64_t ParseHttpDateMs(const std::string* text);

// Blocking HTTP(S) over libcurl with connections reused across calls: a pool of easy handles,
// each keeping its connections alive. Transport failures (refused, reset, timeout, stalled,
// truncated) are Unavailable; an HTTP status is never an error here. Thread-safe.
class HttpTransport {
 public:
  HttpTransport();
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  Result<HttpReply> Perform(const HttpCall& call);

 private:
  void* Acquire();
  void Release(void* handle);
  common::Mutex mu_;
  std::vector<void*> idle_ GUARDED_BY(mu_);  // CURL* handles
};

}  // namespace dram::store
