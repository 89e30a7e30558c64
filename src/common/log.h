#pragma once

#include <string_view>

namespace dram::common {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Writes one structured line to stderr: {"ts":"…","level":"…","msg":"…",…}. `fields_json` is
// either empty or a sequence of already-encoded `"key":value` pairs separated by commas. Callers
// must never pass secrets or request values. Thread-safe (one write(2) per line).
void Log(LogLevel level, std::string_view message, std::string_view fields_json = {});

void SetMinLogLevel(LogLevel level);

}  // namespace dram::common
