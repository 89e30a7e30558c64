#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dram::common {

// Calendar conversions for the ISO 8601 output of dates and timestamps, without time zones
// (timestamps are UTC). Proleptic Gregorian, any year that fits in int32.
struct CivilDate {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

CivilDate CivilFromDays(int64_t days_since_epoch);
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

// "2024-03-01" (years outside 0..9999 get a sign and at least 4 digits, as ISO 8601 expands them).
void AppendIsoDate(std::string& out, int64_t days_since_epoch);
// "13:04:05" or "13:04:05.123456" when there are sub-second digits.
void AppendIsoTimeOfDay(std::string& out, int64_t micros_of_day);
// "2024-03-01T13:04:05.123456Z" from microseconds since the epoch; `with_zone` adds the "Z".
void AppendIsoTimestampMicros(std::string& out, int64_t micros, bool with_zone);
// Nanosecond precision variant.
void AppendIsoTimestampNanos(std::string& out, int64_t nanos, bool with_zone);

// A system_clock time as "2024-03-01T13:04:05.123000Z" (millisecond precision); "" for the epoch
// (an unset time).
std::string IsoTimeOf(std::chrono::system_clock::time_point time);
// Now, in milliseconds since the epoch.
inline int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Parses "YYYY-MM-DD" into days since the epoch; nullopt when malformed or not a real date.
std::optional<int64_t> ParseIsoDate(std::string_view text);
// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.ffffff]]" with optional "Z" or "±HH:MM" offset
// into microseconds since the epoch (UTC).
std::optional<int64_t> ParseIsoTimestamp(std::string_view text);

}  // namespace dram::common
