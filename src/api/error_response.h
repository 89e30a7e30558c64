#pragma once

#include <cstdint>
#include <string_view>

#include "dram/status.h"
#include "http/message.h"

namespace dram::api {

// The one mapping from Status to an HTTP error: status code and the error code clients see.
// Every port uses it (API and admin); nothing else builds an error status by hand.
//   InvalidArgument/OutOfRange → 422 invalid_param   Unauthenticated → 401 unauthorized
//   PermissionDenied           → 403 forbidden       NotFound → 404 not_found
//   AlreadyExists/Aborted      → 409 conflict        FailedPrecondition → 503 not_ready
//   Unavailable                → 503 overloaded (Retry-After)   ResourceExhausted → 429 rate_limited (Retry-After)
//   DeadlineExceeded/Cancelled → 504 timeout         Unimplemented → 501 not_implemented
//   DataLoss                   → 502 load_failed (a database's data could not be loaded)
//   anything else              → 500 internal (the message is replaced and logged with the request id)
// The API port never lets a caller tell forbidden from missing: it answers NotFound for both.
struct ErrorKind {
  int http_status;
  std::string_view code;
};
ErrorKind ClassifyError(StatusCode code);

// {"error":{"code","message","request_id"}} with the mapped status. `retry_after_s` is sent as
// Retry-After on 429 and 503 overloaded.
http::Response MakeErrorResponse(const Status& status, std::string_view request_id, int64_t retry_after_s = 1);

// 405 method_not_allowed with the Allow header (HTTP's own refusal; no Status code maps to it).
http::Response MethodNotAllowedResponse(std::string_view allow, std::string_view request_id);

}  // namespace dram::api
