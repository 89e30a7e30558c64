#include "dram/status.h"

#include <array>

namespace dram {

std::string_view StatusCodeName(StatusCode code) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "OK",           "CANCELLED",         "UNKNOWN",      "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND",    "ALREADY_EXISTS",    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED",    "OUT_OF_RANGE", "UNIMPLEMENTED",    "INTERNAL",
      "UNAVAILABLE",  "DATA_LOSS",         "UNAUTHENTICATED"};
  auto index = static_cast<size_t>(code);
  return index < kNames.size() ? kNames[index] : "UNKNOWN";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

namespace {
Status Make(StatusCode code, std::string_view msg, std::string_view about) {
  std::string text(msg);
  if (!about.empty()) {
    text += ": ";
    text += about;
  }
  return Status(code, std::move(text));
}
}  // namespace

#define DRAM_STATUS_CTOR(Name, Code) \
  Status Name(std::string_view msg, std::string_view about) { return Make(StatusCode::Code, msg, about); }
DRAM_STATUS_CTOR(InvalidArgument, kInvalidArgument)
DRAM_STATUS_CTOR(NotFound, kNotFound)
DRAM_STATUS_CTOR(AlreadyExists, kAlreadyExists)
DRAM_STATUS_CTOR(FailedPrecondition, kFailedPrecondition)
DRAM_STATUS_CTOR(PermissionDenied, kPermissionDenied)
DRAM_STATUS_CTOR(Unauthenticated, kUnauthenticated)
DRAM_STATUS_CTOR(ResourceExhausted, kResourceExhausted)
DRAM_STATUS_CTOR(Unavailable, kUnavailable)
DRAM_STATUS_CTOR(DeadlineExceeded, kDeadlineExceeded)
DRAM_STATUS_CTOR(Unimplemented, kUnimplemented)
DRAM_STATUS_CTOR(Internal, kInternal)
DRAM_STATUS_CTOR(Aborted, kAborted)
DRAM_STATUS_CTOR(OutOfRange, kOutOfRange)
DRAM_STATUS_CTOR(DataLoss, kDataLoss)
#undef DRAM_STATUS_CTOR

}  // namespace dram
