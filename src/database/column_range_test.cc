// Statistics parsing and the comparison rules of file pruning, case by case (lazy_files_test.cc
// checks them end to end against DuckDB's answers).
#include "database/column_range.h"

#include <gtest/gtest.h>

namespace dram::database {
namespace {

using Op = Predicate::Op;

constexpr int32_t kMar1 = 19783;  // 2024-03-01
constexpr int64_t kMar1Micros = int64_t{kMar1} * 86400 * 1000000;

ColumnRange Range(const std::string& type_name, const std::string& low, const std::string& high,
                  const std::string& physical = "INT64") {
  ColumnRange range;
  range.type = ColumnType::Of(type_name);
  auto parsed_low = ParseStatistic(range.type, low, physical);
  auto parsed_high = ParseStatistic(range.type, high, physical);
  EXPECT_TRUE(parsed_low && parsed_high) << type_name << " " << low << " " << high;
  if (parsed_low) range.low = *parsed_low;
  if (parsed_high) range.high = *parsed_high;
  return range;
}

bool May(const ColumnRange& range, Op op, Value value, bool utc = true) {
  return RangeMayMatch(range, {"v", op, {std::move(value)}}, {.utc_session = utc});
}

TEST(ColumnRangeTest, ParsesStatisticsAsDuckDbRendersThem) {
  EXPECT_FALSE(ParseStatistic(ColumnType::Of("TIMESTAMP"), "0045-03-15 (BC) 10:00:00", "INT64"));
  EXPECT_FALSE(ParseStatistic(ColumnType::Of("DATE"), "12024-01-01", "INT32"));
  EXPECT_FALSE(ParseStatistic(ColumnType::Of("DOUBLE"), "nan", "DOUBLE"));
  EXPECT_FALSE(ParseStatistic(ColumnType::Of("TIME"), "10:00:00", "INT64"));
  EXPECT_FALSE(ParseStatistic(ColumnType::Of("DECIMAL(38,0)"), "123456789012345678901234567890123456789", "FIXED_LEN_BYTE_ARRAY"));
  auto zoned = ParseStatistic(ColumnType::Of("TIMESTAMP WITH TIME ZONE"), "2024-03-01 12:30:00.5+02:30", "INT64");
  ASSERT_TRUE(zoned);
  EXPECT_EQ(zoned->number, (Int128{kMar1Micros} + 10 * 3600000000LL + 500000) * 1000);
  auto nanos = ParseStatistic(ColumnType::Of("TIMESTAMP_NS"), "2024-03-01 00:00:00.000000001", "INT64");
  ASSERT_TRUE(nanos);
  EXPECT_EQ(nanos->number, Int128{kMar1Micros} * 1000 + 1);
  auto wide = ParseStatistic(ColumnType::Of("DECIMAL(38,18)"), "-12345678901234567890.123456789012345678", "FIXED_LEN_BYTE_ARRAY");
  ASSERT_TRUE(wide);
  EXPECT_EQ(wide->scale, 18);
}

TEST(ColumnRangeTest, ComparesEachTypeAsDuckDbDoes) {
  // BIGINT against an integer: exactly; against a double: in doubles (2^53 + 1 equals 2^53).
  ColumnRange big = Range("BIGINT", "9007199254740993", "9007199254740993");
  EXPECT_FALSE(May(big, Op::kEq, int64_t{9007199254740992}));
  EXPECT_TRUE(May(big, Op::kEq, 9007199254740992.0));
  // UBIGINT above INT64_MAX.
  ColumnRange huge = Range("UBIGINT", "9223372036854775808", "18446744073709551615");
  EXPECT_FALSE(May(huge, Op::kLte, int64_t{9223372036854775807}));
  EXPECT_TRUE(May(huge, Op::kGt, int64_t{9223372036854775807}));
  // DECIMAL: exact against integers and strings, in doubles (with slack) against doubles.
  ColumnRange decimal = Range("DECIMAL(10,3)", "1.005", "1.005");
  EXPECT_TRUE(May(decimal, Op::kEq, 1.005));
  EXPECT_FALSE(May(decimal, Op::kGt, 1.0051));
  EXPECT_FALSE(May(decimal, Op::kEq, std::string("1.006")));
  EXPECT_TRUE(May(decimal, Op::kGt, std::string("1.0049")));  // DuckDB rounds it to the column's scale
  EXPECT_FALSE(May(decimal, Op::kGte, int64_t{2}));
  // FLOAT: 0.1f is above the double 0.1; a BIGINT is compared as a FLOAT.
  EXPECT_TRUE(May(Range("FLOAT", "0.1", "0.1", "FLOAT"), Op::kGt, 0.1));
  EXPECT_TRUE(May(Range("FLOAT", "16777216.0", "16777216.0", "FLOAT"), Op::kEq, int64_t{16777217}));
  // BOOLEAN, VARCHAR (bytewise).
  EXPECT_FALSE(May(Range("BOOLEAN", "false", "false", "BOOLEAN"), Op::kEq, true));
  EXPECT_TRUE(May(Range("BOOLEAN", "false", "true", "BOOLEAN"), Op::kEq, true));
  EXPECT_FALSE(May(Range("VARCHAR", "apple", "banana", "BYTE_ARRAY"), Op::kGt, std::string("banana")));
  // Values of another kind are not understood: the file is kept.
  EXPECT_TRUE(May(Range("BOOLEAN", "false", "false", "BOOLEAN"), Op::kEq, int64_t{1}));
  EXPECT_TRUE(May(Range("DATE", "2024-01-01", "2024-01-31", "INT32"), Op::kEq, std::string("January")));
}

TEST(ColumnRangeTest, TimesCompareAtMidnightOrOverTheWholeDay) {
  ColumnRange morning = Range("TIMESTAMP", "2024-03-01 10:00:00", "2024-03-01 10:59:59.999999");
  EXPECT_TRUE(May(morning, Op::kEq, Date{kMar1}));   // col = day, widened to the whole day
  EXPECT_TRUE(May(morning, Op::kLte, Date{kMar1}));  // col <= day, likewise
  EXPECT_FALSE(May(morning, Op::kLt, Date{kMar1}));  // col < day: before midnight either way
  EXPECT_FALSE(May(morning, Op::kGte, Date{kMar1 + 1}));
  EXPECT_FALSE(May(morning, Op::kGte, Timestamp{kMar1Micros + 11 * 3600000000LL}));
  EXPECT_TRUE(May(Range("DATE", "2024-03-01", "2024-03-01", "INT32"), Op::kGte, Timestamp{kMar1Micros}));
  EXPECT_FALSE(May(Range("DATE", "2024-03-01", "2024-03-01", "INT32"), Op::kGt, Timestamp{kMar1Micros}));
  // A TIMESTAMP_MS column may see a value cast down to its millisecond.
  ColumnRange millis = Range("TIMESTAMP_MS", "2024-03-01 00:00:00", "2024-03-01 00:00:00");
  EXPECT_TRUE(May(millis, Op::kEq, Timestamp{kMar1Micros + 500}));
  // Zoned columns in a session off UTC: a day's margin, whatever the offset.
  ColumnRange zoned = Range("TIMESTAMP WITH TIME ZONE", "2024-03-01 10:00:00+00", "2024-03-01 10:59:59+00");
  EXPECT_FALSE(May(zoned, Op::kGte, Date{kMar1 + 1}));
  EXPECT_TRUE(May(zoned, Op::kGte, Date{kMar1 + 1}, /*utc=*/false));
  EXPECT_FALSE(May(zoned, Op::kGte, Date{kMar1 + 2}, /*utc=*/false));
  // Infinity is past every time.
  EXPECT_TRUE(May(Range("TIMESTAMP", "2024-01-01 00:00:00", "infinity"), Op::kGt, Timestamp{kMar1Micros}));
}

TEST(ColumnRangeTest, PartitionsCompareAsTheirTypeAndStringsBothWays) {
  auto may = [](const std::string& text, Op op, Value value) {
    return PartitionMayMatch(text, {"p", op, {std::move(value)}}, {});
  };
  EXPECT_TRUE(may("2024-03-01", Op::kEq, Date{kMar1}));
  EXPECT_FALSE(may("2024-03-02", Op::kEq, Date{kMar1}));
  EXPECT_FALSE(may("2024-03-01", Op::kGt, Timestamp{kMar1Micros}));
  EXPECT_TRUE(may("2024-03", Op::kEq, Date{kMar1}));  // not a date: kept
  EXPECT_FALSE(may("9", Op::kGt, int64_t{9}));
  EXPECT_TRUE(may("10", Op::kGt, int64_t{9}));
  EXPECT_TRUE(may("1.50", Op::kEq, 1.5));
  // "01" may be the number 1 (all partitions numeric) or the text "01": both keep it.
  EXPECT_TRUE(may("01", Op::kEq, std::string("1")));
  EXPECT_TRUE(may("01", Op::kEq, std::string("01")));
  EXPECT_FALSE(may("02", Op::kEq, std::string("1")));
  EXPECT_FALSE(may("acme", Op::kEq, std::string("other")));
}

}  // namespace
}  // namespace dram::database
