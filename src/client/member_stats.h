#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/mutex.h"

namespace dram::client {

// What one client has seen of each member: its requests outstanding now, and the latency of its
// last answers, for picking the least busy copy and for deciding when a map step is late enough
// to hedge. Thread-safe.
class MemberStats {
 public:
  static constexpr size_t kWindow = 64;      // answers kept per member
  static constexpr size_t kMinSamples = 20;  // before a p95 is trusted

  void Started(const std::string& member);
  // `latency`: of an answer; nullopt for a failure (it says nothing of the member's speed).
  void Finished(const std::string& member, std::optional<std::chrono::microseconds> latency);
  int Outstanding(const std::string& member) const;
  // The 95th percentile of the member's last kWindow answers; nullopt below kMinSamples.
  std::optional<std::chrono::microseconds> P95(const std::string& member) const;

 private:
  struct Member {
    int outstanding = 0;
    std::array<int64_t, kWindow> latencies_us{};
    size_t count = 0;  // answers seen (the window holds the last min(count, kWindow))
  };
  mutable common::Mutex mu_;
  std::map<std::string, Member, std::less<>> members_ GUARDED_BY(mu_);
};

// Hedges allowed so far: the map steps sent as hedges stay within `share` of the map steps an
// unhedged client would have sent (first tries and retries; hedges are not counted as Sent), so
// "5%" means at most 5% extra requests.
class HedgeBudget {
 public:
  explicit HedgeBudget(double share) : share_(share) {}
  void Sent() {
    common::MutexLock lock(mu_);
    ++sent_;
  }
  // Takes `requests` hedge requests when the budget has room for them.
  bool TryTake(int requests = 1) {
    common::MutexLock lock(mu_);
    if (static_cast<double>(hedges_ + requests) > share_ * static_cast<double>(sent_)) return false;
    hedges_ += requests;
    return true;
  }

 private:
  const double share_;
  common::Mutex mu_;
  int64_t sent_ GUARDED_BY(mu_) = 0;
  int64_t hedges_ GUARDED_BY(mu_) = 0;
};

}  // namespace dram::client
