#include "cluster/prefix_watcher.h"

#include <utility>

#include "cluster/internal/backoff.h"
#include "common/barrier.h"
#include "common/json_text.h"
#include "common/log.h"

namespace dram::cluster {

namespace {

// Retries of a failed snapshot read or watch: quick at first (a leader election is over in a few
// seconds), at most every 2 s while etcd stays unreachable.
constexpr std::chrono::milliseconds kRetryMin{100};
constexpr std::chrono::milliseconds kRetryMax{2'000};

void LogEvent(common::LogLevel level, std::string_view message, std::string_view prefix, const Status& status) {
  std::string fields = "\"prefix\":";
  common::AppendJsonString(fields, prefix);
  if (!status.ok()) {
    fields += ",\"status\":";
    common::AppendJsonString(fields, status.ToString());
  }
  common::Log(level, message, fields);
}

}  // namespace

PrefixWatcher::PrefixWatcher(EtcdClient& client, std::string prefix, std::function<void(const PrefixUpdate&)> on_update,
                             EtcdWatchOptions options)
    : client_(client),
      prefix_(std::move(prefix)),
      on_update_(std::move(on_update)),
      options_(std::move(options)),
      thread_([this](std::stop_token stop) {
        common::RunBarrier("etcd prefix watcher", "", [this, &stop] { Run(stop); });
      }) {}

PrefixWatcher::~PrefixWatcher() { Stop(); }

void PrefixWatcher::Stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void PrefixWatcher::Run(std::stop_token stop) {
  const EtcdKeyRange range = EtcdKeyRange::Prefix(prefix_);
  internal::Backoff backoff(kRetryMin, kRetryMax);
  while (!stop.stop_requested()) {
    Result<EtcdRangeResult> snapshot = client_.Range(range);
    if (!snapshot.ok()) {
      LogEvent(common::LogLevel::kWarn, "etcd prefix snapshot failed; retrying", prefix_, snapshot.status());
      if (!internal::SleepUnlessStopped(backoff.Next(), stop)) return;
      continue;
    }
    const int64_t revision = snapshot->revision;
    on_update_(PrefixUpdate{true, std::move(snapshot->kvs), {}, revision});
    auto deliver = [this](const std::vector<EtcdEvent>& events) {
      on_update_(PrefixUpdate{false, {}, events, events.back().kv.mod_revision});
    };
    Result<EtcdWatchEnd> end = client_.Watch(range, revision + 1, deliver, stop, options_);
    if (end.ok() && end->reason == EtcdWatchEnd::Reason::kStopped) return;
    if (end.ok()) {
      // Compacted: the events since the snapshot are gone; the next snapshot replaces them.
      LogEvent(common::LogLevel::kInfo, "etcd prefix history compacted; reading a fresh snapshot", prefix_, Status());
      backoff.Reset();
      continue;
    }
    LogEvent(common::LogLevel::kWarn, "etcd prefix watch failed; reading a fresh snapshot", prefix_, end.status());
    if (!internal::SleepUnlessStopped(backoff.Next(), stop)) return;
  }
}

}  // namespace dram::cluster
