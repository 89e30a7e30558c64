#pragma once

#include <chrono>
#include <functional>

namespace dram::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound, read back, closed).
int FreeLoopbackPort();

// Polls `done` every 100 ms for up to `limit`; its last answer.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit);

}  // namespace dram::testing
