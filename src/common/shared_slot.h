#pragma once

#include <memory>
#include <utility>

#include "common/mutex.h"

namespace dram::common {

// A shared_ptr that many threads read and a few replace (a routing table, a key set). Reads copy
// the pointer under a short, uncontended lock (tens of nanoseconds). Chosen over
// std::atomic<std::shared_ptr>: libstdc++ 12 implements that with a lock bit that ThreadSanitizer
// cannot see, so every reader/writer pair was reported as a race. Thread-safe.
template <typename T>
class SharedSlot {
 public:
  explicit SharedSlot(std::shared_ptr<T> value) : value_(std::move(value)) {}

  std::shared_ptr<T> load() const {
    MutexLock lock(mu_);
    return value_;
  }
  // The old value is released outside the lock (its destructor may be slow).
  void store(std::shared_ptr<T> value) {
    {
      MutexLock lock(mu_);
      value_.swap(value);
    }
  }

 private:
  mutable Mutex mu_;
  std::shared_ptr<T> value_ GUARDED_BY(mu_);
};

}  // namespace dram::common
