#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "common/mutex.h"
#include "dram/status.h"
#include "store/object_store.h"
#include "usage/usage_recorder.h"

namespace dram::usage {

struct UsageFlusherOptions {
  std::string member;                        // names this process's files (cluster member id, host-port)
  std::chrono::milliseconds interval{60'000};
  std::string scratch_dir;                   // this process's: DuckDB writes a file there before it is uploaded; removed at Stop
  size_t max_pending = 60;                   // intervals kept while the store is unreachable
};

// Writes a UsageRecorder's intervals to a store as Parquet files (usage_file.h), from its own
// thread, at every multiple of `interval` of wall-clock time (so members' intervals line up). An
// interval with no requests writes nothing. An upload that fails is kept and retried at the next
// flush, oldest first; past `max_pending` the oldest is dropped (counted, logged). Stop() flushes
// what is left, so a clean restart loses nothing. Thread-safe.
class UsageFlusher {
 public:
  UsageFlusher(UsageRecorder& recorder, std::unique_ptr<store::ObjectStore> store, UsageFlusherOptions options);
  ~UsageFlusher();
  UsageFlusher(const UsageFlusher&) = delete;
  UsageFlusher& operator=(const UsageFlusher&) = delete;

  void Start();
  // Stops the thread, then flushes the current interval and what is pending. Idempotent.
  void Stop();
  // Ends the current interval and uploads it with every pending one. Errors: the first upload
  // that failed (what failed stays pending).
  Status FlushNow();
  // Appends dram_usage_* counters in Prometheus text format.
  void RenderMetrics(std::string& out) const;

 private:
  struct Pending {
    UsageInterval interval;
    std::string key;
  };
  void Run();

  UsageRecorder& recorder_;
  const std::unique_ptr<store::ObjectStore> store_;
  const UsageFlusherOptions options_;
  const std::string unique_;           // this process, in every key it writes

  common::Mutex flush_mu_;             // one flush at a time (held through the upload)
  std::deque<Pending> pending_ GUARDED_BY(flush_mu_);
  uint64_t sequence_ GUARDED_BY(flush_mu_) = 0;
  // For /metrics, which must not wait for an upload.
  std::atomic<int64_t> files_written_{0};
  std::atomic<int64_t> rows_written_{0};
  std::atomic<int64_t> failures_{0};
  std::atomic<int64_t> dropped_{0};
  std::atomic<int64_t> pending_count_{0};
  std::atomic<int64_t> last_success_ms_{0};

  common::Mutex run_mu_;
  common::CondVar wake_;
  bool stopping_ GUARDED_BY(run_mu_) = false;
  bool stopped_ GUARDED_BY(run_mu_) = false;
  std::thread thread_;
};

}  // namespace dram::usage
