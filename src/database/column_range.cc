#include "database/column_range.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "common/civil_time.h"

namespace dram::database {

namespace {

using Domain = OrderKey::Domain;
using Kind = ColumnType::Kind;
using Op = Predicate::Op;

constexpr int kMaxDigits = 38;  // DECIMAL's widest; 10^38 - 1 fits an Int128
constexpr Int128 kNanosPerSecond = 1000000000;
constexpr Int128 kNanosPerDay = 86400 * kNanosPerSecond;
// "infinity" and "-infinity" timestamps: beyond every real one.
constexpr Int128 kTimeInfinity = Int128{1} << 100;
// DuckDB casts DECIMAL to DOUBLE by dividing by a power of ten, which may land an ulp or two away
// from the nearest double; a decimal range widened by this many ulps holds DuckDB's doubles.
constexpr int kDecimalSlackUlps = 4;
// Integers up to 2^53 convert to doubles exactly; beyond, a range keeps one ulp of slack.
constexpr Int128 kExactDoubleLimit = Int128{1} << 53;
// More than any UTC offset (tzdata's widest are under 16 hours).
constexpr Int128 kZoneMargin = kNanosPerDay;

struct Interval {
  OrderKey low, high;
};

Int128 PowerOfTen(int exponent) {
  Int128 power = 1;
  for (int i = 0; i < exponent; ++i) power *= 10;
  return power;
}

int Sign(Int128 a, Int128 b) { return a < b ? -1 : a > b ? 1 : 0; }

// number / 10^scale as a floored whole part and a fraction in [0, 10^scale).
std::pair<Int128, Int128> FloorSplit(Int128 number, int scale) {
  const Int128 divisor = PowerOfTen(scale);
  Int128 whole = number / divisor;
  Int128 fraction = number % divisor;
  if (fraction < 0) {
    whole -= 1;
    fraction += divisor;
  }
  return {whole, fraction};
}

int CompareExact(const OrderKey& a, const OrderKey& b) {
  if (a.scale == b.scale) return Sign(a.number, b.number);
  auto [a_whole, a_fraction] = FloorSplit(a.number, a.scale);
  auto [b_whole, b_fraction] = FloorSplit(b.number, b.scale);
  if (a_whole != b_whole) return Sign(a_whole, b_whole);
  // Fractions are below 10^scale <= 10^38 at the common scale: no overflow.
  const int scale = std::max(a.scale, b.scale);
  return Sign(a_fraction * PowerOfTen(scale - a.scale), b_fraction * PowerOfTen(scale - b.scale));
}

OrderKey ExactKey(Int128 number, int scale = 0) { return {.domain = Domain::kExact, .number = number, .scale = scale}; }
OrderKey RealKey(double real) { return {.domain = Domain::kReal, .real = real}; }
OrderKey TimeKey(Int128 nanos) { return {.domain = Domain::kTime, .number = nanos}; }
OrderKey BoolKey(bool value) { return {.domain = Domain::kBool, .number = value ? 1 : 0}; }
OrderKey TextKey(std::string_view text) { return {.domain = Domain::kText, .text = std::string(text)}; }

// "-123.4500" exactly (as 1234500 at scale 4); no exponents.
std::optional<OrderKey> ParseExact(std::string_view text) {
  OrderKey key = ExactKey(0);
  size_t pos = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative || (!text.empty() && text[0] == '+')) ++pos;
  int digits = 0;
  bool point = false;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (c == '.' && !point) {
      point = true;
      continue;
    }
    if (c < '0' || c > '9' || ++digits > kMaxDigits) return std::nullopt;
    key.number = key.number * 10 + (c - '0');
    if (point) ++key.scale;
  }
  if (digits == 0) return std::nullopt;
  if (negative) key.number = -key.number;
  return key;
}

// A FLOAT's statistic is the shortest text of the float: read back as a float, then widened
// (reading it as a double would give a different number, e.g. 0.1 instead of 0.100000001490116).
std::optional<OrderKey> ParseReal(std::string_view text, bool as_float) {
  const char* end = text.data() + text.size();
  double value = 0;
  std::from_chars_result parsed;
  if (as_float) {
    float narrow = 0;
    parsed = std::from_chars(text.data(), end, narrow);
    value = narrow;
  } else {
    parsed = std::from_chars(text.data(), end, value);
  }
  if (parsed.ec != std::errc() || parsed.ptr != end || std::isnan(value)) return std::nullopt;
  return RealKey(value);
}

std::optional<int64_t> TakeDigits(std::string_view& text, size_t count) {
  if (text.size() < count) return std::nullopt;
  int64_t value = 0;
  for (size_t i = 0; i < count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  text.remove_prefix(count);
  return value;
}

bool TakeChar(std::string_view& text, char c) {
  if (text.empty() || text[0] != c) return false;
  text.remove_prefix(1);
  return true;
}

// "HH:MM[:SS[.fffffffff]]" into nanoseconds of the day.
std::optional<Int128> TakeClock(std::string_view& text) {
  auto hour = TakeDigits(text, 2);
  if (!hour || *hour > 23 || !TakeChar(text, ':')) return std::nullopt;
  auto minute = TakeDigits(text, 2);
  if (!minute || *minute > 59) return std::nullopt;
  Int128 nanos = (*hour * 3600 + *minute * 60) * kNanosPerSecond;
  if (!TakeChar(text, ':')) return nanos;
  auto second = TakeDigits(text, 2);
  if (!second || *second > 59) return std::nullopt;
  nanos += *second * kNanosPerSecond;
  if (!TakeChar(text, '.')) return nanos;
  Int128 unit = kNanosPerSecond;
  int digits = 0;
  for (; !text.empty() && text[0] >= '0' && text[0] <= '9'; text.remove_prefix(1)) {
    if (++digits > 9) return std::nullopt;
    unit /= 10;
    nanos += (text[0] - '0') * unit;
  }
  if (digits == 0) return std::nullopt;
  return nanos;
}

// "Z", "+HH", "+HH:MM" or "+HH:MM:SS" (DuckDB renders "+00") into nanoseconds east of UTC.
std::optional<Int128> TakeOffset(std::string_view& text) {
  if (TakeChar(text, 'Z')) return 0;
  const bool west = !text.empty() && text[0] == '-';
  if (!TakeChar(text, '+') && !TakeChar(text, '-')) return std::nullopt;
  Int128 seconds = 0;
  for (int64_t scale : {3600, 60, 1}) {
    auto part = TakeDigits(text, 2);
    if (!part) return std::nullopt;
    seconds += *part * scale;
    if (scale == 1 || !TakeChar(text, ':')) break;
  }
  return (west ? -seconds : seconds) * kNanosPerSecond;
}

// "YYYY-MM-DD[( |T)HH:MM[:SS[.f]][offset]]" or "±infinity" into nanoseconds since the epoch,
// UTC. Years past 9999 and BC dates (which DuckDB renders as "0045-03-15 (BC)") are not read.
std::optional<Int128> ParseTimeNanos(std::string_view text, bool allow_offset = true) {
  if (text == "infinity") return kTimeInfinity;
  if (text == "-infinity") return -kTimeInfinity;
  if (text.size() < 10) return std::nullopt;
  auto days = common::ParseIsoDate(text.substr(0, 10));
  if (!days) return std::nullopt;
  Int128 nanos = Int128{*days} * kNanosPerDay;
  text.remove_prefix(10);
  if (text.empty()) return nanos;
  if (!TakeChar(text, ' ') && !TakeChar(text, 'T')) return std::nullopt;
  auto clock = TakeClock(text);
  if (!clock) return std::nullopt;
  nanos += *clock;
  if (text.empty()) return nanos;
  if (!allow_offset) return std::nullopt;
  auto offset = TakeOffset(text);
  if (!offset || !text.empty()) return std::nullopt;
  return nanos - *offset;
}

std::optional<OrderKey> ParseBool(std::string_view text) {
  if (text == "true") return BoolKey(true);
  if (text == "false") return BoolKey(false);
  return std::nullopt;
}

Interval Point(OrderKey key) { return {key, key}; }

Interval TimeInterval(Int128 low, Int128 high, Int128 margin) { return {TimeKey(low - margin), TimeKey(high + margin)}; }

Int128 FloorTo(Int128 value, Int128 unit) {
  Int128 remainder = value % unit;
  if (remainder < 0) remainder += unit;
  return value - remainder;
}

// A request time (nanoseconds) against a timestamp column: DuckDB may cast it to a coarser
// column unit (seconds, milliseconds), and to a zoned one at an unknown offset.
Interval TimestampValue(Int128 nanos, const ColumnType& type, const CompareOptions& options) {
  const Int128 unit = type.unit_nanos > 0 ? type.unit_nanos : 1;
  const Int128 low = FloorTo(nanos, unit);
  const Int128 high = low == nanos ? nanos : low + unit;
  const bool zoned = type.kind == Kind::kTimestampTz && !options.utc_session;
  return TimeInterval(low, high, zoned ? kZoneMargin : 0);
}

std::optional<Interval> DateValue(Date date, const ColumnType& type, Op op, const CompareOptions& options) {
  const Int128 midnight = Int128{date.days} * kNanosPerDay;
  if (type.kind == Kind::kDate) return Point(TimeKey(midnight));
  if (type.kind != Kind::kTimestamp && type.kind != Kind::kTimestampTz) return std::nullopt;
  // DuckDB compares a DATE with a timestamp at midnight; an endpoint may widen an upper or equal
  // bound to the whole day (col < day + 1). Both readings agree on < and >=: midnight.
  const bool whole_day = op != Op::kLt && op != Op::kGte;
  const bool zoned = type.kind == Kind::kTimestampTz && !options.utc_session;
  return TimeInterval(midnight, whole_day ? midnight + kNanosPerDay - 1 : midnight, zoned ? kZoneMargin : 0);
}

std::optional<Interval> IntegerValue(int64_t value, const ColumnType& type) {
  switch (type.kind) {
    case Kind::kInteger:
    case Kind::kDecimal: return Point(ExactKey(value));
    case Kind::kFloat: return Point(RealKey(static_cast<float>(value)));  // DuckDB compares BIGINT and FLOAT as FLOAT
    case Kind::kDouble: return Point(RealKey(static_cast<double>(value)));
    default: return std::nullopt;
  }
}

// A VARCHAR value is cast by DuckDB to the column's type; only casts that are exact here are read.
std::optional<Interval> StringValue(const std::string& value, const ColumnType& type, const CompareOptions& options) {
  switch (type.kind) {
    case Kind::kText: return Point(TextKey(value));
    case Kind::kInteger:
    case Kind::kDecimal: {
      auto exact = ParseExact(value);
      if (!exact || exact->scale > type.scale) return std::nullopt;  // DuckDB would round it
      return Point(*exact);
    }
    case Kind::kDate: {
      auto nanos = ParseTimeNanos(value, false);
      if (!nanos || value.size() != 10) return std::nullopt;
      return Point(TimeKey(*nanos));
    }
    case Kind::kTimestamp:
    case Kind::kTimestampTz: {
      auto nanos = ParseTimeNanos(value, false);
      if (!nanos) return std::nullopt;
      return TimestampValue(*nanos, type, options);
    }
    default: return std::nullopt;
  }
}

// The value as DuckDB compares it with a column of `type`, in the comparison's domain; an
// interval where DuckDB's reading is not pinned down here.
std::optional<Interval> ValueInterval(const Value& value, const ColumnType& type, Op op, const CompareOptions& options) {
  if (value.is<int64_t>()) return IntegerValue(value.as<int64_t>(), type);
  if (value.is<double>()) {
    const bool numeric = type.kind == Kind::kInteger || type.kind == Kind::kDecimal || type.kind == Kind::kFloat ||
                         type.kind == Kind::kDouble;
    if (!numeric || std::isnan(value.as<double>())) return std::nullopt;
    return Point(RealKey(value.as<double>()));  // DuckDB compares any number with a DOUBLE as DOUBLE
  }
  if (value.is<Date>()) return DateValue(value.as<Date>(), type, op, options);
  if (value.is<Timestamp>()) {
    const Int128 nanos = Int128{value.as<Timestamp>().micros} * 1000;
    if (type.kind == Kind::kDate) return Point(TimeKey(nanos));  // DATE casts to TIMESTAMP at midnight
    if (type.kind != Kind::kTimestamp && type.kind != Kind::kTimestampTz) return std::nullopt;
    return TimestampValue(nanos, type, options);
  }
  if (value.is<bool>()) {
    if (type.kind != Kind::kBoolean) return std::nullopt;
    return Point(BoolKey(value.as<bool>()));
  }
  if (value.is<std::string>()) return StringValue(value.as<std::string>(), type, options);
  return std::nullopt;
}

// An exact number as a double, moved `ulps` steps outward (`direction` -1 for a low end).
double ToReal(const OrderKey& key, int direction) {
  double value = static_cast<double>(key.number);
  int ulps = 0;
  if (key.scale > 0) {
    value /= std::pow(10.0, key.scale);
    ulps = kDecimalSlackUlps;
  } else if (key.number > kExactDoubleLimit || key.number < -kExactDoubleLimit) {
    ulps = 1;
  }
  const double toward = direction < 0 ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  for (int i = 0; i < ulps; ++i) value = std::nextafter(value, toward);
  return value;
}

// The column's range in `domain` (the value's); nullopt when it cannot be put there.
std::optional<Interval> ColumnInterval(const ColumnRange& range, Domain domain) {
  if (range.low.domain == domain && range.high.domain == domain) return Interval{range.low, range.high};
  if (domain != Domain::kReal || range.low.domain != Domain::kExact || range.high.domain != Domain::kExact) {
    return std::nullopt;
  }
  return Interval{RealKey(ToReal(range.low, -1)), RealKey(ToReal(range.high, 1))};
}

// Whether some column value in `column` satisfies `op` against some reading in `value`.
bool Satisfiable(Op op, const Interval& column, const Interval& value) {
  switch (op) {
    case Op::kEq:
    case Op::kIn: return CompareKeys(column.low, value.high) <= 0 && CompareKeys(column.high, value.low) >= 0;
    case Op::kLt: return CompareKeys(column.low, value.high) < 0;
    case Op::kLte: return CompareKeys(column.low, value.high) <= 0;
    case Op::kGt: return CompareKeys(column.high, value.low) > 0;
    case Op::kGte: return CompareKeys(column.high, value.low) >= 0;
  }
  return true;
}

}  // namespace

ColumnType ColumnType::Of(std::string_view sql_name) {
  static constexpr std::string_view kIntegers[] = {"TINYINT",  "SMALLINT",  "INTEGER", "BIGINT",  "HUGEINT",
                                                   "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"};
  ColumnType type;
  for (std::string_view name : kIntegers) {
    if (sql_name == name) type.kind = Kind::kInteger;
  }
  if (sql_name.starts_with("DECIMAL(")) {
    const size_t comma = sql_name.find(',');
    int scale = -1;
    if (comma != std::string_view::npos) {
      std::from_chars(sql_name.data() + comma + 1, sql_name.data() + sql_name.size(), scale);
    }
    if (scale >= 0 && scale <= kMaxDigits) type = {.kind = Kind::kDecimal, .scale = scale};
  }
  if (sql_name == "FLOAT") type.kind = Kind::kFloat;
  if (sql_name == "DOUBLE") type.kind = Kind::kDouble;
  if (sql_name == "DATE") type.kind = Kind::kDate;
  if (sql_name == "TIMESTAMP") type = {.kind = Kind::kTimestamp, .unit_nanos = 1000};
  if (sql_name == "TIMESTAMP_S") type = {.kind = Kind::kTimestamp, .unit_nanos = 1000000000};
  if (sql_name == "TIMESTAMP_MS") type = {.kind = Kind::kTimestamp, .unit_nanos = 1000000};
  if (sql_name == "TIMESTAMP_NS") type = {.kind = Kind::kTimestamp, .unit_nanos = 1};
  if (sql_name == "TIMESTAMP WITH TIME ZONE") type = {.kind = Kind::kTimestampTz, .unit_nanos = 1000};
  if (sql_name == "BOOLEAN") type.kind = Kind::kBoolean;
  if (sql_name == "VARCHAR") type.kind = Kind::kText;
  return type;
}

int CompareKeys(const OrderKey& a, const OrderKey& b) {
  switch (a.domain) {
    case Domain::kExact: return CompareExact(a, b);
    case Domain::kReal: return a.real < b.real ? -1 : a.real > b.real ? 1 : 0;
    case Domain::kTime:
    case Domain::kBool: return Sign(a.number, b.number);
    case Domain::kText: {
      const int c = a.text.compare(b.text);  // bytewise, as DuckDB orders VARCHAR
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
  }
  return 0;
}

bool ColumnRange::Merge(const ColumnRange& other) {
  if (other.low.domain != low.domain || other.high.domain != high.domain) return false;
  if (CompareKeys(other.low, low) < 0) low = other.low;
  if (CompareKeys(other.high, high) > 0) high = other.high;
  return true;
}

std::optional<OrderKey> ParseStatistic(const ColumnType& type, std::string_view text, std::string_view physical_type) {
  switch (type.kind) {
    case Kind::kInteger:
    case Kind::kDecimal: return ParseExact(text);
    case Kind::kFloat:
    case Kind::kDouble:
      // A file whose column is DECIMAL or an integer may be read as DOUBLE (union of files):
      // its text is exact, and turned into doubles with the slack DuckDB's cast needs.
      if (physical_type == "FLOAT" || physical_type == "DOUBLE") return ParseReal(text, physical_type == "FLOAT");
      return ParseExact(text);
    case Kind::kDate:
    case Kind::kTimestamp:
    case Kind::kTimestampTz: {
      auto nanos = ParseTimeNanos(text);
      if (!nanos) return std::nullopt;
      return TimeKey(*nanos);
    }
    case Kind::kBoolean: return ParseBool(text);
    case Kind::kText: return TextKey(text);
    case Kind::kUnknown: return std::nullopt;
  }
  return std::nullopt;
}

ColumnRange PartitionRange(std::string_view text) {
  // What DuckDB's Hive type detection would make of the value: a date, a timestamp, a number,
  // else text (and "true"/"false", which compare with booleans as the VARCHAR cast reads them).
  ColumnRange range;
  if (auto nanos = ParseTimeNanos(text, false)) {
    range.type.kind = text.size() == 10 ? Kind::kDate : Kind::kTimestamp;
    range.low = TimeKey(*nanos);
  } else if (auto exact = ParseExact(text)) {
    // A fraction may be typed DOUBLE or DECIMAL: compared in doubles, with a decimal's slack.
    range.type.kind = exact->scale == 0 ? Kind::kInteger : Kind::kDouble;
    range.low = *exact;
  } else if (auto real = ParseReal(text, false)) {
    range.type.kind = Kind::kDouble;
    range.low = *real;
  } else if (auto flag = ParseBool(text)) {
    range.type.kind = Kind::kBoolean;
    range.low = *flag;
  } else {
    range.type.kind = Kind::kText;
    range.low = TextKey(text);
  }
  range.high = range.low;
  return range;
}

bool RangeMayMatch(const ColumnRange& range, const Predicate& predicate, const CompareOptions& options) {
  if (predicate.values.empty()) return true;
  for (const Value& value : predicate.values) {
    auto wanted = ValueInterval(value, range.type, predicate.op, options);
    if (!wanted) return true;
    auto column = ColumnInterval(range, wanted->low.domain);
    if (!column) return true;
    if (Satisfiable(predicate.op, *column, *wanted)) return true;
  }
  return false;
}

bool PartitionMayMatch(std::string_view text, const Predicate& predicate, const CompareOptions& options) {
  const ColumnRange typed = PartitionRange(text);
  if (RangeMayMatch(typed, predicate, options)) return true;
  const bool strings = !predicate.values.empty() && predicate.values.front().is<std::string>();
  if (!strings || typed.type.kind == Kind::kText) return false;
  // A string against a partition that reads as a number or a time: DuckDB types the partition
  // column from every partition (VARCHAR if any is not a number), so both readings must rule it out.
  ColumnRange as_text{.type = {.kind = Kind::kText}, .low = TextKey(text), .high = TextKey(text)};
  return RangeMayMatch(as_text, predicate, options);
}

}  // namespace dram::database
