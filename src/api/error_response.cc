#include "api/error_response.h"

#include "common/json_text.h"
#include "common/log.h"

namespace dram::api {

ErrorKind ClassifyError(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return {422, "invalid_param"};
    case StatusCode::kUnauthenticated: return {401, "unauthorized"};
    case StatusCode::kNotFound: return {404, "not_found"};
    case StatusCode::kPermissionDenied: return {403, "forbidden"};
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted: return {409, "conflict"};
    case StatusCode::kFailedPrecondition: return {503, "not_ready"};
    case StatusCode::kDataLoss: return {502, "load_failed"};
    case StatusCode::kUnavailable: return {503, "overloaded"};
    case StatusCode::kResourceExhausted: return {429, "rate_limited"};
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kCancelled: return {504, "timeout"};
    case StatusCode::kUnimplemented: return {501, "not_implemented"};
    default: return {500, "internal"};
  }
}

namespace {

http::Response ErrorResponse(int http_status, std::string_view code, std::string_view message, std::string_view request_id) {
  http::Response response;
  response.status = http_status;
  response.compressible = false;
  std::string& body = response.tail;
  body = "{\"error\":{\"code\":\"";
  body += code;
  body += "\",\"message\":";
  common::AppendJsonString(body, message);
  body += ",\"request_id\":";
  common::AppendJsonString(body, request_id);
  body += "}}";
  response.SetHeader("X-Request-Id", request_id);
  response.SetHeader("Cache-Control", "no-store");
  return response;
}

}  // namespace

http::Response MakeErrorResponse(const Status& status, std::string_view request_id, int64_t retry_after_s) {
  ErrorKind kind = ClassifyError(status.code());
  std::string_view message = kind.http_status == 500 ? "internal error" : std::string_view(status.message());
  if (kind.http_status == 500) {
    std::string fields = "\"request_id\":";
    common::AppendJsonString(fields, request_id);
    fields += ",\"code\":\"" + std::string(StatusCodeName(status.code())) + "\",\"error\":";
    common::AppendJsonString(fields, status.message());
    common::Log(common::LogLevel::kError, "internal error", fields);
  }
  http::Response response = ErrorResponse(kind.http_status, kind.code, message, request_id);
  if (kind.code == "overloaded" || kind.code == "rate_limited") response.SetHeader("Retry-After", std::to_string(retry_after_s));
  if (kind.code == "unauthorized") response.SetHeader("WWW-Authenticate", "Bearer");
  return response;
}

http::Response MethodNotAllowedResponse(std::string_view allow, std::string_view request_id) {
  http::Response response = ErrorResponse(405, "method_not_allowed", "this route allows " + std::string(allow), request_id);
  response.SetHeader("Allow", allow);
  return response;
}

}  // namespace dram::api
