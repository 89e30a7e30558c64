#include "cluster/internal/backoff.h"

#include "common/mutex.h"

namespace dram::cluster::internal {

bool SleepUnlessStopped(std::chrono::milliseconds duration, std::stop_token stop) {
  common::Mutex mu;
  common::CondVar stopped;
  // The callback takes the mutex before notifying, so a stop that lands between the predicate
  // check and the wait is not lost.
  std::stop_callback wake(stop, [&] {
    common::MutexLock lock(mu);
    stopped.NotifyAll();
  });
  common::MutexLock lock(mu);
  stopped.WaitFor(mu, duration, [&] { return stop.stop_requested(); });
  return !stop.stop_requested();
}

}  // namespace dram::cluster::internal
