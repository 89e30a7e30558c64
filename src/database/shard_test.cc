#include "database/shard.h"

#include <gtest/gtest.h>

#include <string>

namespace dram::database {
namespace {

TEST(ShardOfPathTest, IsPinnedAndSpreadsFiles) {
  EXPECT_EQ(ShardOfPath("a.parquet", 8), 5);
  EXPECT_EQ(ShardOfPath("a.parquet", 64), 29);
  EXPECT_EQ(ShardOfPath("year=2024/part-0001.parquet", 8), 7);
  EXPECT_EQ(ShardOfPath("x/y/z.csv", 64), 13);
  EXPECT_EQ(ShardOfPath("anything", 1), 0);

  constexpr int kPaths = 10'000;
  constexpr int kSplit = 8;
  int counts[kSplit] = {};
  for (int i = 0; i < kPaths; ++i) {
    const std::string path = "events/day=" + std::to_string(i / 100) + "/part-" + std::to_string(i) + ".parquet";
    const int shard = ShardOfPath(path, kSplit);
    ASSERT_GE(shard, 0);
    ASSERT_LT(shard, kSplit);
    ++counts[shard];
  }
  for (int shard = 0; shard < kSplit; ++shard) {
    EXPECT_NEAR(counts[shard], kPaths / kSplit, 0.05 * kPaths / kSplit) << "shard " << shard;
  }
}

}  // namespace
}  // namespace dram::database
