#include "engine/columnar_table_function.h"

#include <gtest/gtest.h>

#include <cstring>

#include "engine/columnar_codec.h"
#include "engine/result_encoder.h"

namespace dram::engine {
namespace {

// Every type the format carries, with NULLs, each type's extremes and the values text formats get
// wrong (the last digit of a DOUBLE, -0.0, NaN, infinities, far dates, strings with NUL bytes,
// line breaks, quotes and non-ASCII), over 5,000 rows: more than two DuckDB vectors.
constexpr char kEveryType[] =
    "SELECT i, "
    "CASE WHEN i % 7 = 0 THEN NULL ELSE i % 3 = 0 END AS flag, "
    "CASE i WHEN 1 THEN -128 WHEN 2 THEN 127 ELSE i % 100 END::TINYINT AS tiny, "
    "CASE i WHEN 1 THEN -32768 WHEN 2 THEN 32767 WHEN 3 THEN NULL ELSE i END::SMALLINT AS small, "
    "CASE i WHEN 1 THEN -2147483648 WHEN 2 THEN 2147483647 ELSE i * 1000 END::INTEGER AS int, "
    "CASE WHEN i = 1 THEN -9223372036854775808 WHEN i = 2 THEN 9223372036854775807 WHEN i % 11 = 0 THEN NULL "
    "  ELSE i * 3 END::BIGINT AS big, "
    "CASE i WHEN 1 THEN 0 WHEN 2 THEN 255 ELSE i % 200 END::UTINYINT AS utiny, "
    "CASE i WHEN 1 THEN 0 WHEN 2 THEN 65535 ELSE i END::USMALLINT AS usmall, "
    "CASE i WHEN 1 THEN 0 WHEN 2 THEN 4294967295 ELSE i * 7 END::UINTEGER AS uint, "
    "CASE i WHEN 1 THEN 0 WHEN 2 THEN 18446744073709551615 ELSE i * 11 END::UBIGINT AS ubig, "
    "CASE i WHEN 1 THEN -(170141183460469231731687303715884105727::HUGEINT) - 1 WHEN 2 THEN 170141183460469231731687303715884105727 "
    "  WHEN 4 THEN NULL ELSE i::HUGEINT * 1000000000000000000000 - 12345 END::HUGEINT AS huge, "
    "CASE i WHEN 1 THEN 0::UHUGEINT WHEN 2 THEN 340282366920938463463374607431768211455::UHUGEINT ELSE (i * 3)::UHUGEINT END AS uhuge, "
    "CASE i % 6 WHEN 0 THEN 'NaN'::FLOAT WHEN 1 THEN 'inf'::FLOAT WHEN 2 THEN -0.0::FLOAT ELSE 1.0 / i END::FLOAT AS f32, "
    "CASE i % 9 WHEN 0 THEN 'NaN'::DOUBLE WHEN 1 THEN '-inf'::DOUBLE WHEN 2 THEN 'inf'::DOUBLE WHEN 3 THEN -0.0 "
    "  WHEN 4 THEN 5e-324 WHEN 5 THEN 1.7976931348623157e308 WHEN 6 THEN NULL ELSE 0.1 + i * 1e-17 END AS f64, "
    "(i / 10 - 200)::DECIMAL(4, 1) AS d4, (i / 100)::DECIMAL(9, 2) AS d9, (i * 1000.001)::DECIMAL(18, 3) AS d18, "
    "CASE i WHEN 1 THEN '-9999999999999999999999999999.9999999999'::DECIMAL(38, 10) "
    "  WHEN 2 THEN '9999999999999999999999999999.9999999999'::DECIMAL(38, 10) WHEN 5 THEN NULL "
    "  ELSE (i / 7)::DECIMAL(38, 10) END AS d38, "
    "CASE i % 8 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'a,\"b\"\r\nc' WHEN 3 THEN 'nul' || chr(0) || 'inside' "
    "  WHEN 4 THEN 'é日本🙂' WHEN 5 THEN repeat('long ', 60 + i % 10) ELSE 'v' || i END AS s, "
    "CASE i WHEN 1 THEN DATE '0001-01-01' WHEN 2 THEN DATE '9999-12-31' WHEN 3 THEN 'infinity'::DATE "
    "  WHEN 4 THEN '-infinity'::DATE WHEN 5 THEN DATE '5881580-07-10' WHEN 6 THEN NULL "
    "  ELSE DATE '1970-01-01' + (i - 2500)::INTEGER END AS day, "
    "TIME '00:00:00' + INTERVAL (i * 17) SECOND AS t, ('12:34:' || lpad((i % 60)::VARCHAR, 2, '0') || '.123456789')::TIME_NS AS tns, "
    "('12:34:56+0' || (i % 9) || ':30')::TIMETZ AS ttz, "
    "CASE i WHEN 1 THEN 'infinity'::TIMESTAMP WHEN 2 THEN '-infinity'::TIMESTAMP WHEN 3 THEN TIMESTAMP '0001-01-01 00:00:00' "
    "  WHEN 4 THEN TIMESTAMP '294247-01-10 04:00:54.775806' ELSE TIMESTAMP '2024-02-29 23:59:59.999999' + INTERVAL (i) SECOND "
    "  END AS ts, "
    "(TIMESTAMP '2024-01-01' + INTERVAL (i) HOUR)::TIMESTAMP_S AS ts_s, "
    "(TIMESTAMP '2024-01-01 00:00:00.123' + INTERVAL (i) MINUTE)::TIMESTAMP_MS AS ts_ms, "
    "('2262-04-11 23:47:16.854775'::TIMESTAMP_NS - INTERVAL (i) DAY) AS ts_ns, "
    "CASE WHEN i % 13 = 0 THEN NULL ELSE TIMESTAMPTZ '2024-06-01 12:00:00+00' + INTERVAL (i) MINUTE END AS ts_tz, "
    "CASE i WHEN 1 THEN '00000000-0000-0000-0000-000000000000'::UUID WHEN 2 THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff'::UUID "
    "  ELSE md5(i::VARCHAR)::UUID END AS id, "
    "CASE WHEN i % 5 = 0 THEN NULL ELSE (['sad', 'ok', 'it''s', ''])[i % 4 + 1]::mood END AS mood, "
    "('v' || (i % 300))::wide AS wide "
    "FROM range(5000) r(i)";

class ColumnarTableFunctionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = Database::Open("", DatabaseOptions{.read_only = false, .threads = 1});
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(database).value();
    auto function = ColumnarTableFunction::Register(*database_, "payloads");
    ASSERT_TRUE(function.ok()) << function.status().ToString();
    function_ = std::move(function).value();
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok());
    connection_ = std::move(connection).value();
    const Status types = connection_->Execute(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s', ''); "
        "CREATE TYPE wide AS ENUM (SELECT 'v' || i FROM range(300) t(i))");  // 300 values: a 2-byte index
    ASSERT_TRUE(types.ok()) << types.ToString();
  }

  // `sql`'s rows as exact CSV (what members send today), or the error's message.
  std::string Csv(Connection& connection, const std::string& sql) {
    auto result = connection.Query(sql);
    if (!result.ok()) return "error: " + result.status().message();
    std::string out;
    auto rows = EncodeResult(*result, Format::kCsvExact, out);
    return rows.ok() ? out : "error: " + rows.status().message();
  }
  std::string Csv(const std::string& sql) { return Csv(*connection_, sql); }

  std::string Payload(const std::string& sql, ColumnarOptions options = {}) {
    auto result = connection_->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    std::string out;
    if (result.ok()) {
      auto rows = EncodeColumnar(*result, out, options);
      EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    }
    return out;
  }

  // The call reading payloads like `payload`.
  std::string Call(std::string_view payload) {
    auto columns = ColumnarTableFunction::Columns(payload);
    EXPECT_TRUE(columns.ok()) << columns.status().ToString();
    return columns.ok() ? ColumnarTableFunction::Call("payloads", *columns) : "";
  }

  // The SELECT through the function returns what the source did: the same exact CSV text, the
  // same column types (typeof of each value, and the columns' descriptions).
  void ExpectRoundTrip(const std::string& table, const std::vector<std::string>& payloads) {
    auto lease = function_->Provide(*connection_, {payloads.begin(), payloads.end()});
    const std::string through = "SELECT * FROM " + Call(payloads.front());
    const std::string expected_rows = Csv("SELECT * FROM " + table);
    ASSERT_NE(expected_rows.rfind("error: ", 0), 0u) << expected_rows;
    EXPECT_EQ(Csv(through), expected_rows);
    EXPECT_EQ(Csv("SELECT typeof(COLUMNS(*)) FROM (" + through + ") LIMIT 1"),
              Csv("SELECT typeof(COLUMNS(*)) FROM " + table + " LIMIT 1"));
    auto expected = connection_->Describe("SELECT * FROM " + table);
    auto actual = connection_->Describe(through);
    ASSERT_TRUE(expected.ok() && actual.ok());
    ASSERT_EQ(actual->size(), expected->size());
    for (size_t i = 0; i < expected->size(); ++i) {
      EXPECT_EQ((*actual)[i].name, (*expected)[i].name);
      EXPECT_EQ((*actual)[i].type.sql_name, (*expected)[i].type.sql_name);
      EXPECT_EQ((*actual)[i].type.enum_values, (*expected)[i].type.enum_values);
    }
  }

  // Whatever the function makes of `payload`: the CSV or the error.
  std::string Read(std::string_view payload, const std::string& call) {
    auto lease = function_->Provide(*connection_, {payload});
    return Csv("SELECT * FROM " + call);
  }

  void CreateEveryType() {
    const Status created = connection_->Execute(std::string("CREATE TABLE t AS ") + kEveryType);
    ASSERT_TRUE(created.ok()) << created.ToString();
  }

  std::unique_ptr<Database> database_;
  std::unique_ptr<ColumnarTableFunction> function_;
  std::unique_ptr<Connection> connection_;
};

TEST_F(ColumnarTableFunctionTest, EveryTypeReadsBackExactlyWithItsType) {
  CreateEveryType();
  for (const bool narrow : {true, false}) {
    SCOPED_TRACE(narrow ? "narrowed" : "plain");
    ExpectRoundTrip("t", {Payload("SELECT * FROM t", {.narrow = narrow})});
  }
}

TEST_F(ColumnarTableFunctionTest, SeveralPayloadsReadAsOneRelationInOrder) {
  CreateEveryType();
  // Chunks of the payloads split across outputs and small ones sharing one; one payload empty.
  ExpectRoundTrip("t", {Payload("SELECT * FROM t WHERE i < 3000"), Payload("SELECT * FROM t WHERE false"),
                        Payload("SELECT * FROM t WHERE i >= 3000 AND i < 3010"), Payload("SELECT * FROM t WHERE i >= 3010")});
}

TEST_F(ColumnarTableFunctionTest, NoRowsAndAllNullChunks) {
  CreateEveryType();
  const std::string empty = Payload("SELECT * FROM t WHERE false");
  ExpectRoundTrip("(SELECT * FROM t WHERE false)", {empty});
  const Status created = connection_->Execute(
      "CREATE TABLE n AS SELECT CASE WHEN i < 2048 THEN NULL ELSE i END::BIGINT AS a, "
      "CASE WHEN i < 2048 THEN NULL ELSE 'x' END AS s, NULL::HUGEINT AS h, 7::HUGEINT AS same FROM range(4096) r(i)");
  ASSERT_TRUE(created.ok()) << created.ToString();
  ExpectRoundTrip("n", {Payload("SELECT * FROM n")});
}

TEST_F(ColumnarTableFunctionTest, LongStringsNeedWideLengths) {
  const Status created = connection_->Execute(
      "CREATE TABLE s AS SELECT CASE WHEN i = 3 THEN repeat('é', 40000) WHEN i = 4 THEN repeat('x', 300) ELSE i::VARCHAR END AS s "
      "FROM range(10) r(i)");
  ASSERT_TRUE(created.ok()) << created.ToString();
  ExpectRoundTrip("s", {Payload("SELECT * FROM s")});
}

TEST_F(ColumnarTableFunctionTest, NarrowingShrinksIntegerColumns) {
  const std::string sql = "SELECT i::BIGINT AS a, (i * 1000)::HUGEINT AS b, (DATE '2024-01-01' + i::INTEGER) AS d FROM range(5000) r(i)";
  const std::string narrow = Payload(sql), plain = Payload(sql, {.narrow = false});
  EXPECT_LT(narrow.size() * 3, plain.size());  // 28 bytes a row plain; 2 + 4 + 2 narrowed
  ExpectRoundTrip("(" + sql + ")", {narrow});
  ExpectRoundTrip("(" + sql + ")", {plain});
}

TEST_F(ColumnarTableFunctionTest, ColumnsNameTheTypesTheCallMustGive) {
  auto columns = ColumnarTableFunction::Columns(
      Payload("SELECT 1::DECIMAL(18, 3) AS \"a b\", 'ok'::mood AS m, TIMESTAMPTZ '2024-01-01' AS z, 'x' AS s"));
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  ASSERT_EQ(columns->size(), 4u);
  EXPECT_EQ((*columns)[0].name, "a b");
  EXPECT_EQ((*columns)[0].type.sql_name, "DECIMAL(18,3)");
  EXPECT_EQ((*columns)[1].type.sql_name, "ENUM('sad', 'ok', 'it''s', '')");
  EXPECT_EQ((*columns)[1].type.kind, TypeKind::kEnum);
  EXPECT_EQ((*columns)[2].type.sql_name, "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(ColumnarTableFunction::Call("f", *columns),
            "f(['DECIMAL(18,3)', 'ENUM(''sad'', ''ok'', ''it''''s'', '''')', 'TIMESTAMP WITH TIME ZONE', 'VARCHAR']) "
            "AS columnar(\"a b\", \"m\", \"z\", \"s\")");
}

TEST_F(ColumnarTableFunctionTest, TypesTheFormatDoesNotCarryAreUnimplemented) {
  for (const char* sql : {"SELECT 'a'::BLOB AS x", "SELECT INTERVAL 1 DAY AS x", "SELECT [1, 2] AS x", "SELECT {'a': 1} AS x",
                          "SELECT MAP {'a': 1} AS x", "SELECT '101'::BIT AS x", "SELECT 1::BIGNUM AS x",
                          "SELECT [1, 2]::INTEGER[2] AS x", "SELECT 1::UNION(a INTEGER, b VARCHAR) AS x"}) {
    SCOPED_TRACE(sql);
    auto result = connection_->Query(sql);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    std::string out;
    auto rows = EncodeColumnar(*result, out);
    ASSERT_FALSE(rows.ok());
    EXPECT_EQ(rows.status().code(), StatusCode::kUnimplemented);
    EXPECT_NE(rows.status().message().find("column 'x'"), std::string::npos) << rows.status().message();
  }
}

TEST_F(ColumnarTableFunctionTest, PayloadsWithDifferentHeadersAreAnError) {
  const std::string ints = Payload("SELECT 1::INTEGER AS a"), bigints = Payload("SELECT 1::BIGINT AS a");
  const std::string renamed = Payload("SELECT 2::INTEGER AS b");
  {
    auto lease = function_->Provide(*connection_, {ints, bigints});
    EXPECT_NE(Csv("SELECT * FROM " + Call(ints)).find("error: "), std::string::npos);
  }
  {
    auto lease = function_->Provide(*connection_, {ints, renamed});
    EXPECT_NE(Csv("SELECT * FROM " + Call(ints)).find("same columns"), std::string::npos);
  }
  // A statement bound once and run again (the reducer's prepared statements) with payloads of
  // another header fails rather than misreading them.
  EXPECT_EQ(Read(ints, Call(ints)), "a\r\n1\r\n");
  EXPECT_NE(Read(renamed, Call(ints)).find("same columns"), std::string::npos);
  // Columns of the same types under other names are another statement, not a refusal: the call
  // names them (the reducer runs "SELECT * FROM partials" over many analyses' rows).
  EXPECT_NE(Call(ints), Call(renamed));
  EXPECT_EQ(Read(renamed, Call(renamed)), "b\r\n2\r\n");
  EXPECT_EQ(Read(ints, Call(ints)), "a\r\n1\r\n");
}

TEST_F(ColumnarTableFunctionTest, TypeNamesThatDoNotMatchThePayloadsAreAnError) {
  const std::string payload = Payload("SELECT 1::INTEGER AS a, 'x' AS s");
  EXPECT_EQ(Read(payload, "payloads(['INTEGER', 'VARCHAR'])"), "a,s\r\n1,x\r\n");
  EXPECT_NE(Read(payload, "payloads(['BIGINT', 'VARCHAR'])").find("carry INTEGER"), std::string::npos);
  EXPECT_NE(Read(payload, "payloads(['INTEGER'])").find("names 1 column types"), std::string::npos);
  EXPECT_NE(Read(payload, "payloads(['INTEGER', 'VARCHAR', 'VARCHAR'])").find("error: "), std::string::npos);
  EXPECT_NE(Read(payload, "payloads(NULL)").find("error: "), std::string::npos);
  EXPECT_NE(Read(payload, "payloads(['INTEGER', NULL])").find("error: "), std::string::npos);
  const std::string mood = Payload("SELECT 'ok'::mood AS m");
  EXPECT_NE(Read(mood, "payloads(['ENUM(''sad'', ''ok'')'])").find("error: "), std::string::npos);
}

TEST_F(ColumnarTableFunctionTest, AConnectionReadsOnlyWhatItWasHandedWhileTheLeaseLasts) {
  const std::string payload = Payload("SELECT 1::INTEGER AS a");
  auto other = database_->Connect();
  ASSERT_TRUE(other.ok());
  auto lease = function_->Provide(*connection_, {payload});
  EXPECT_EQ(Csv("SELECT * FROM " + Call(payload)), "a\r\n1\r\n");
  EXPECT_NE(Csv(**other, "SELECT * FROM " + Call(payload)).find("no columnar payloads"), std::string::npos);
}

// Each prefix of a payload (several chunks, every kind of column) fails cleanly: the end marker
// makes even a cut at a chunk's end an error.
TEST_F(ColumnarTableFunctionTest, TruncatedPayloadsAreAnErrorNeverACrash) {
  CreateEveryType();
  const std::string small = Payload("SELECT * FROM t WHERE i < 12");
  const std::string call = Call(small);
  ASSERT_EQ(Read(small, call), Csv("SELECT * FROM t WHERE i < 12"));
  for (size_t size = 0; size < small.size(); ++size) {
    SCOPED_TRACE(size);
    const std::string cut = small.substr(0, size);  // its own allocation, for memory checkers
    EXPECT_EQ(Read(cut, call).rfind("error: ", 0), 0u);
  }
  const std::string large = Payload("SELECT * FROM t");
  for (size_t cut : {size_t{4}, large.size() / 3, large.size() / 2, large.size() - 5}) {
    EXPECT_EQ(Read(std::string_view(large).substr(0, large.size() - cut), Call(large)).rfind("error: ", 0), 0u);
  }
  EXPECT_NE(Read(large + "x", Call(large)).find("after its end marker"), std::string::npos);
}

// Every byte of a payload flipped in turn: each read either succeeds or fails, and never reads
// out of bounds, crashes or hands DuckDB an ENUM index or string it cannot hold.
TEST_F(ColumnarTableFunctionTest, CorruptPayloadsAreAnErrorNeverACrash) {
  CreateEveryType();
  const std::string payload = Payload("SELECT * FROM t WHERE i < 12");
  const std::string call = Call(payload);
  size_t errors = 0;
  for (size_t at = 0; at < payload.size(); ++at) {
    for (const unsigned char mask : {0xFF, 0x80, 0x01}) {
      std::string corrupt = payload;
      corrupt[at] = static_cast<char>(corrupt[at] ^ mask);
      errors += Read(corrupt, call).rfind("error: ", 0) == 0;
    }
  }
  EXPECT_GT(errors, payload.size());
}

TEST_F(ColumnarTableFunctionTest, ValuesOutsideTheirTypeAreAnError) {
  std::string mood = Payload("SELECT 'ok'::mood AS m");  // the index is the byte before the end marker
  mood[mood.size() - 5] = 9;
  EXPECT_NE(Read(mood, Call(mood)).find("outside its column's type"), std::string::npos);
  std::string flag = Payload("SELECT true AS b");
  flag[flag.size() - 5] = 2;
  EXPECT_NE(Read(flag, Call(flag)).find("outside its column's type"), std::string::npos);
  std::string text = Payload("SELECT 'abc' AS s");
  text[text.size() - 6] = static_cast<char>(0xC0);  // 'b' → a lead byte with no continuation
  EXPECT_NE(Read(text, Call(text)).find("not UTF-8"), std::string::npos);
  // Values DuckDB would take on trust and misread or overflow on: a DECIMAL beyond its precision,
  // a TIME beyond a day or before it, a TIMESTAMP_S/_MS whose microseconds overflow. Unnarrowed,
  // one row: the value is the bytes just before the end marker.
  auto patched = [&](const std::string& sql, auto value) {
    std::string payload = Payload(sql, {.narrow = false});
    std::memcpy(payload.data() + payload.size() - 4 - sizeof(value), &value, sizeof(value));
    return Read(payload, Call(payload));
  };
  EXPECT_EQ(patched("SELECT 999.9::DECIMAL(4, 1) AS d", int16_t{9999}), "d\r\n999.9\r\n");
  EXPECT_NE(patched("SELECT 1.5::DECIMAL(4, 1) AS d", int16_t{10000}).find("outside its column's type"), std::string::npos);
  EXPECT_NE(patched("SELECT 1.5::DECIMAL(4, 1) AS d", int16_t{-10000}).find("outside its column's type"), std::string::npos);
  EXPECT_EQ(patched("SELECT TIME '01:00:00' AS t", int64_t{86'400'000'000}), "t\r\n24:00:00\r\n");
  EXPECT_NE(patched("SELECT TIME '01:00:00' AS t", int64_t{86'400'000'001}).find("outside its column's type"), std::string::npos);
  EXPECT_NE(patched("SELECT TIME '01:00:00' AS t", int64_t{-1}).find("outside its column's type"), std::string::npos);
  EXPECT_NE(patched("SELECT TIMESTAMP_S '2024-01-01 00:00:00' AS t", INT64_MAX).find("outside its column's type"),
            std::string::npos);
  EXPECT_NE(patched("SELECT TIMESTAMP_MS '2024-01-01 00:00:00' AS t", INT64_MIN).find("outside its column's type"),
            std::string::npos);
  std::string version = Payload("SELECT 1 AS a");
  const std::string call = Call(version);
  version[4] = 2;
  EXPECT_NE(Read(version, call).find("another version"), std::string::npos);
  EXPECT_NE(Read("not a payload", call).find("magic"), std::string::npos);
}

}  // namespace
}  // namespace dram::engine
