#include "cli/response_diff.h"

#include <gtest/gtest.h>

namespace dram::cli {
namespace {

constexpr const char* kLive =
    R"({"data":[{"id":1,"region":"north","revenue":10.5},{"id":2,"region":"south","revenue":20}],)"
    R"("meta":{"request_id":"a","row_count":2}})";

TEST(ResponseDiffTest, ComparesDataNotMetaAndIgnoresRowAndFieldOrder) {
  const char* candidate =
      R"({"meta":{"request_id":"b","row_count":2},"data":[{"region":"south","id":2,"revenue":20.0},)"
      R"({"id":1,"revenue":10.5,"region":"north"}]})";
  EXPECT_FALSE(CompareBodies(kLive, candidate, {}).has_value());

  CompareOptions ordered;
  ordered.ordered = true;
  std::optional<Difference> difference = CompareBodies(kLive, candidate, ordered);
  ASSERT_TRUE(difference.has_value());
  EXPECT_EQ(difference->where, "data[0].id");
  EXPECT_EQ(difference->live, "1");
  EXPECT_EQ(difference->candidate, "2");
}

TEST(ResponseDiffTest, ReportsTheChangedFieldOfAnUnorderedRow) {
  const char* candidate =
      R"({"data":[{"id":2,"region":"south","revenue":20},{"id":1,"region":"north","revenue":11.5}],"meta":{}})";
  std::optional<Difference> difference = CompareBodies(kLive, candidate, {});
  ASSERT_TRUE(difference.has_value());
  EXPECT_EQ(difference->where, "data[0].revenue");
  EXPECT_EQ(difference->live, "10.5");
  EXPECT_EQ(difference->candidate, "11.5");
}

TEST(ResponseDiffTest, NumbersWithinTheTolerance) {
  const char* candidate = R"({"data":[{"id":1,"region":"north","revenue":10.5000001},{"id":2,"region":"south","revenue":20}]})";
  EXPECT_TRUE(CompareBodies(kLive, candidate, {}).has_value());
  CompareOptions loose;
  loose.tolerance = 1e-6;
  EXPECT_FALSE(CompareBodies(kLive, candidate, loose).has_value());
  // Integers stay exact beyond double precision.
  EXPECT_TRUE(CompareBodies("[9007199254740993]", "[9007199254740992]", loose).has_value());
  EXPECT_FALSE(CompareBodies("[3]", "[3.0]", {}).has_value());
}

TEST(ResponseDiffTest, IgnoresAndRenamesFields) {
  const char* candidate =
      R"({"data":[{"id":1,"area":"north","revenue":10.5,"loaded_at":"x"},{"id":2,"area":"south","revenue":20,"loaded_at":"y"}]})";
  std::optional<Difference> difference = CompareBodies(kLive, candidate, {});
  ASSERT_TRUE(difference.has_value());
  CompareOptions options;
  options.renames["region"] = "area";
  options.ignore.insert("loaded_at");
  EXPECT_FALSE(CompareBodies(kLive, candidate, options).has_value());
}

TEST(ResponseDiffTest, RowCountsShapesAndNonJsonBodies) {
  std::optional<Difference> difference = CompareBodies(kLive, R"({"data":[{"id":1,"region":"north","revenue":10.5}]})", {});
  ASSERT_TRUE(difference.has_value());
  EXPECT_EQ(difference->where, "data (rows)");
  EXPECT_EQ(difference->live, "2 rows");
  EXPECT_EQ(difference->candidate, "1 rows");
  // A bare array (an old API) against a dram envelope: the payloads are compared.
  EXPECT_FALSE(CompareBodies(R"([{"id":2,"region":"south","revenue":20},{"id":1,"region":"north","revenue":10.5}])", kLive, {})
                   .has_value());
  // A whole object without `data`: everything but a top-level meta.
  EXPECT_FALSE(CompareBodies(R"({"total":5,"meta":{"x":1}})", R"({"total":5})", {}).has_value());
  difference = CompareBodies(R"({"total":5,"by":{"a":1}})", R"({"total":5,"by":{"a":2}})", {});
  ASSERT_TRUE(difference.has_value());
  EXPECT_EQ(difference->where, "body.by.a");
  EXPECT_FALSE(CompareBodies("id,x\n1,2\n", "id,x\n1,2\n", {}).has_value());
  difference = CompareBodies("id,x\n1,2\n", "id,x\n1,3\n", {});
  ASSERT_TRUE(difference.has_value());
  EXPECT_EQ(difference->where, "body");
}

TEST(ResponseDiffTest, DuplicateRowsCountAsAMultiset) {
  EXPECT_TRUE(CompareBodies(R"({"data":[{"a":1},{"a":1},{"a":2}]})", R"({"data":[{"a":1},{"a":2},{"a":2}]})", {}).has_value());
  EXPECT_FALSE(CompareBodies(R"({"data":[{"a":1},{"a":2},{"a":1}]})", R"({"data":[{"a":1},{"a":1},{"a":2}]})", {}).has_value());
  // Nested lists inside a row keep their order.
  std::optional<Difference> difference =
      CompareBodies(R"({"data":[{"tags":["a","b"],"x":0.25}]})", R"({"data":[{"tags":["b","a"],"x":0.25}]})", {});
  ASSERT_TRUE(difference.has_value());
  EXPECT_EQ(difference->where, "data[0].tags[0]");
  // A row that has no counterpart is shown whole.
  difference = CompareBodies(R"([{"a":1,"b":0.5}])", R"([7])", {});
  ASSERT_TRUE(difference.has_value());
  EXPECT_EQ(difference->live, R"({"a":1,"b":0.5})");
}

}  // namespace
}  // namespace dram::cli
