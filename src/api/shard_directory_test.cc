#include "api/shard_directory.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace dram::api
