#include "cli/access_log.h"

#include <gtest/gtest.h>

namespace dram::cli {
namespace {

TEST(AccessLogTest, ParsesEveryLineFormat) {
  struct Case {
    const char* line;
    const char* target;  // nullptr: not replayed
  };
  const Case cases[] = {
      {"/v1/sales?region=north&limit=5", "/v1/sales?region=north&limit=5"},
      {"  /v1/sales  \r", "/v1/sales"},
      {"GET /v1/sales?x=1", "/v1/sales?x=1"},
      {"http://127.0.0.1:8080/v1/sales?x=1", "/v1/sales?x=1"},
      {"https://api.example.com", "/"},
      {R"(10.0.0.1 - - [10/Oct/2024:13:55:36 +0000] "GET /v1/sales?region=n HTTP/1.1" 200 512 "-" "curl/8.0")",
       "/v1/sales?region=n"},
      {R"(10.0.0.1 - alice [10/Oct/2024:13:55:36 +0000] "GET http://host/v1/x HTTP/1.0" 200 5)", "/v1/x"},
      {R"(10.0.0.1 - - [10/Oct/2024:13:55:36 +0000] "POST /v1/sales HTTP/1.1" 201 12 "-" "-")", nullptr},
      {R"(10.0.0.1 - - [10/Oct/2024:13:55:36 +0000] "-" 400 0 "-" "-")", nullptr},
      {R"(10.0.0.1 - - [10/Oct/2024:13:55:36 +0000] "GET /v1/unterminated)", nullptr},
      {"", nullptr},
      {"   ", nullptr},
      {"# a comment", nullptr},
      {"sales?x=1", nullptr},
  };
  for (const Case& c : cases) {
    std::optional<std::string> target = ParseRequestLine(c.line);
    if (c.target == nullptr) {
      EXPECT_FALSE(target.has_value()) << c.line << " → " << target.value_or("");
    } else {
      EXPECT_EQ(target.value_or("(none)"), c.target) << c.line;
    }
  }
}

TEST(AccessLogTest, ReadsAFileOfMixedLinesUpToTheLimit) {
  std::string file =
      "# recorded 2024-10-10\n/v1/a?x=1\n\n"
      R"(1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET /v1/b HTTP/1.1" 200 5 "-" "-")"
      "\n/v1/c";
  EXPECT_EQ(ParseRequestFile(file, 0), (std::vector<std::string>{"/v1/a?x=1", "/v1/b", "/v1/c"}));
  EXPECT_EQ(ParseRequestFile(file, 2), (std::vector<std::string>{"/v1/a?x=1", "/v1/b"}));
}

TEST(AccessLogTest, EndpointAndOrderOfATarget) {
  EXPECT_EQ(PathOf("/v1/sales?region=n"), "/v1/sales");
  EXPECT_EQ(PathOf("/v1/sales"), "/v1/sales");
  EXPECT_TRUE(QueryHasOrder("/v1/sales?region=n&sort=revenue"));
  EXPECT_TRUE(QueryHasOrder("/v1/sales?order_by=id"));
  EXPECT_FALSE(QueryHasOrder("/v1/sales?region=n&resort=1"));
  EXPECT_FALSE(QueryHasOrder("/v1/sort"));
}

}  // namespace
}  // namespace dram::cli
