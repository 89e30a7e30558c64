#pragma once

#include <algorithm>
#include <chrono>
#include <stop_token>

// Waiting between reconnect attempts without delaying a stop request.

namespace dram::cluster::internal {

// Sleeps for `duration` or until `stop` is triggered, whichever comes first; false when stopped.
bool SleepUnlessStopped(std::chrono::milliseconds duration, std::stop_token stop);

// Exponential backoff for reconnecting: the wait doubles from `min` up to `max` on every failure
// and starts over after a success. Not thread-safe (one per reconnecting loop).
class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max) : min_(min), max_(max), next_(min) {}
  // The wait before the next attempt; doubles the one after it.
  std::chrono::milliseconds Next() {
    auto wait = next_;
    next_ = std::min(max_, next_ * 2);
    return wait;
  }
  void Reset() { next_ = min_; }

 private:
  std::chrono::milliseconds min_, max_, next_;
};

}  // namespace dram::cluster::internal
