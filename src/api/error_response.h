#pragma once

#include <cstdint>
#include <string_view>

#include "dram/status.h"
#include "http/message.h"

namespace dram::api {

// The one mapping from Status to an HTTP error: status code and the error code clients see.
//   InvalidArgument/OutOfRange → 422 invalid_param   Unauthenticated → 401 unauthorized
//   NotFound/PermissionDenied  → 404 not_found       FailedPrecondition → 503 not_ready
//   Unavailable                → 503 overloaded (Retry-After)   ResourceExhausted → 429 rate_limited (Retry-After)
//   DeadlineExceeded/Cancelled → 504 timeout
//   anything else              → 500 internal (the message is replaced: internals stay in the log)
struct ErrorKind {
  int http_status;
  std::string_view code;
};
ErrorKind ClassifyError(StatusCode code);

// {"error":{"code","message","request_id"}} with the mapped status. `retry_after_s` is sent as
// Retry-After on 429 and 503 overloaded.
http::Response MakeErrorResponse(const Status& status, std::string_view request_id, int64_t retry_after_s = 1);

}  // namespace dram::api
