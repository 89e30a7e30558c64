#pragma once

#include <chrono>
#include <thread>

#include "common/mutex.h"
#include "engine/connection.h"

namespace dram::engine {

// Interrupts whatever `connection` runs once `timeout` has passed, until this is destroyed: a
// deadline for the statements run in its scope. It repeats the interrupt every 20 ms, because
// DuckDB clears an interrupt that lands before a statement starts executing. One thread per
// instance: for rare calls (admin SQL), not for the API's request path, which has its own
// timer-based deadline. Not copyable; the connection must outlive it.
class InterruptAfter {
 public:
  InterruptAfter(Connection& connection, std::chrono::milliseconds timeout);
  ~InterruptAfter();
  InterruptAfter(const InterruptAfter&) = delete;
  InterruptAfter& operator=(const InterruptAfter&) = delete;

 private:
  Connection& connection_;
  common::Mutex mu_;
  common::CondVar done_cv_;
  bool done_ GUARDED_BY(mu_) = false;
  std::thread watchdog_;
};

}  // namespace dram::engine
