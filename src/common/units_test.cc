#include "common/units.h"

#include <gtest/gtest.h>

namespace dram::common {
namespace {

TEST(UnitsTest, DurationsReadOneWayEverywhere) {
  EXPECT_EQ(ParseDurationMs("500ms"), 500);
  EXPECT_EQ(ParseDurationMs("30s"), 30'000);
  EXPECT_EQ(ParseDurationMs("5m"), 300'000);
  EXPECT_EQ(ParseDurationMs("2h"), 7'200'000);
  EXPECT_EQ(ParseDurationMs("1d"), 86'400'000);
  EXPECT_EQ(ParseDurationMs("45"), 45'000);  // bare: seconds
  EXPECT_EQ(ParseDurationMs("10 s"), 10'000);
  for (const char* bad : {"", "1.5h", "-1s", "5 minutes", "h", "3w", "99999999999999999999s"}) {
    EXPECT_FALSE(ParseDurationMs(bad).has_value()) << bad;
  }
}

TEST(UnitsTest, SizesAreBinaryInEveryPlace) {
  EXPECT_EQ(ParseBytes("1048576"), 1048576);
  EXPECT_EQ(ParseBytes("64KB"), 64 * 1024);
  EXPECT_EQ(ParseBytes("64KiB"), 64 * 1024);
  EXPECT_EQ(ParseBytes("256MB"), 256LL << 20);
  EXPECT_EQ(ParseBytes("2GiB"), 2LL << 30);
  EXPECT_EQ(ParseBytes("1TB"), 1LL << 40);
  for (const char* bad : {"", "1.5GB", "-1", "2gb", "GB", "9999999TB"}) EXPECT_FALSE(ParseBytes(bad).has_value()) << bad;
}

}  // namespace
}  // namespace dram::common
