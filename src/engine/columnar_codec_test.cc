#include "engine/columnar_codec.h"

#include <gtest/gtest.h>

#include "engine/columnar_format.h"
#include "engine/database.h"

namespace dram::engine {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int byte : bytes) out.push_back(static_cast<char>(byte));
  return out;
}

class ColumnarCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = Database::Open("", DatabaseOptions{.read_only = false, .threads = 1});
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(database).value();
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok());
    connection_ = std::move(connection).value();
  }

  std::string Encode(const std::string& sql, ColumnarOptions options = {}) {
    auto result = connection_->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    std::string out;
    if (result.ok()) {
      EXPECT_TRUE(EncodeColumnar(*result, out, options).ok());
    }
    return out;
  }

  std::unique_ptr<Database> database_;
  std::unique_ptr<Connection> connection_;
};

// The bytes of docs/columnar_format.md for a small result: the format is a contract between
// members of different builds, so a change to it shows here first.
TEST_F(ColumnarCodecTest, LayoutIsAsDocumented) {
  const std::string sql = "SELECT * FROM (VALUES (1::INTEGER, 'ab'), (NULL, NULL), (300, '')) t(a, s)";
  const std::string header = Bytes({'D', 'R', 'M', 'C', 1, 2, 0, 0, 0,  // magic, version, 2 columns
                                    1, 0, 0, 0, 'a', 4,                 // "a" INTEGER
                                    1, 0, 0, 0, 's', 17});              // "s" VARCHAR
  const std::string rows = Bytes({3, 0, 0, 0});
  const std::string strings = Bytes({1, 0x05, 1, 2, 0, 0, 'a', 'b'});  // validity 101, 1-byte lengths
  const std::string end = Bytes({0, 0, 0, 0});
  EXPECT_EQ(Encode(sql), header + rows +
                             Bytes({3, 0x05, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0x2B, 0x01}) +  // base 1, 2-byte deltas 0, 0, 299
                             strings + end);
  EXPECT_EQ(Encode(sql, {.narrow = false}),
            header + rows + Bytes({1, 0x05, 1, 0, 0, 0, 0, 0, 0, 0, 0x2C, 0x01, 0, 0}) + strings + end);
  EXPECT_EQ(Encode("SELECT 1 AS a WHERE false"), Bytes({'D', 'R', 'M', 'C', 1, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 4}) + end);
}

TEST_F(ColumnarCodecTest, HeaderDescribesDecimalsAndEnumsStructurally) {
  ASSERT_TRUE(connection_->Execute("CREATE TYPE e AS ENUM ('x', 'y''z')").ok());
  auto header = internal::ParseColumnarHeader(Encode("SELECT 1.5::DECIMAL(38, 10) AS d, 'x'::e AS e"));
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  ASSERT_EQ(header->columns.size(), 2u);
  EXPECT_EQ(header->columns[0].decimal_width, 38);
  EXPECT_EQ(header->columns[0].decimal_scale, 10);
  EXPECT_EQ(header->columns[0].width, 16);
  EXPECT_EQ(header->columns[1].enum_values, (std::vector<std::string>{"x", "y'z"}));
  EXPECT_EQ(header->columns[1].width, 1);
}

TEST(ColumnarFormatTest, MalformedHeadersAreDataLoss) {
  const std::string column = Bytes({1, 0, 0, 0, 'a'});
  const struct {
    std::string payload;
    std::string message;
  } cases[] = {
      {"", "magic"},
      {"DRMX", "magic"},
      {"DRMC", "truncated"},
      {"DRMC" + Bytes({1, 0, 0, 0, 0}), "column count"},
      {"DRMC" + Bytes({1, 1, 0, 0, 0}) + column, "truncated"},
      {"DRMC" + Bytes({1, 1, 0, 0, 0}) + column + Bytes({99}), "does not carry"},
      {"DRMC" + Bytes({1, 1, 0, 0, 0}) + column + Bytes({18}), "does not carry"},  // BLOB
      {"DRMC" + Bytes({1, 1, 0, 0, 0}) + column + Bytes({19, 5, 6}), "scale > width"},
      {"DRMC" + Bytes({1, 1, 0, 0, 0}) + column + Bytes({19, 39, 0}), "does not carry"},
      {"DRMC" + Bytes({1, 1, 0, 0, 0}) + column + Bytes({23, 0, 0, 0, 0}), "does not carry"},  // empty ENUM
      {"DRMC" + Bytes({1, 1, 0, 0, 0}) + column + Bytes({23, 2, 0, 0, 0, 1, 0, 0, 0, 'x', 1, 0, 0, 0, 'x'}), "duplicate"},
      {"DRMC" + Bytes({1, 1, 0, 0, 0}) + column + Bytes({23, 1, 0, 0, 0, 1, 0, 0, 0, 0}), "NUL"},
      {"DRMC" + Bytes({1, 1, 0, 0, 0}) + column + Bytes({23, 255, 255, 255, 255}), "truncated"},
      {"DRMC" + Bytes({1, 255, 255, 255, 255}), "column count"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    auto header = internal::ParseColumnarHeader(c.payload);
    ASSERT_FALSE(header.ok());
    EXPECT_EQ(header.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(header.status().ToString().find(c.message), std::string::npos) << header.status().ToString();
  }
  auto version = internal::ParseColumnarHeader("DRMC" + Bytes({2, 1, 0, 0, 0}));
  EXPECT_EQ(version.status().code(), StatusCode::kUnimplemented);
}

TEST(ColumnarFormatTest, Utf8IsCheckedAsDuckDbNeedsIt) {
  const struct {
    std::string text;
    bool valid;
  } cases[] = {
      {"", true},
      {"plain ascii, longer than eight bytes", true},
      {std::string("nul\0inside", 10), true},
      {"é日本🙂", true},
      {"\xF4\x8F\xBF\xBF", true},            // U+10FFFF, the last code point
      {"abcdefgh\xC3", false},              // cut inside a sequence after the fast path
      {"\xC3\x28", false},                  // a continuation byte missing
      {"\xC0\xAF", false},                  // overlong '/'
      {"\xE0\x80\xAF", false},              // overlong, three bytes
      {"\xED\xA0\x80", false},              // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", false},          // past U+10FFFF
      {"\xFF", false},
      {"\x80", false},                      // a continuation byte alone
  };
  for (const auto& c : cases) EXPECT_EQ(internal::IsValidUtf8(c.text), c.valid) << c.text;
}

}  // namespace
}  // namespace dram::engine
