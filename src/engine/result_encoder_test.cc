#include "engine/result_encoder.h"

#include <gtest/gtest.h>

#include "engine/database.h"

namespace dram::engine {
namespace {

class ResultEncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = Database::Open("", DatabaseOptions{.read_only = false, .threads = 1});
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(database).value();
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok());
    connection_ = std::move(connection).value();
  }

  std::string Encode(const std::string& sql, Format format) {
    auto result = connection_->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    if (!result.ok()) return "";
    std::string out;
    auto rows = EncodeResult(*result, format, out);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return out;
  }
  std::string Json(const std::string& select_list) { return Encode("SELECT " + select_list, Format::kJson); }

  std::unique_ptr<Database> database_;
  std::unique_ptr<Connection> connection_;
};

struct Case {
  const char* select_list;
  const char* expected_json;
};

TEST_F(ResultEncoderTest, EncodesEveryScalarType) {
  const Case cases[] = {
      {"true AS v", R"([{"v":true}])"},
      {"NULL::INTEGER AS v", R"([{"v":null}])"},
      {"(-128)::TINYINT AS a, 32767::SMALLINT AS b, (-2147483648)::INTEGER AS c", R"([{"a":-128,"b":32767,"c":-2147483648}])"},
      {"9223372036854775807::BIGINT AS v", R"([{"v":9223372036854775807}])"},
      {"255::UTINYINT AS a, 18446744073709551615::UBIGINT AS b", R"([{"a":255,"b":18446744073709551615}])"},
      {"(-170141183460469231731687303715884105727)::HUGEINT AS v", R"([{"v":-170141183460469231731687303715884105727}])"},
      {"340282366920938463463374607431768211455::UHUGEINT AS v", R"([{"v":340282366920938463463374607431768211455}])"},
      {"1.5::FLOAT AS a, 0.1::DOUBLE AS b", R"([{"a":1.5,"b":0.1}])"},
      {"'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, '-inf'::FLOAT AS c", R"([{"a":null,"b":null,"c":null}])"},
      {"12.30::DECIMAL(4,2) AS a, (-0.05)::DECIMAL(9,2) AS b, 123456789012.345678::DECIMAL(18,6) AS c",
       R"([{"a":12.30,"b":-0.05,"c":123456789012.345678}])"},
      {"12345678901234567890123456.789::DECIMAL(38,3) AS v", R"([{"v":12345678901234567890123456.789}])"},
      {"'he said \"hi\"\n\t\\' AS v", R"([{"v":"he said \"hi\"\n\t\\"}])"},
      {"'a string longer than twelve bytes, ünïcode ✓' AS v", R"([{"v":"a string longer than twelve bytes, ünïcode ✓"}])"},
      {"'\\x00\\xFF\\x41'::BLOB AS v", R"([{"v":"AP9B"}])"},
      {"DATE '2024-02-29' AS a, DATE '0001-01-01' AS b, 'infinity'::DATE AS c", R"([{"a":"2024-02-29","b":"0001-01-01","c":"infinity"}])"},
      {"TIME '13:04:05.25' AS v", R"([{"v":"13:04:05.250000"}])"},
      {"TIMESTAMP '2024-03-01 13:04:05' AS a, TIMESTAMP '1969-12-31 23:59:59.999999' AS b",
       R"([{"a":"2024-03-01T13:04:05","b":"1969-12-31T23:59:59.999999"}])"},
      {"'2024-03-01 13:04:05+00'::TIMESTAMPTZ AS v", R"([{"v":"2024-03-01T13:04:05Z"}])"},
      {"'2024-03-01 13:04:05.123456789'::TIMESTAMP_NS AS a, '2024-03-01 13:04:05.123'::TIMESTAMP_MS AS b",
       R"([{"a":"2024-03-01T13:04:05.123456789","b":"2024-03-01T13:04:05.123000"}])"},
      {"INTERVAL '1 year 2 months 3 days 04:05:06.5' AS a, INTERVAL '0 seconds' AS b",
       R"([{"a":"P1Y2M3DT4H5M6.5S","b":"PT0S"}])"},
      {"'c0a80101-0000-4000-8000-00000000abcd'::UUID AS v", R"([{"v":"c0a80101-0000-4000-8000-00000000abcd"}])"},
      {"'b'::ENUM('a', 'b') AS v", R"([{"v":"b"}])"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Json(c.select_list), c.expected_json) << c.select_list;
  }
}

TEST_F(ResultEncoderTest, EncodesNestedTypesAsNativeJson) {
  const Case cases[] = {
      {"[1, NULL, 3] AS v", R"([{"v":[1,null,3]}])"},
      {"[]::INTEGER[] AS v", R"([{"v":[]}])"},
      {"{'a': 1, 'b': [{'c': 'x'}]} AS v", R"([{"v":{"a":1,"b":[{"c":"x"}]}}])"},
      {"[1, 2, 3]::INTEGER[3] AS v", R"([{"v":[1,2,3]}])"},
      {"MAP {'k1': 10, 'k2': NULL} AS v", R"([{"v":{"k1":10,"k2":null}}])"},
      {"MAP {DATE '2024-01-02': [1.5]} AS v", R"([{"v":{"2024-01-02":[1.5]}}])"},
      {"union_value(num := 2)::UNION(num INTEGER, str VARCHAR) AS v", R"([{"v":2}])"},
      {"[[DATE '2024-01-01']] AS v", R"([{"v":[["2024-01-01"]]}])"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Json(c.select_list), c.expected_json) << c.select_list;
  }
}

TEST_F(ResultEncoderTest, SpansManyChunksAndKeepsNullsPerRow) {
  std::string out = Encode("SELECT CASE WHEN i % 1000 = 0 THEN NULL ELSE i END AS v FROM range(5000) t(i)", Format::kNdjson);
  size_t lines = std::count(out.begin(), out.end(), '\n');
  EXPECT_EQ(lines, 5000u);
  EXPECT_EQ(out.substr(0, 22), "{\"v\":null}\n{\"v\":1}\n{\"v");
  EXPECT_NE(out.find("{\"v\":4999}\n"), std::string::npos);
  EXPECT_NE(out.find("{\"v\":null}\n{\"v\":4001}"), std::string::npos);
}

TEST_F(ResultEncoderTest, WritesCsvWithQuotingAndEmptyNulls) {
  std::string out = Encode(
      "SELECT 1 AS id, 'plain' AS a, 'has,comma' AS b, 'has \"quote\"' AS c, NULL AS d, [1,2] AS e, 'nan'::DOUBLE AS f",
      Format::kCsv);
  EXPECT_EQ(out, "id,a,b,c,d,e,f\r\n1,plain,\"has,comma\",\"has \"\"quote\"\"\",,\"[1,2]\",NaN\r\n");
}

TEST_F(ResultEncoderTest, EmptyResultIsEmptyArray) {
  EXPECT_EQ(Encode("SELECT 1 AS v WHERE false", Format::kJson), "[]");
  EXPECT_EQ(Encode("SELECT 1 AS v WHERE false", Format::kCsv), "v\r\n");
}

}  // namespace
}  // namespace dram::engine
