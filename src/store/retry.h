#pragma once

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "dram/status.h"

namespace dram::store {

// How a remote call is retried: only Unavailable (5xx, throttling, resets, timeouts) is worth
// another try; the wait is "full jitter" exponential backoff, so many clients that failed
// together do not come back together; the whole call, waits included, ends at `deadline`.
struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{5'000};
  std::chrono::milliseconds deadline{120'000};
};

inline bool IsRetryable(const Status& status) { return status.code() == StatusCode::kUnavailable; }

// The wait before attempt number `attempt` (1 = the first retry): uniform in [0, min(max, base·2^(attempt-1))].
inline std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt) {
  thread_local std::minstd_rand random{std::random_device{}()};
  const int64_t ceiling = std::min<int64_t>(policy.max_delay.count(),
                                            policy.base_delay.count() << std::min(attempt - 1, 20));
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(ceiling, 0))(random));
}

// Runs `attempt()` (returning Status or Result<T>) until it succeeds, fails for good, runs out of
// attempts or passes the deadline; returns the last outcome.
template <typename Attempt>
auto WithRetries(const RetryPolicy& policy, Attempt attempt) -> decltype(attempt()) {
  const auto give_up_at = std::chrono::steady_clock::now() + policy.deadline;
  for (int tried = 1;; ++tried) {
    auto outcome = attempt();
    Status status;
    if constexpr (std::is_same_v<decltype(outcome), Status>) {
      status = outcome;
    } else {
      status = outcome.status();
    }
    if (status.ok() || !IsRetryable(status) || tried >= policy.max_attempts) return outcome;
    auto delay = BackoffDelay(policy, tried);
    if (std::chrono::steady_clock::now() + delay >= give_up_at) return outcome;
    std::this_thread::sleep_for(delay);
  }
}

}  // namespace dram::store
