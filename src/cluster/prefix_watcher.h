#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd_client.h"
#include "cluster/etcd_types.h"

namespace dram::cluster {

// What a PrefixWatcher hands its receiver: the whole prefix (a snapshot, which replaces whatever
// the receiver held) or the changes since the previous update.
struct PrefixUpdate {
  bool snapshot = false;
  std::vector<EtcdKeyValue> kvs;  // snapshot: every key under the prefix, in key order
  std::vector<EtcdEvent> events;  // otherwise: the changes, in revision order
  int64_t revision = 0;           // the revision the receiver's copy is at once this is applied
};

// Keeps a receiver's copy of every key under a prefix current: first a snapshot (a linearizable
// Range), then the events after it (a Watch from the snapshot's revision + 1). A broken or silent
// stream resumes on another member without loss (EtcdClient::Watch); when etcd has compacted away
// the history the watch needs, and after any other watch failure, the receiver gets a fresh
// snapshot and events resume from there. While etcd cannot answer, it retries with backoff (up
// to 2 s between tries), forever, until stopped.
// Owns one thread, started by the constructor, which makes every call of `on_update` (in order,
// never two at once; on_update must not throw). Stop() ends it within ~100 ms plus whatever call
// of on_update is running. The client must outlive it. Thread-safe.
class PrefixWatcher {
 public:
  PrefixWatcher(EtcdClient& client, std::string prefix, std::function<void(const PrefixUpdate&)> on_update,
                EtcdWatchOptions options = {});
  // Stops it.
  ~PrefixWatcher();
  PrefixWatcher(const PrefixWatcher&) = delete;
  PrefixWatcher& operator=(const PrefixWatcher&) = delete;

  // Ends the thread and waits for it; once it returns, on_update is not called again.
  // Idempotent. Not from inside on_update (it would wait for itself).
  void Stop();

 private:
  void Run(std::stop_token stop);

  EtcdClient& client_;
  const std::string prefix_;
  const std::function<void(const PrefixUpdate&)> on_update_;
  const EtcdWatchOptions options_;
  std::jthread thread_;  // last: starts once the fields above are set
};

}  // namespace dram::cluster
