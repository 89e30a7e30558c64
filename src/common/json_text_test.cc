#include "common/json_text.h"

#include <gtest/gtest.h>

#include "common/civil_time.h"

namespace dram::common {
namespace {

TEST(JsonTextTest, EscapesControlCharactersAndQuotes) {
  std::string out;
  AppendJsonString(out, std::string_view("a\"b\\c\n\x01", 7));
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001")");
}

TEST(JsonTextTest, ReplacesInvalidUtf8AndKeepsValidSequences) {
  std::string out;
  AppendJsonString(out, "ok \xC3\xA9 bad \x80 \xE2\x9C tail \xF0\x9F\x98\x80");
  EXPECT_EQ(out, "\"ok \xC3\xA9 bad \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD tail \xF0\x9F\x98\x80\"");
}

TEST(JsonTextTest, Base64MatchesRfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [input, expected] : cases) {
    std::string out;
    AppendBase64(out, input);
    EXPECT_EQ(out, expected) << input;
  }
}

TEST(JsonTextTest, DecodeBase64InvertsAppendBase64) {
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  for (std::string_view bytes : {std::string_view(), std::string_view("f"), std::string_view("fo"),
                                 std::string_view("foo"), std::string_view("\0\xff", 2), std::string_view(all_bytes)}) {
    std::string text;
    AppendBase64(text, bytes);
    auto decoded = DecodeBase64(text);
    ASSERT_TRUE(decoded.has_value()) << text;
    EXPECT_EQ(*decoded, bytes) << text;
  }
}

TEST(JsonTextTest, DecodeBase64RejectsMalformedText) {
  for (const char* text : {"Zg", "Zg=", "Z===", "Zm9v!", "Zm9-", "Zm_v", "Zh==", "Zm9=Yg==", "=Zg=", "Zm8=\n"}) {
    EXPECT_FALSE(DecodeBase64(text).has_value()) << text;
  }
}

TEST(CivilTimeTest, RoundTripsDatesAcrossEras) {
  for (int64_t days : {-719528LL, -1LL, 0LL, 59LL, 11016LL, 19782LL, 2932896LL}) {
    std::string text;
    AppendIsoDate(text, days);
    auto parsed = ParseIsoDate(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(*parsed, days) << text;
  }
}

TEST(CivilTimeTest, RejectsImpossibleDates) {
  for (const char* text : {"2023-02-29", "2024-13-01", "2024-00-10", "2024-1-01", "20240101", "2024-01-32", ""}) {
    EXPECT_FALSE(ParseIsoDate(text).has_value()) << text;
  }
}

TEST(CivilTimeTest, ParsesTimestampsWithOffsets) {
  EXPECT_EQ(ParseIsoTimestamp("1970-01-01T00:00:01Z"), 1000000);
  EXPECT_EQ(ParseIsoTimestamp("1970-01-01 01:00:00+01:00"), 0);
  EXPECT_EQ(ParseIsoTimestamp("1970-01-01T00:00:00.5"), 500000);
  EXPECT_EQ(ParseIsoTimestamp("1970-01-02"), 86400000000LL);
  EXPECT_FALSE(ParseIsoTimestamp("1970-01-01T25:00").has_value());
  EXPECT_FALSE(ParseIsoTimestamp("1970-01-01T00:00:00+0100").has_value());
}

}  // namespace
}  // namespace dram::common
