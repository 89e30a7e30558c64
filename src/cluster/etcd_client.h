#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/etcd_types.h"
#include "common/mutex.h"
#include "dram/status.h"

namespace dram::cluster {

namespace internal {
class HttpPool;
}  // namespace internal

struct EtcdClientOptions {
  // One HTTP request to one member. Without a quorum etcd holds a linearizable call for ~7 s;
  // past this bound the client moves on to the next member instead.
  std::chrono::milliseconds call_timeout{2'000};
  // One operation across members (each tried at most once, each for at most call_timeout).
  std::chrono::milliseconds operation_timeout{4'000};
};

struct EtcdWatchOptions {
  // A stream that sends nothing for this long counts as dead (a frozen member, a lost path): the
  // watch reconnects to the next member and resumes where it was. Watches ask for progress
  // notifications, which etcd sends every --experimental-watch-progress-notify-interval (default
  // 10 min) but skips once after sending events, so a healthy stream can be silent for two
  // intervals: with this timeout above that, a quiet watch stays connected; below it, a quiet
  // watch reconnects once per timeout, which loses nothing.
  std::chrono::milliseconds idle_timeout{30'000};
  // Called on the watching thread each time a stream ended and the watch reconnects, with why
  // (Unavailable). Optional; for logs and tests.
  std::function<void(const Status&)> on_reconnect;
};

// Receives each batch of watch events (one or more revisions, in revision order), on the thread
// that called Watch. Must not throw; may trigger the watch's stop source.
using EtcdEventsCallback = std::function<void(const std::vector<EtcdEvent>&)>;

// "http://127.0.0.1:2379,http://10.0.0.2:2379" → the URLs, trimmed, without a trailing slash.
// InvalidArgument naming the first malformed entry (anything but http(s)://HOST:PORT with an
// optional trailing "/"), an empty entry or an empty list. An entry with user credentials is
// refused without being echoed.
Result<std::vector<std::string>> ParseEtcdEndpoints(std::string_view list);

// A client for etcd's v3 API over its JSON gateway (HTTP/1.1 + JSON, no gRPC), for a cluster of
// members given as client URLs. Each operation goes to the member that answered last; when that
// one cannot be reached, times out or has no leader, it moves on to the next, and gives up with
// Unavailable naming every member tried when none answered within options.operation_timeout.
// A write is retried on another member only when it certainly did not reach the first one (no
// connection, or "no leader"); otherwise its outcome is unknown and it fails with Unavailable.
// Error messages hold member URLs and etcd's own message, never keys or values. Thread-safe; the
// caller owns it, and it must outlive every call (a Watch included).
class EtcdClient {
 public:
  // InvalidArgument for a malformed endpoint list (ParseEtcdEndpoints). Connects lazily.
  static Result<std::unique_ptr<EtcdClient>> Create(std::string_view endpoints, EtcdClientOptions options = {});
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  const std::vector<std::string>& endpoints() const { return endpoints_; }

  // A lease of `ttl_seconds` (etcd may raise it to its minimum); returns its id.
  Result<int64_t> Grant(int64_t ttl_seconds);
  // Renews the lease once; returns its TTL in seconds. NotFound when it expired (or never
  // existed): the keys under it are gone, and the caller must grant a new lease and re-register.
  Result<int64_t> KeepAliveOnce(int64_t lease);
  // Ends the lease and deletes its keys now. NotFound when it no longer exists.
  Status Revoke(int64_t lease);

  // Writes `value` under `key`, attached to `lease` when not 0; returns the new store revision.
  Result<int64_t> Put(std::string_view key, std::string_view value, int64_t lease = 0);
  // The key (zero or one kvs) and the revision of the read.
  Result<EtcdRangeResult> Get(std::string_view key, EtcdReadOptions options = {});
  Result<EtcdRangeResult> Range(const EtcdKeyRange& range, EtcdReadOptions options = {});
  Result<EtcdDeleteResult> DeleteRange(const EtcdKeyRange& range);
  // Runs `success` when every compare holds, `failure` otherwise, atomically.
  Result<EtcdTxnResult> Txn(const std::vector<EtcdCompare>& compares, const std::vector<EtcdOp>& success,
                            const std::vector<EtcdOp>& failure = {});
  // Drops the history before `revision` (watches from older revisions are then canceled as
  // compacted). Returns the store revision. OutOfRange when `revision` is already compacted or
  // in the future.
  Result<int64_t> Compact(int64_t revision);

  // Watches `range` from `start_revision` (0: from now), calling `on_events` with every change,
  // until `stop` is triggered (returns kStopped within ~100 ms) or etcd no longer has the history
  // the watch needs (kCompacted: re-read the range and watch again from the read's revision + 1).
  // Blocks the calling thread. A stream that breaks, goes silent past options.idle_timeout, or
  // is canceled because its member lost the leader is reopened on the next member from the first
  // revision not yet delivered, so nothing is lost or repeated; while no member answers it keeps
  // trying (backing off up to ~2 s). Errors: InvalidArgument and the like when etcd refuses the
  // watch itself.
  Result<EtcdWatchEnd> Watch(const EtcdKeyRange& range, int64_t start_revision, const EtcdEventsCallback& on_events,
                             std::stop_token stop, const EtcdWatchOptions& options = {});

  // What `endpoint` (one of endpoints()) says of itself and of the leader; no rotation.
  // Unavailable when it does not answer within options.call_timeout.
  Result<EtcdMemberStatus> MemberStatus(const std::string& endpoint);

 private:
  // How a failed attempt may be retried on another member.
  enum class CallKind {
    kRead,   // idempotent: after any transport failure or an Unavailable answer
    kWrite,  // only when the request certainly did not reach the member
  };
  struct Call {
    std::string_view path;  // "/v3/kv/range"
    std::string body;
    CallKind kind = CallKind::kRead;
    bool require_leader = true;  // false for serializable reads, which need no leader
  };

  EtcdClient(std::vector<std::string> endpoints, EtcdClientOptions options);
  // The 2xx reply body of `call` from the first member that answers, or the error.
  Result<std::string> Perform(const Call& call);
  size_t preferred() const EXCLUDES(mu_);
  void set_preferred(size_t index) EXCLUDES(mu_);

  const std::vector<std::string> endpoints_;
  const EtcdClientOptions options_;
  const std::unique_ptr<internal::HttpPool> http_;
  mutable common::Mutex mu_;
  size_t preferred_ GUARDED_BY(mu_) = 0;  // the member that answered last
};

}  // namespace dram::cluster
