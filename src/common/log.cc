#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

#include "common/civil_time.h"
#include "common/json_text.h"

namespace dram::common {

namespace {
std::atomic<LogLevel> min_level{LogLevel::kInfo};

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}
}  // namespace

void SetMinLogLevel(LogLevel level) { min_level.store(level); }

void Log(LogLevel level, std::string_view message, std::string_view fields_json) {
  if (level < min_level.load(std::memory_order_relaxed)) return;
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::string line = "{\"ts\":\"";
  AppendIsoTimestampMicros(line, now, true);
  line += "\",\"level\":\"";
  line += LevelName(level);
  line += "\",\"msg\":";
  AppendJsonString(line, message);
  if (!fields_json.empty()) {
    line += ',';
    line += fields_json;
  }
  line += "}\n";
  // One write keeps lines whole when threads log at once; a failed log write has nowhere to go.
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace dram::common
