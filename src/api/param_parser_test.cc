#include "api/param_parser.h"

#include <gtest/gtest.h>

namespace dram::api {
namespace {

ParamSpec Param(ParamType type, bool is_list = false) {
  ParamSpec param;
  param.name = "p";
  param.type = type;
  param.is_list = is_list;
  return param;
}

TEST(ParamParserTest, ParsesEachType) {
  struct Case {
    ParamType type;
    std::string text;
    Value expected;
  };
  const Case cases[] = {
      {ParamType::kString, "héllo, world", Value("héllo, world")},
      {ParamType::kInteger, "-42", Value(int64_t{-42})},
      {ParamType::kNumber, "2.5e3", Value(2500.0)},
      {ParamType::kBoolean, "true", Value(true)},
      {ParamType::kBoolean, "0", Value(false)},
      {ParamType::kDate, "2024-02-29", Value(Date{19782})},
      {ParamType::kTimestamp, "2024-02-29T12:00:00Z", Value(Timestamp{1709208000000000LL})},
  };
  for (const Case& c : cases) {
    std::vector<std::string> texts = {c.text};
    auto value = ParseParamValues(Param(c.type), texts);
    ASSERT_TRUE(value.ok()) << c.text << ": " << value.status().message();
    EXPECT_EQ(*value, c.expected) << c.text;
  }
}

TEST(ParamParserTest, RejectsMalformedValuesWithoutEchoingThem) {
  struct Case {
    ParamType type;
    std::string text;
  };
  const Case cases[] = {{ParamType::kInteger, "12abc"}, {ParamType::kInteger, "99999999999999999999"},
                        {ParamType::kInteger, ""},      {ParamType::kNumber, "nan"},
                        {ParamType::kNumber, "1e999"},  {ParamType::kBoolean, "yes"},
                        {ParamType::kDate, "2024-13-01"}, {ParamType::kTimestamp, "yesterday"}};
  for (const Case& c : cases) {
    std::vector<std::string> texts = {c.text};
    auto value = ParseParamValues(Param(c.type), texts);
    ASSERT_FALSE(value.ok()) << c.text;
    EXPECT_EQ(value.status().code(), StatusCode::kInvalidArgument);
    if (!c.text.empty()) {
      EXPECT_EQ(value.status().message().find(c.text), std::string::npos);
    }
  }
}

TEST(ParamParserTest, ListsFromCommasAndRepeatsWithLimits) {
  ParamSpec param = Param(ParamType::kInteger, true);
  param.max_items = 4;
  std::vector<std::string> texts = {"1,2", "3"};
  auto value = ParseParamValues(param, texts);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, Value(Value::List{Value(int64_t{1}), Value(int64_t{2}), Value(int64_t{3})}));
  texts = {"1,2,3,4,5"};
  EXPECT_EQ(ParseParamValues(param, texts).status().message(), "parameter 'p' takes at most 4 values");
  texts = {"1,,2"};
  EXPECT_FALSE(ParseParamValues(param, texts).ok());
}

TEST(ParamParserTest, EnumsAliasesBoundsAndLength) {
  ParamSpec color = Param(ParamType::kEnum);
  color.enum_values = {"red", "green"};
  color.value_aliases = {{"r", "red"}};
  std::vector<std::string> texts = {"r"};
  EXPECT_EQ(*ParseParamValues(color, texts), Value("red"));
  texts = {"blue"};
  EXPECT_EQ(ParseParamValues(color, texts).status().message(), "parameter 'p' must be one of: red, green");
  ParamSpec bounded = Param(ParamType::kInteger);
  bounded.min = 1;
  bounded.max = 10;
  texts = {"11"};
  EXPECT_EQ(ParseParamValues(bounded, texts).status().message(), "parameter 'p' must be at most 10");
  ParamSpec text = Param(ParamType::kString);
  text.max_length = 3;
  texts = {"abcd"};
  EXPECT_FALSE(ParseParamValues(text, texts).ok());
}

TEST(ParamParserTest, ListsRefuseEmptyItems) {
  for (const char* text : {"", ",", "a,,b", "a,"}) {
    auto parsed = ParseParamValues(Param(ParamType::kString, true), std::vector<std::string>{text});
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  }
  auto parsed = ParseParamValues(Param(ParamType::kString, true), std::vector<std::string>{"a,b"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->as<Value::List>().size(), 2u);
}

}  // namespace
}  // namespace dram::api
