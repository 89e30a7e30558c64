#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"

// JSON POSTs to one etcd member over libcurl: unary calls over kept-alive connections, and the
// long-lived streaming call a watch is.

namespace dram::cluster::internal {

// How one exchange with one member ended.
struct HttpExchange {
  enum class Failure {
    kNone,      // a reply came (any HTTP status)
    kConnect,   // no connection was made: the request never reached the member
    kTimeout,   // connected, but no whole reply within the time allowed
    kIdle,      // a stream sent nothing for longer than its idle timeout
    kStopped,   // the caller's stop token was triggered
    kReceiver,  // a stream's receiver asked to end it
    kOther,     // reset, truncated, ...: the member may or may not have acted on the request
  };
  Failure failure = Failure::kNone;
  std::string error;  // libcurl's description when failure is not kNone
  long status = 0;    // the HTTP status of the reply, 0 when none came
  std::string body;   // a unary call's whole reply body
};

struct PostRequest {
  std::string url;
  std::string_view body;  // must outlive the call
  // Sends etcd's "hasleader" gRPC metadata: a member that knows no leader then refuses at once
  // ("etcdserver: no leader") instead of holding a linearizable call until its own ~7 s timeout,
  // and ends a watch when it loses its leader.
  bool require_leader = false;
};

// Unary POSTs through a pool of libcurl easy handles, each keeping its connections alive between
// calls (to any member). Thread-safe.
class HttpPool {
 public:
  HttpPool();
  ~HttpPool();
  HttpPool(const HttpPool&) = delete;
  HttpPool& operator=(const HttpPool&) = delete;

  // The whole exchange, connecting included, ends within `timeout`.
  HttpExchange Post(const PostRequest& request, std::chrono::milliseconds timeout);

 private:
  void* Acquire();
  void Release(void* handle);
  common::Mutex mu_;
  std::vector<void*> idle_ GUARDED_BY(mu_);  // CURL*
};

// A streaming POST on its own connection: `on_data` receives the reply body chunk by chunk as it
// arrives and returns false to end the exchange (kReceiver). Also ends when the member closes
// the stream (kNone), when nothing arrives for `idle_timeout` (kIdle: a frozen member or a dead
// path looks exactly like this), or at once when `stop` is triggered (kStopped).
// `connect_timeout` bounds making the connection.
HttpExchange PostStream(const PostRequest& request, std::chrono::milliseconds connect_timeout,
                        std::chrono::milliseconds idle_timeout, std::stop_token stop,
                        const std::function<bool(std::string_view)>& on_data);

}  // namespace dram::cluster::internal
