#include "common/barrier.h"

#include <exception>
#include <string>

#include "common/json_text.h"
#include "common/log.h"

namespace dram::common {

namespace {

void LogEscaped(std::string_view where, std::string_view request_id, std::string_view what) noexcept {
  try {
    std::string fields = "\"where\":";
    AppendJsonString(fields, where);
    if (!request_id.empty()) {
      fields += ",\"request_id\":";
      AppendJsonString(fields, request_id);
    }
    // An exception's text is ours or a library's, never a request value (handlers must not
    // put those in exceptions any more than in Status messages).
    fields += ",\"what\":";
    AppendJsonString(fields, what);
    Log(LogLevel::kError, "exception escaped a job; answered 500 where there was a request", fields);
  } catch (...) {
    // Out of memory while logging: nothing better to do than to keep the thread alive.
  }
}

}  // namespace

bool RunBarrier(std::string_view where, std::string_view request_id, const std::function<void()>& body) noexcept {
  try {
    body();
    return true;
  } catch (const std::exception& e) {
    LogEscaped(where, request_id, e.what());
  } catch (...) {
    LogEscaped(where, request_id, "unknown exception");
  }
  return false;
}

void RunLoopBarrier(std::string_view where, const std::function<void()>& loop) noexcept {
  while (!RunBarrier(where, "", loop)) {
  }
}

}  // namespace dram::common
