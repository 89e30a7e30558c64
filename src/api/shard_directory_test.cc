#include "api/shard_directory.h"

#include <gtest/gtest.h>

#include "api/shard_coordinator.h"

namespace dram::api {
namespace {

ShardReplica Copy(std::string member, std::string snapshot, std::string previous = "") {
  return ShardReplica{.member = std::move(member), .api = "h:1", .snapshot = std::move(snapshot), .previous = std::move(previous)};
}

std::vector<std::string> Snapshots(const std::vector<ShardReplica>& replicas) {
  std::vector<std::string> out;
  for (const auto& replica : replicas) out.push_back(replica.member + "@" + replica.snapshot);
  return out;
}

TEST(PinOneDataVersionTest, EveryShardIsTakenAtOneVersionWhileARefreshGoesThrough) {
  // Shard 0 is on v2 at member a (v1 kept as previous) and v1 at b; shard 1 still on v1 at both.
  std::vector<std::vector<ShardReplica>> replicas = {
      {Copy("a", "v2-s0", "v1-s0"), Copy("b", "v1-s0")},
      {Copy("a", "v1-s1"), Copy("c", "v1-s1")},
  };
  PinOneDataVersion(replicas);
  EXPECT_EQ(Snapshots(replicas[0]), (std::vector<std::string>{"a@v1-s0", "b@v1-s0"}));  // a serves its previous
  EXPECT_EQ(Snapshots(replicas[1]), (std::vector<std::string>{"a@v1-s1", "c@v1-s1"}));

  // Once every shard has a copy serving v2, v2 it is (more copies serve it than keep v1).
  replicas = {
      {Copy("a", "v2-s0", "v1-s0"), Copy("b", "v2-s0", "v1-s0")},
      {Copy("a", "v2-s1", "v1-s1"), Copy("c", "v1-s1")},
  };
  PinOneDataVersion(replicas);
  EXPECT_EQ(Snapshots(replicas[0]), (std::vector<std::string>{"a@v2-s0", "b@v2-s0"}));
  EXPECT_EQ(Snapshots(replicas[1]), (std::vector<std::string>{"a@v2-s1"}));
}

TEST(PinOneDataVersionTest, WithoutACommonVersionTheReplicasStayAsTheyAre) {
  std::vector<std::vector<ShardReplica>> replicas = {{Copy("a", "v2-s0")}, {Copy("b", "v1-s1")}};
  PinOneDataVersion(replicas);
  EXPECT_EQ(Snapshots(replicas[0]), (std::vector<std::string>{"a@v2-s0"}));
  EXPECT_EQ(Snapshots(replicas[1]), (std::vector<std::string>{"b@v1-s1"}));
  // A shard with no copy at all: nothing to choose.
  replicas = {{Copy("a", "v2-s0")}, {}};
  PinOneDataVersion(replicas);
  EXPECT_EQ(replicas[0].size(), 1u);
}

TEST(StaleMetaTest, AStaleReadSaysWhichShardsAreBehindAndHowOldItsDataIs) {
  // Shard 0 moved to v2 at member a (v1 its previous); b still serves v1 of shard 0, shard 1 is on v1.
  const std::vector<std::vector<ShardReplica>> replicas = {
      {Copy("a", "v2-s0", "v1-s0"), Copy("b", "v1-s0")},
      {Copy("b", "v1-s1")},
  };
  const auto superseded = SupersededVersions(replicas);
  EXPECT_EQ(superseded, (std::set<std::string, std::less<>>{"v1"}));
  constexpr int64_t kNow = 1'000'000'000;
  // Every shard at v2: nothing to say.
  EXPECT_EQ(StaleMeta({{0, "v2-s0", kNow - 5'000}, {1, "v2-s1", kNow - 9'000}}, superseded, kNow), "");
  // Shard 1 at v1, which a copy has replaced: stale, and the oldest data is 9 s old.
  EXPECT_EQ(StaleMeta({{0, "v2-s0", kNow - 5'000}, {1, "v1-s1", kNow - 9'000}}, superseded, kNow),
            ",\"stale\":true,\"stale_shards\":[1],\"stale_age_s\":9");
  // Every shard at v1 (one version, but a replaced one): stale too.
  EXPECT_EQ(StaleMeta({{0, "v1-s0", 0}, {1, "v1-s1", 0}}, superseded, kNow), ",\"stale\":true,\"stale_shards\":[0, 1]");
  // Two versions and neither known to be replaced (a copy that restarted lost its previous): still stale.
  EXPECT_EQ(StaleMeta({{0, "v3-s0", kNow}, {1, "v4-s1", kNow}}, {}, kNow), ",\"stale\":true,\"stale_shards\":[],\"stale_age_s\":0");
}

// A shard map held in memory, for the coordinator's choices before any member is asked.
class FixedDirectory : public ShardDirectory {
 public:
  explicit FixedDirectory(std::vector<std::vector<ShardReplica>> replicas) : replicas_(std::move(replicas)) {}
  std::vector<std::vector<ShardReplica>> Replicas(const std::string&, int) const override { return replicas_; }
  std::shared_ptr<const database::Snapshot> LocalCopy(const std::string&, const std::string&) const override { return nullptr; }
  const std::string& secret() const override { return secret_; }
  const std::string& zone() const override { return zone_; }

 private:
  std::vector<std::vector<ShardReplica>> replicas_;
  std::string secret_ = "s";
  std::string zone_;
};

TEST(ShardCoordinatorTest, ShardsWithNoCommonDataVersionAreRefusedUnlessTheRequestAcceptsAStaleRead) {
  // Shard 0 only at v2, shard 1 only at v1 (a copy restarted mid-refresh and lost its previous).
  // Their members are not there (port 1): whatever reaches them fails to connect.
  ShardReplica a = Copy("a", "v2-s0"), b = Copy("b", "v1-s1");
  a.api = b.api = "127.0.0.1:1";
  FixedDirectory directory({{a}, {b}});
  auto reducer = ShardReducer::Create(1);
  ASSERT_TRUE(reducer.ok());
  ShardCoordinator coordinator(directory, std::move(reducer).value());
  const ShardedRoute route{.database = "orders", .shards = 2};
  ShardPlan plan;
  plan.map.sql = "SELECT 1 AS n";
  plan.reduce_sql = "SELECT sum(n) AS n FROM partials LIMIT $1 OFFSET $2";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);

  const PinnedShards pinned = coordinator.PinnedReplicas(route);
  EXPECT_FALSE(pinned.one_version);
  auto refused = coordinator.RunPlan(route, plan, {.shards = {0, 1}}, pinned, engine::Format::kJson, deadline);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("no data version in common"), std::string::npos) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("consistency=stale"), std::string::npos);

  // One shard cannot mix versions: it is asked (and its member, absent, fails).
  auto one = coordinator.RunPlan(route, plan, {.shards = {1}}, pinned, engine::Format::kJson, deadline);
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.status().message().find("no data version in common"), std::string::npos) << one.status().ToString();
  EXPECT_NE(one.status().message().find("member b"), std::string::npos) << one.status().ToString();

  // A stale read asks both shards' members.
  const PinnedShards stale = coordinator.PinnedReplicas(route, /*stale=*/true);
  EXPECT_TRUE(stale.stale);
  EXPECT_EQ(stale.replicas[0].front().snapshot, "v2-s0");
  EXPECT_EQ(stale.replicas[1].front().snapshot, "v1-s1");
  auto asked = coordinator.RunPlan(route, plan, {.shards = {0, 1}}, stale, engine::Format::kJson, deadline);
  ASSERT_FALSE(asked.ok());
  EXPECT_EQ(asked.status().message().find("no data version in common"), std::string::npos) << asked.status().ToString();
  EXPECT_NE(asked.status().message().find("no ready copy"), std::string::npos) << asked.status().ToString();
}

}  // namespace
}  // namespace dram::api
