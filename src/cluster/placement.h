#pragma once

#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dram/status.h"

namespace dram::cluster {

// How many copies of each shard a database wants: a count, or one on every eligible member (small
// tables that every query joins against). A value type.
class Replicas {
 public:
  static constexpr Replicas Count(int count) { return Replicas(false, count); }
  static constexpr Replicas All() { return Replicas(true, 0); }

  constexpr bool all() const { return all_; }
  // The wanted count; 0 when all().
  constexpr int count() const { return count_; }
  friend constexpr bool operator==(const Replicas&, const Replicas&) = default;

 private:
  constexpr Replicas(bool all, int count) : all_(all), count_(count) {}

  bool all_;
  int count_;
};

// Limits on the inputs: no product of them overflows int64 (the total load is checked separately).
constexpr int kMaxShards = 1 << 16;
constexpr int kMaxReplicas = 1 << 10;
constexpr int64_t kMaxBytesPerShard = int64_t{1} << 40;
constexpr double kMinWeight = 1e-9;
constexpr double kMaxWeight = 1e15;

// No member is given a copy of an N-replica shard while its load is at or above this many times its
// fair share (see MemberLoad), unless every other member is too or zone spread needs it. Free once
// members hold a few dozen copies each (it never binds); below that it keeps the worst load near
// 1.25x its share instead of 2x, and pays with movement: a join or leave also moves copies between
// members that stayed, up to ~3x the ideal at 3 copies per member (figures in placement.cc).
constexpr double kLoadCapFactor = 1.25;

// Settings of the placement function. Every member must use the same ones (they belong in the
// cluster's shared configuration, not in one member's flags), or members will disagree.
struct PlacementOptions {
  // >= 1; +infinity turns the cap off (pure rendezvous with zone spread).
  double load_cap_factor = kLoadCapFactor;
};

// What the catalog says about one database, as placement needs it.
struct DatabasePolicy {
  std::string name;
  Replicas replicas = Replicas::Count(1);
  int shards = 1;               // in [1, kMaxShards]
  int64_t bytes_per_shard = 1;  // load of one copy of one shard, in [1, kMaxBytesPerShard]; any unit
};

// One live member of the cluster, as registered in etcd.
struct Member {
  std::string id;
  std::string zone;       // failure domain; members with no zone ("") count as one zone together
  double weight = 1.0;    // relative capacity, in [kMinWeight, kMaxWeight]
  bool draining = false;  // leaving: gets nothing in the desired map (its copies stay until others are ready)
};

struct ShardId {
  std::string database;
  int shard = 0;
  friend auto operator<=>(const ShardId&, const ShardId&) = default;
};

// The members that should hold one shard, best first. Fewer than wanted when too few members are
// eligible (see UnderReplicated).
struct ShardPlacement {
  ShardId id;
  std::vector<std::string> members;
  friend bool operator==(const ShardPlacement&, const ShardPlacement&) = default;
};

// A shard that got fewer copies than it wants. For an "all" database, only a shard that no member
// can hold (wanted 1, got 0).
struct UnderReplicated {
  ShardId id;
  int wanted = 0;
  int got = 0;
  friend bool operator==(const UnderReplicated&, const UnderReplicated&) = default;
};

// The load placement gave one eligible member, and the share it measured it against. The fair share
// is the member's weight-proportional part of the total load (bytes_per_shard summed over every
// copy, "all" databases included), but never less than the "all" copies every member holds anyway
// and never more than one copy of every shard (a member can't hold two copies of one shard); the
// surplus of a member at either bound is spread over the others by weight. Zones are not accounted
// for: with zones of unequal size and N >= the number of zones, every zone holds a copy of every
// shard, so members of a smaller zone run over their share, and the cap can't help (zone spread wins).
struct MemberLoad {
  std::string member;
  int64_t bytes = 0;  // sum of bytes_per_shard over its copies
  int copies = 0;
  double fair_share = 0;
  double cap = 0;  // load_cap_factor * fair_share
  friend bool operator==(const MemberLoad&, const MemberLoad&) = default;
};

// Which members should hold which shard of which database: the result of ComputePlacement, or any
// map built from its parts (such as what members report they hold). An immutable value; safe to
// share between threads.
class ShardMap {
 public:
  ShardMap() = default;
  // Sorts `shards` and `under_replicated` by id and `loads` by member.
  ShardMap(std::vector<ShardPlacement> shards, std::vector<UnderReplicated> under_replicated,
           std::vector<MemberLoad> loads, int64_t copies_moved_by_cap);

  // Every shard of every database, sorted by (database, shard): the one iteration order.
  const std::vector<ShardPlacement>& shards() const { return shards_; }
  // The members of one shard, best first; empty if the map has no such shard. Valid while the map is.
  std::span<const std::string> MembersOf(const ShardId& id) const;
  // The shards one member should hold, sorted; empty for a member the map doesn't name.
  std::vector<ShardId> AssignmentsOf(std::string_view member) const;
  // Sorted by id.
  const std::vector<UnderReplicated>& under_replicated() const { return under_replicated_; }
  // One entry per eligible (live, not draining) member, sorted by member id.
  const std::vector<MemberLoad>& loads() const { return loads_; }
  // Copies of N-replica shards that the load cap sent away from the member rendezvous hashing (with
  // zone spread) ranked first: the balance the cap bought, paid for in movement, since each of them
  // may move again when loads change.
  int64_t copies_moved_by_cap() const { return copies_moved_by_cap_; }

  friend bool operator==(const ShardMap&, const ShardMap&) = default;

 private:
  std::vector<ShardPlacement> shards_;
  std::vector<UnderReplicated> under_replicated_;
  std::vector<MemberLoad> loads_;
  int64_t copies_moved_by_cap_ = 0;
};

// Checks one policy against the limits above, so the catalog can refuse it when it is added.
// InvalidArgument naming the database for an empty name, shards outside [1, kMaxShards], a count
// outside [1, kMaxReplicas] or bytes_per_shard outside [1, kMaxBytesPerShard].
Status ValidateDatabasePolicy(const DatabasePolicy& policy);

// Computes which members should hold each shard of each database, with no leader: the result depends
// only on the values given (not their order, the platform or the build), so every member that sees
// the same catalog and membership computes the same map.
//
// Each shard's members are ranked by weighted rendezvous hashing (Ceph's straw2): a member of weight
// w wins a shard's first copy with probability w / (sum of weights), and a member joining or leaving
// moves only the copies it takes or held (exactly so while the load cap doesn't bind). Copies are
// then taken one per zone first (zones ordered by their best member), then by rank; N-replica shards
// skip members at their load cap (load_cap_factor), which zone spread overrides. Draining members
// get nothing. An "all" database gets a copy on every eligible member and counts as load, but
// ignores the cap.
//
// InvalidArgument for a policy ValidateDatabasePolicy refuses, a duplicate database name or member
// id, an empty member id, a weight outside [kMinWeight, kMaxWeight], a total load past 2^62 or a
// load_cap_factor below 1.
Result<ShardMap> ComputePlacement(std::span<const DatabasePolicy> databases, std::span<const Member> members,
                                  const PlacementOptions& options = {});


}  // namespace dram::cluster
