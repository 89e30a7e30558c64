#pragma once

#include <functional>
#include <string_view>

namespace dram::common {

// The one barrier at every thread hop (Seastar's routes::handle): a job posted to a pool and a
// thread's entry function run through it, so an exception escaping them is logged (with `where`,
// and `request_id` when the job serves a request; may be empty) instead of reaching
// std::terminate, which Boost's thread_pool and std::thread call on an escaped exception.
// Returns false when `body` threw: the caller answers its request (500 internal) if it has one.
// Never throws. Thread-safe.
bool RunBarrier(std::string_view where, std::string_view request_id, const std::function<void()>& body) noexcept;

// A thread's entry for an event loop (an io_context's run()): runs `loop` behind the barrier and
// runs it again after an exception escaped one of its handlers, until it returns normally.
void RunLoopBarrier(std::string_view where, const std::function<void()>& loop) noexcept;

}  // namespace dram::common
