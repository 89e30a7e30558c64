#include "common/civil_time.h"

#include <charconv>

namespace dram::common {

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

// `value` (>= 0) in at least `width` digits, zero-padded. With to_chars: snprintf was ~1% of a cached
// request's CPU (seven calls per timestamp in the meta) and more of every DATE/TIMESTAMP cell.
void AppendPadded(std::string& out, int64_t value, int width) {
  char digits[20];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  const auto n = static_cast<int>(end - digits);
  if (width > n) out.append(static_cast<size_t>(width - n), '0');
  out.append(digits, end);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool IsLeap(int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

unsigned DaysInMonth(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

// Reads exactly `width` digits at text[pos].
std::optional<int64_t> Digits(std::string_view text, size_t pos, size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int64_t value = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

// Howard Hinnant's days_from_civil / civil_from_days.
CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{y + (m <= 2), m, d};
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void AppendIsoDate(std::string& out, int64_t days) {
  CivilDate date = CivilFromDays(days);
  if (date.year < 0) {
    out.push_back('-');
    AppendPadded(out, -date.year, 4);
  } else if (date.year > 9999) {
    out.push_back('+');
    AppendPadded(out, date.year, 4);
  } else {
    AppendPadded(out, date.year, 4);
  }
  out.push_back('-');
  AppendPadded(out, date.month, 2);
  out.push_back('-');
  AppendPadded(out, date.day, 2);
}

void AppendIsoTimeOfDay(std::string& out, int64_t micros) {
  int64_t seconds = micros / kMicrosPerSecond;
  int64_t fraction = micros % kMicrosPerSecond;
  AppendPadded(out, seconds / 3600, 2);
  out.push_back(':');
  AppendPadded(out, (seconds / 60) % 60, 2);
  out.push_back(':');
  AppendPadded(out, seconds % 60, 2);
  if (fraction != 0) {
    out.push_back('.');
    AppendPadded(out, fraction, 6);
  }
}

void AppendIsoTimestampMicros(std::string& out, int64_t micros, bool with_zone) {
  int64_t days = FloorDiv(micros, kMicrosPerDay);
  AppendIsoDate(out, days);
  out.push_back('T');
  AppendIsoTimeOfDay(out, micros - days * kMicrosPerDay);
  if (with_zone) out.push_back('Z');
}

void AppendIsoTimestampNanos(std::string& out, int64_t nanos, bool with_zone) {
  constexpr int64_t kNanosPerDay = kMicrosPerDay * 1000;
  int64_t days = FloorDiv(nanos, kNanosPerDay);
  int64_t of_day = nanos - days * kNanosPerDay;
  AppendIsoDate(out, days);
  out.push_back('T');
  AppendIsoTimeOfDay(out, (of_day / 1000000000) * kMicrosPerSecond);
  int64_t fraction = of_day % 1000000000;
  if (fraction != 0) {
    out.push_back('.');
    AppendPadded(out, fraction, 9);
  }
  if (with_zone) out.push_back('Z');
}

std::optional<int64_t> ParseIsoDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto year = Digits(text, 0, 4);
  auto month = Digits(text, 5, 2);
  auto day = Digits(text, 8, 2);
  if (!year || !month || !day || *month < 1 || *month > 12 || *day < 1) return std::nullopt;
  if (*day > DaysInMonth(*year, static_cast<unsigned>(*month))) return std::nullopt;
  return DaysFromCivil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
}

std::optional<int64_t> ParseIsoTimestamp(std::string_view text) {
  auto days = ParseIsoDate(text.substr(0, 10));
  if (!days) return std::nullopt;
  int64_t micros = *days * kMicrosPerDay;
  if (text.size() == 10) return micros;
  if (text[10] != 'T' && text[10] != ' ') return std::nullopt;
  auto hour = Digits(text, 11, 2);
  auto minute = Digits(text, 14, 2);
  if (!hour || !minute || text.size() < 16 || text[13] != ':' || *hour > 23 || *minute > 59) return std::nullopt;
  micros += (*hour * 3600 + *minute * 60) * kMicrosPerSecond;
  size_t pos = 16;
  if (pos < text.size() && text[pos] == ':') {
    auto second = Digits(text, pos + 1, 2);
    if (!second || *second > 59) return std::nullopt;
    micros += *second * kMicrosPerSecond;
    pos += 3;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      int64_t scale = 100000;
      size_t digits = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (digits < 6) micros += (text[pos] - '0') * scale;
        scale /= 10;
        ++digits;
        ++pos;
      }
      if (digits == 0 || digits > 9) return std::nullopt;
    }
  }
  if (pos == text.size()) return micros;
  if (text[pos] == 'Z' && pos + 1 == text.size()) return micros;
  if ((text[pos] == '+' || text[pos] == '-') && text.size() == pos + 6 && text[pos + 3] == ':') {
    auto off_hour = Digits(text, pos + 1, 2);
    auto off_minute = Digits(text, pos + 4, 2);
    if (!off_hour || !off_minute || *off_hour > 23 || *off_minute > 59) return std::nullopt;
    int64_t offset = (*off_hour * 3600 + *off_minute * 60) * kMicrosPerSecond;
    return text[pos] == '+' ? micros - offset : micros + offset;
  }
  return std::nullopt;
}

std::string IsoTimeOf(std::chrono::system_clock::time_point time) {
  std::string out;
  if (time.time_since_epoch().count() == 0) return out;
  AppendIsoTimestampMicros(out, std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() * 1000,
                           true);
  return out;
}

}  // namespace dram::common
