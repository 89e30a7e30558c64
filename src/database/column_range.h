#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "database/predicate.h"
#include "dram/value.h"

namespace dram::database {

using Int128 = __int128;

// A column's type as far as ordering its values against request values goes (from DuckDB's
// type name). Unknown types are never pruned on.
struct ColumnType {
  enum class Kind { kUnknown, kInteger, kDecimal, kFloat, kDouble, kDate, kTimestamp, kTimestampTz, kBoolean, kText };
  Kind kind = Kind::kUnknown;
  int scale = 0;               // decimals
  int64_t unit_nanos = 1000;  // timestamps: the column's resolution (TIMESTAMP_S/_MS/_NS differ)

  // "DECIMAL(12,2)", "TIMESTAMP WITH TIME ZONE", "UBIGINT", … as engine::TypeInfo::sql_name.
  static ColumnType Of(std::string_view sql_name);
};

// One value in the order DuckDB compares it in, exactly: numbers as number / 10^scale, reals
// as doubles, times as nanoseconds since 1970-01-01 UTC (dates at midnight), booleans as 0/1.
struct OrderKey {
  enum class Domain { kExact, kReal, kTime, kBool, kText };
  Domain domain = Domain::kExact;
  Int128 number = 0;
  int scale = 0;
  double real = 0;
  std::string text;
};

// -1, 0 or 1; both keys must be of one domain.
int CompareKeys(const OrderKey& a, const OrderKey& b);

// A column's values in one file: every row's value lies in [low, high].
struct ColumnRange {
  ColumnType type;
  OrderKey low, high;

  // Extends the range over `other` (another row group of the same column); false when the two
  // cannot be ordered together (then the column must not be pruned on).
  bool Merge(const ColumnRange& other);
};

// Parses a statistic as DuckDB's parquet_metadata renders it ("1.005", "2024-03-01 10:00:00.5+00",
// "true", "infinity", …) for a column of `type`. `physical_type` is the file's Parquet type of the
// column ("FLOAT": the text is the shortest form of a float, not of the double it widens to).
// nullopt when not understood (no pruning on that column).
std::optional<OrderKey> ParseStatistic(const ColumnType& type, std::string_view text, std::string_view physical_type);

// The one-value range of a Hive partition value (k=v directory) as DuckDB's type detection reads
// it: a date, a timestamp, a number, a boolean, else text.
ColumnRange PartitionRange(std::string_view text);

struct CompareOptions {
  // Whether the serving DuckDB's TimeZone is UTC. If not, DATE and TIMESTAMP values cast to
  // TIMESTAMP WITH TIME ZONE at an offset unknown here, so such comparisons keep a day's margin.
  bool utc_session = true;
};

// Whether some row of a file whose `predicate.column` lies in `range` may satisfy `predicate`, as
// DuckDB evaluates it (DECIMAL against DOUBLE in doubles, BIGINT against FLOAT in floats, DATE
// against TIMESTAMP at midnight, …). True whenever unsure: pruning may only ever keep more. A
// DATE value against a TIMESTAMP column stands for its whole day (an endpoint may compare the
// day's midnight or the whole day), so both readings keep their files.
bool RangeMayMatch(const ColumnRange& range, const Predicate& predicate, const CompareOptions& options);

// RangeMayMatch for a file in Hive partition `text` of the predicate's column.
bool PartitionMayMatch(std::string_view text, const Predicate& predicate, const CompareOptions& options);

}  // namespace dram::database
