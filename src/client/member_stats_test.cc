#include "client/member_stats.h"

#include <gtest/gtest.h>

namespace dram::client {
namespace {

using std::chrono::microseconds;

TEST(MemberStatsTest, OutstandingCountsWhatIsRunning) {
  MemberStats stats;
  stats.Started("a");
  stats.Started("a");
  stats.Started("b");
  EXPECT_EQ(stats.Outstanding("a"), 2);
  stats.Finished("a", std::nullopt);
  EXPECT_EQ(stats.Outstanding("a"), 1);
  EXPECT_EQ(stats.Outstanding("b"), 1);
  EXPECT_EQ(stats.Outstanding("c"), 0);
}

TEST(MemberStatsTest, P95NeedsEnoughAnswersAndFollowsTheLastWindow) {
  MemberStats stats;
  for (int i = 1; i < static_cast<int>(MemberStats::kMinSamples); ++i) stats.Finished("a", microseconds(i));
  EXPECT_FALSE(stats.P95("a"));  // 19 answers: not yet
  stats.Finished("a", std::nullopt);  // a failure says nothing of its speed
  EXPECT_FALSE(stats.P95("a"));
  stats.Finished("a", microseconds(20));
  ASSERT_TRUE(stats.P95("a"));
  EXPECT_EQ(stats.P95("a")->count(), 19);  // 1..20: the 19th of 20 is the 95th percentile
  // 100 answers of 1..100 µs: only the last 64 (37..100) count; rank ceil(0.95 * 64) = 61 → 97.
  MemberStats many;
  for (int i = 1; i <= 100; ++i) many.Finished("m", microseconds(i));
  EXPECT_EQ(many.P95("m")->count(), 97);
  EXPECT_FALSE(many.P95("other"));
}

TEST(HedgeBudgetTest, AllowsAtMostItsShareOfRequestsSent) {
  HedgeBudget budget(0.05);
  EXPECT_FALSE(budget.TryTake());  // nothing sent yet
  int hedges = 0;
  for (int i = 0; i < 1000; ++i) {
    budget.Sent();
    if (budget.TryTake()) ++hedges;
  }
  EXPECT_EQ(hedges, 50);  // 5% of the 1000 first tries (hedges were not Sent() here)
  HedgeBudget two(0.05);
  for (int i = 0; i < 39; ++i) two.Sent();
  EXPECT_FALSE(two.TryTake(2));  // 2 > 1.95
  two.Sent();
  EXPECT_TRUE(two.TryTake(2));
  HedgeBudget none(0);
  none.Sent();
  EXPECT_FALSE(none.TryTake());
}

}  // namespace
}  // namespace dram::client
