#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace dram {

// The canonical error codes (Abseil's set). Each maps to one HTTP status in api/error_mapping.
enum class StatusCode {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
  kUnauthenticated,
};

std::string_view StatusCodeName(StatusCode code);

// Status is the outcome of an operation that can fail in an expected way: a code and a message.
// A default-constructed Status is OK. Cheap to move; copying copies the message. Not thread-safe
// to mutate, safe to share once built.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }

  // "CODE: message", for logs and CLI output.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Constructors for each code. The optional second part names the thing the error is about,
// LevelDB-style: NotFound("table", "events") → "table: events".
Status InvalidArgument(std::string_view msg, std::string_view about = {});
Status NotFound(std::string_view msg, std::string_view about = {});
Status AlreadyExists(std::string_view msg, std::string_view about = {});
Status FailedPrecondition(std::string_view msg, std::string_view about = {});
Status PermissionDenied(std::string_view msg, std::string_view about = {});
Status Unauthenticated(std::string_view msg, std::string_view about = {});
Status ResourceExhausted(std::string_view msg, std::string_view about = {});
Status Unavailable(std::string_view msg, std::string_view about = {});
Status DeadlineExceeded(std::string_view msg, std::string_view about = {});
Status Unimplemented(std::string_view msg, std::string_view about = {});
Status Internal(std::string_view msg, std::string_view about = {});
Status Aborted(std::string_view msg, std::string_view about = {});
Status OutOfRange(std::string_view msg, std::string_view about = {});
Status DataLoss(std::string_view msg, std::string_view about = {});

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design, like StatusOr.
  Result(Status status) : state_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(state_).ok() && "Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(state_);
  }
  Status TakeStatus() && { return ok() ? Status() : std::move(std::get<Status>(state_)); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> state_;
};

}  // namespace dram

#define DRAM_CONCAT_INNER(a, b) a##b
#define DRAM_CONCAT(a, b) DRAM_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define RETURN_IF_ERROR(expr)                   \
  do {                                          \
    ::dram::Status dram_status_ = (expr);       \
    if (!dram_status_.ok()) return dram_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(DRAM_CONCAT(dram_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return std::move(tmp).TakeStatus(); \
  lhs = std::move(tmp).value()
