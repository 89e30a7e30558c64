#include "engine/csv_table_function.h"

#include <gtest/gtest.h>

#include "engine/result_encoder.h"

namespace dram::engine {
namespace {

class CsvTableFunctionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = Database::Open("", DatabaseOptions{.read_only = false, .threads = 1});
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(database).value();
    auto function = CsvTableFunction::Register(*database_, "texts");
    ASSERT_TRUE(function.ok()) << function.status().ToString();
    function_ = std::move(function).value();
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok());
    connection_ = std::move(connection).value();
  }

  // `sql`'s rows as JSON, or the error's message.
  std::string Run(Connection& connection, const std::string& sql) {
    auto result = connection.Query(sql);
    if (!result.ok()) return "error: " + result.status().message();
    std::string out;
    auto rows = EncodeResult(*result, Format::kJson, out);
    return rows.ok() ? out : "error: " + rows.status().message();
  }
  std::string Csv(const std::string& sql) {
    auto result = connection_->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    std::string out;
    if (result.ok()) {
      EXPECT_TRUE(EncodeResult(*result, Format::kCsvExact, out).ok());
    }
    return out;
  }

  std::unique_ptr<Database> database_;
  std::unique_ptr<CsvTableFunction> function_;
  std::unique_ptr<Connection> connection_;
};

TEST_F(CsvTableFunctionTest, EveryScalarTypeReadsBackAsItWasWritten) {
  // Values that differ in the last digit, the extremes of each type, empty strings against NULLs,
  // separators, quotes and line breaks inside strings; more rows than one DuckDB vector holds.
  const std::string table =
      "SELECT i, "
      "CASE WHEN i % 7 = 0 THEN NULL WHEN i % 7 = 1 THEN '' WHEN i % 7 = 2 THEN 'a,\"b\"\r\nc' ELSE 'v' || i END AS s, "
      "CASE WHEN i % 5 = 0 THEN NULL ELSE 0.1 + i * 1e-17 END AS d, "
      "CASE WHEN i = 1 THEN 9223372036854775807 WHEN i = 2 THEN -9223372036854775808 ELSE i * 3 END AS big, "
      "(170141183460469231731687303715884105727 // 5000 * i - i)::HUGEINT AS huge, "
      "(i / 1000)::DECIMAL(18, 3) AS dec, (i::HUGEINT * 123456789012345678901234567 / 100)::DECIMAL(38, 2) AS wide, "
      "DATE '1970-01-01' + (i - 2500)::INTEGER AS day, TIMESTAMP '2024-02-29 23:59:59.999999' + INTERVAL (i) SECOND AS at, "
      "i % 3 = 0 AS flag, CASE WHEN i % 4 = 0 THEN 'NaN'::DOUBLE WHEN i % 4 = 1 THEN '-inf'::DOUBLE ELSE 1.0 / i END AS f "
      "FROM range(5000) r(i)";
  const Status created = connection_->Execute("CREATE TABLE t AS " + table);
  ASSERT_TRUE(created.ok()) << created.ToString();
  const std::string types =
      "c0::BIGINT AS i, c1 AS s, c2::DOUBLE AS d, c3::BIGINT AS big, c4::HUGEINT AS huge, c5::DECIMAL(18,3) AS dec, "
      "c6::DECIMAL(38,2) AS wide, c7::DATE AS day, c8::TIMESTAMP AS at, c9::BOOLEAN AS flag, c10::DOUBLE AS f";
  // Three texts (each with its header), one of them with no rows.
  const std::string first = Csv("SELECT * FROM t WHERE i < 3000");
  const std::string empty = Csv("SELECT * FROM t WHERE false");
  const std::string last = Csv("SELECT * FROM t WHERE i >= 3000");
  auto lease = function_->Provide(*connection_, {first, empty, last});
  EXPECT_EQ(Run(*connection_, "SELECT count(*) AS n FROM (SELECT " + types + " FROM texts(11) EXCEPT ALL SELECT * FROM t)"),
            "[{\"n\":0}]");
  EXPECT_EQ(Run(*connection_, "SELECT count(*) AS n, count(s) AS s, count(*) FILTER (WHERE s = '') AS empty FROM (SELECT " +
                                  types + " FROM texts(11))"),
            Run(*connection_, "SELECT count(*) AS n, count(s) AS s, count(*) FILTER (WHERE s = '') AS empty FROM t"));
}

TEST_F(CsvTableFunctionTest, AConnectionReadsOnlyWhatItWasHandedWhileTheLeaseLasts) {
  auto other = database_->Connect();
  ASSERT_TRUE(other.ok());
  const std::string mine = "a\r\n1\r\n2\r\n", theirs = "a\r\n3\r\n";
  const std::string sql = "SELECT c0 AS a FROM texts(1) ORDER BY a";
  {
    auto lease = function_->Provide(*connection_, {mine});
    auto other_lease = function_->Provide(**other, {theirs});
    EXPECT_EQ(Run(*connection_, sql), "[{\"a\":\"1\"},{\"a\":\"2\"}]");
    EXPECT_EQ(Run(**other, sql), "[{\"a\":\"3\"}]");
  }
  // The same prepared statement, run again after the leases ended, then with new text.
  EXPECT_EQ(Run(*connection_, sql), "[]");
  auto lease = function_->Provide(*connection_, {theirs});
  EXPECT_EQ(Run(*connection_, sql), "[{\"a\":\"3\"}]");
  EXPECT_EQ(Run(**other, sql), "[]");
}

TEST_F(CsvTableFunctionTest, NullsEmptyStringsAndQuotesAreTold) {
  auto lease = function_->Provide(*connection_, {"\"x\r\ny\",b\r\n,\"\"\r\n\"\"\"q\"\"\",\r\n\"a,b\",c"});
  EXPECT_EQ(Run(*connection_, "SELECT c0, c1 FROM texts(2)"),
            "[{\"c0\":null,\"c1\":\"\"},{\"c0\":\"\\\"q\\\"\",\"c1\":null},{\"c0\":\"a,b\",\"c1\":\"c\"}]");
  // One column: an empty line is a NULL row.
  auto one = function_->Provide(*connection_, {"a\r\n\r\nz\r\n"});
  EXPECT_EQ(Run(*connection_, "SELECT c0 FROM texts(1)"), "[{\"c0\":null},{\"c0\":\"z\"}]");
}

TEST_F(CsvTableFunctionTest, MalformedTextAndCallsAreErrorsNotGuesses) {
  struct Case {
    std::string text;
    int columns;
    const char* error;
  } cases[] = {
      {"a,b\r\n1\r\n", 2, "as many fields"},           // too few fields
      {"a,b\r\n1,2,3\r\n", 2, "as many fields"},       // too many
      {"a,b\r\n\"1,2\r\n", 2, "not closed"},           // an unclosed quote
      {"a,b\r\n\"1\"x,2\r\n", 2, "as many fields"},    // text after a closing quote
      {"a,b\r\n1,2\n3,4\r\n", 2, "as many fields"},    // a bare LF is no line end
  };
  for (const auto& c : cases) {
    auto lease = function_->Provide(*connection_, {c.text});
    EXPECT_NE(Run(*connection_, "SELECT * FROM texts(" + std::to_string(c.columns) + ")").find(c.error), std::string::npos)
        << c.text;
  }
  EXPECT_NE(Run(*connection_, "SELECT * FROM texts(0)").find("between 1 and 4096"), std::string::npos);
  EXPECT_NE(Run(*connection_, "SELECT * FROM texts(100000)").find("between 1 and 4096"), std::string::npos);
  EXPECT_NE(Run(*connection_, "SELECT * FROM texts(NULL)").find("error"), std::string::npos);
}

TEST(CsvHeaderLengthTest, EndsAtTheFirstLineBreakOutsideQuotes) {
  EXPECT_EQ(CsvHeaderLength("a,b\r\n1,2\r\n"), 5u);
  EXPECT_EQ(CsvHeaderLength("\"a\r\nb\",c\r\n1,2\r\n"), 10u);
  EXPECT_EQ(CsvHeaderLength("\"a\"\"\r\n\",c\r\n"), 11u);
  EXPECT_EQ(CsvHeaderLength("a,b"), 3u);
  EXPECT_EQ(CsvHeaderLength(""), 0u);
}

}  // namespace
}  // namespace dram::engine
