#pragma once

#include <functional>
#include <string>

#include "http/server.h"

namespace dram::api {

// Wraps a job that answers a request, for posting to a pool: it runs behind common::RunBarrier,
// and when an exception escapes it before it answered, the request is answered 500 `internal`
// with `request_id` (the job's own answer, if it gave one, stands). `job` gets a responder that
// delivers at most once.
std::function<void()> GuardedJob(std::string where, std::string request_id, http::Responder responder,
                                 std::function<void(http::Responder)> job);

}  // namespace dram::api
