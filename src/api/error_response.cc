#include "api/error_response.h"

#include "common/json_text.h"

namespace dram::api {

ErrorKind ClassifyError(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return {422, "invalid_param"};
    case StatusCode::kUnauthenticated: return {401, "unauthorized"};
    case StatusCode::kNotFound:
    case StatusCode::kPermissionDenied: return {404, "not_found"};
    case StatusCode::kFailedPrecondition: return {503, "not_ready"};
    case StatusCode::kUnavailable: return {503, "overloaded"};
    case StatusCode::kResourceExhausted: return {429, "rate_limited"};
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kCancelled: return {504, "timeout"};
    case StatusCode::kUnimplemented: return {501, "not_implemented"};
    default: return {500, "internal"};
  }
}

http::Response MakeErrorResponse(const Status& status, std::string_view request_id, int64_t retry_after_s) {
  ErrorKind kind = ClassifyError(status.code());
  http::Response response;
  response.status = kind.http_status;
  response.compressible = false;
  std::string_view message = kind.http_status == 500 ? "internal error" : std::string_view(status.message());
  std::string& body = response.tail;
  body = "{\"error\":{\"code\":\"";
  body += kind.code;
  body += "\",\"message\":";
  common::AppendJsonString(body, message);
  body += ",\"request_id\":\"";
  body += request_id;
  body += "\"}}";
  response.SetHeader("X-Request-Id", request_id);
  response.SetHeader("Cache-Control", "no-store");
  if (kind.code == "overloaded" || kind.code == "rate_limited") response.SetHeader("Retry-After", std::to_string(retry_after_s));
  if (kind.code == "unauthorized") response.SetHeader("WWW-Authenticate", "Bearer");
  return response;
}

}  // namespace dram::api
