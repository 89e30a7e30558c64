#include "engine/interrupt_after.h"

namespace dram::engine {

namespace {
constexpr std::chrono::milliseconds kRepeat{20};
}  // namespace

InterruptAfter::InterruptAfter(Connection& connection, std::chrono::milliseconds timeout) : connection_(connection) {
  watchdog_ = std::thread([this, deadline = std::chrono::steady_clock::now() + timeout] {
    common::MutexLock lock(mu_);
    if (done_cv_.WaitUntil(mu_, deadline, [this]() REQUIRES(mu_) { return done_; })) return;
    while (!done_) {
      connection_.Interrupt();
      done_cv_.WaitFor(mu_, kRepeat, [this]() REQUIRES(mu_) { return done_; });
    }
  });
}

InterruptAfter::~InterruptAfter() {
  {
    common::MutexLock lock(mu_);
    done_ = true;
  }
  done_cv_.NotifyOne();
  watchdog_.join();
}

}  // namespace dram::engine
