#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dram::common {

// The one reading of durations and sizes, for YAML, command-line flags and the admin API alike.
// Whole non-negative numbers only; a space between number and unit is allowed.

// "500ms", "30s", "5m", "1h", "1d"; a bare number is seconds. Milliseconds; nullopt if malformed.
std::optional<int64_t> ParseDurationMs(std::string_view text);

// "1048576", "64KB", "256MB", "2GB", "1TB": binary multiples (KB = 1024), as dram.yml has always
// read them; "KiB", "MiB", "GiB", "TiB" mean the same. A bare number is bytes. Nullopt if malformed
// or past 2^62.
std::optional<int64_t> ParseBytes(std::string_view text);

}  // namespace dram::common
