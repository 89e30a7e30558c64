#include "api/audit.h"

#include <chrono>
#include <map>
#include <string>
#include <tuple>

#include "common/json_text.h"
#include "common/log.h"
#include "common/mutex.h"

namespace dram::api {

namespace {

constexpr size_t kMaxPath = 256;

void WriteLine(std::string_view event, std::string_view path, std::string_view remote, std::string_view detail,
               int64_t count) {
  std::string fields = "\"audit\":true,\"event\":";
  common::AppendJsonString(fields, event);
  fields += ",\"path\":";
  common::AppendJsonString(fields, path.substr(0, kMaxPath));
  fields += ",\"remote\":";
  common::AppendJsonString(fields, remote);
  fields += ",\"detail\":";
  common::AppendJsonString(fields, detail);
  if (count > 1) fields += ",\"count\":" + std::to_string(count);
  common::Log(common::LogLevel::kInfo, "audit", fields);
}

// Failures come at whatever rate a client sends them (measured before: 61.6 MB of audit lines in
// 25 s at 6.9k req/s), so each (event, source, reason) writes at most one line per second: the
// first at once, the rest counted into the next line for that key. Keys idle for a window are
// flushed (with their count) by whichever failure comes next; the map is bounded, and beyond the
// bound failures of new keys are counted under one "other sources" key.
class FailureAggregator {
 public:
  void Record(std::string_view event, std::string_view path, std::string_view remote, std::string_view detail) {
    const auto now = std::chrono::steady_clock::now();
    common::MutexLock lock(mu_);
    FlushIdle(now);
    Key key{std::string(event), std::string(remote), std::string(detail)};
    auto found = entries_.find(key);
    if (found == entries_.end() && entries_.size() >= kMaxKeys) {
      key = Key{std::string(event), "(other sources)", ""};
      found = entries_.find(key);
    }
    if (found == entries_.end()) {
      WriteLine(event, path, key.remote, key.detail, 1);
      entries_.emplace(std::move(key), Entry{now, 0, std::string(path.substr(0, kMaxPath))});
      return;
    }
    Entry& entry = found->second;
    entry.pending += 1;
    entry.last_path = std::string(path.substr(0, kMaxPath));
    if (now - entry.window_start >= kWindow) {
      WriteLine(found->first.event, entry.last_path, found->first.remote, found->first.detail, entry.pending);
      entry.window_start = now;
      entry.pending = 0;
    }
  }

 private:
  static constexpr std::chrono::seconds kWindow{1};
  static constexpr size_t kMaxKeys = 4096;
  struct Key {
    std::string event, remote, detail;
    bool operator<(const Key& other) const {
      return std::tie(event, remote, detail) < std::tie(other.event, other.remote, other.detail);
    }
  };
  struct Entry {
    std::chrono::steady_clock::time_point window_start;
    int64_t pending = 0;  // failures since the last line
    std::string last_path;
  };

  // Writes what idle keys still owe and forgets them. Amortized: a scan at most once a window.
  void FlushIdle(std::chrono::steady_clock::time_point now) REQUIRES(mu_) {
    if (now - last_scan_ < kWindow) return;
    last_scan_ = now;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (now - it->second.window_start < kWindow) {
        ++it;
        continue;
      }
      if (it->second.pending > 0) WriteLine(it->first.event, it->second.last_path, it->first.remote, it->first.detail, it->second.pending);
      it = entries_.erase(it);
    }
  }

  common::Mutex mu_;
  std::map<Key, Entry> entries_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_scan_ GUARDED_BY(mu_);
};

}  // namespace

void Audit(std::string_view event, std::string_view path, std::string_view remote, std::string_view detail) {
  WriteLine(event, path, remote, detail, 1);
}

void AuditFailure(std::string_view event, std::string_view path, std::string_view remote, std::string_view detail) {
  static FailureAggregator aggregator;
  aggregator.Record(event, path, remote, detail);
}

}  // namespace dram::api
