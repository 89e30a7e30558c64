#include "engine/interrupt_after.h"

namespace dram::engine {

namespace {
constexpr std::chrono::milliseconds kRepeat{20};
}  // namespace

InterruptAfter::InterruptAfter(Connection& connection, std::chrono::milliseconds timeout) : connection_(connection) {
  watchdog_ = std::thread([this, deadline = std::chrono::steady_clock::now() + timeout] {
    std::unique_lock lock(mu_);
    if (done_cv_.wait_until(lock, deadline, [this] { return done_; })) return;
    while (!done_) {
      connection_.Interrupt();
      done_cv_.wait_for(lock, kRepeat, [this] { return done_; });
    }
  });
}

InterruptAfter::~InterruptAfter() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  done_cv_.notify_one();
  watchdog_.join();
}

}  // namespace dram::engine
