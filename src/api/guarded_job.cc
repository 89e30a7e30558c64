#include "api/guarded_job.h"

#include <atomic>
#include <memory>

#include "api/error_response.h"
#include "common/barrier.h"

namespace dram::api {

std::function<void()> GuardedJob(std::string where, std::string request_id, http::Responder responder,
                                 std::function<void(http::Responder)> job) {
  auto answered = std::make_shared<std::atomic<bool>>(false);
  http::Responder once = [answered, responder = std::move(responder)](http::Response response) {
    if (!answered->exchange(true)) responder(std::move(response));
  };
  return [where = std::move(where), request_id = std::move(request_id), once = std::move(once), job = std::move(job)] {
    if (common::RunBarrier(where, request_id, [&] { job(once); })) return;
    once(MakeErrorResponse(Internal("an exception escaped", where), request_id));
  };
}

}  // namespace dram::api
