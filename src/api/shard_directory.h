#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "database/snapshot.h"
#include "dram/status.h"

namespace dram::api {

// A ready copy of one shard somewhere in the cluster.
struct ShardReplica {
  std::string member;
  std::string api;       // HOST:PORT of the member's API port
  std::string zone;
  std::string snapshot;  // the snapshot it serves
  std::string previous;  // the one it replaced, still served to map steps pinned to it; or empty
  bool local = false;    // this member's own copy
};

// Restricts every shard's replicas to one data version (database::DataVersionOf), so that no
// answer mixes shards of different data while a refresh goes through the members: the version
// every shard has a copy of, as served or as just replaced (`previous`), preferring the one with
// the most copies serving it, then the first replica's. Each kept replica's `snapshot` becomes its
// id at that version. Keeps their order. Returns false, leaving the replicas as they are, when no
// version covers every shard (a copy restarted mid-refresh, or members that list local files
// differently): an answer from them would mix versions, so the coordinator refuses it (503) unless
// asked for a stale read.
bool PinOneDataVersion(std::vector<std::vector<ShardReplica>>& replicas);

// The data versions some ready copy has already replaced (its `previous`): a copy still serving
// one of them is behind.
std::set<std::string, std::less<>> SupersededVersions(const std::vector<std::vector<ShardReplica>>& replicas);

// One shard of an answer read with ?consistency=stale, as StaleMeta judges it.
struct AnsweredShard {
  int shard = 0;
  std::string_view snapshot;
  int64_t watermark_ms = 0;  // its snapshot's newest source file (0: unknown)
};
// The members of meta that say a stale read's answer is not what a consistent one would be:
// `,"stale":true,"stale_shards":[K,…],"stale_age_s":N` when its shards are at more than one data
// version or some is at a superseded one (listed in stale_shards; age: of the oldest data among
// the answered snapshots, as meta.freshness counts it, now − watermark). Empty otherwise.
std::string StaleMeta(const std::vector<AnsweredShard>& answered, const std::set<std::string, std::less<>>& superseded,
                      int64_t now_ms);

// "0, 2, 3": shard numbers as errors and meta list them (the coordinator's and the smart client's).
std::string ShardList(const std::vector<int>& shards);

// One shard's entry in meta.shards, appended to `out`: {"shard":K,"member":"…","snapshot":"…","ms":…}
// (ms: how long its map step, or its whole query on one shard, took where it was coordinated).
void AppendShardMeta(std::string& out, int shard, std::string_view member, std::string_view snapshot, double ms);

// Every shard's replicas as one request uses them.
struct PinnedShards {
  std::vector<std::vector<ShardReplica>> replicas;  // per shard
  bool one_version = true;                          // PinOneDataVersion's answer (false: not pinned)
  // ?consistency=stale: not pinned; each shard's nearest copy, whatever its version.
  bool stale = false;
  std::set<std::string, std::less<>> superseded;    // SupersededVersions, for StaleMeta
};

// A request's replicas: pinned to one data version (PinOneDataVersion), or for a stale read
// (?consistency=stale) left as they are, nearest first, with SupersededVersions for StaleMeta.
// The coordinator's and the smart client's.
PinnedShards PinForRequest(std::vector<std::vector<ShardReplica>> replicas, bool stale);
// Unavailable when a request needing `shards_needed` shards would add up two data versions (no
// common version, not a stale read); OK otherwise.
Status CheckOneVersion(const PinnedShards& pinned, std::string_view database, size_t shards_needed);

// What a coordinating member knows of a sharded database's shards: which members hold a ready
// copy of each, and its own copies. Implemented over the cluster's shard map (ServerImpl).
// Thread-safe.
class ShardDirectory {
 public:
  virtual ~ShardDirectory() = default;
  // Per shard in [0, shards): its ready replicas, this member's own first, then same zone.
  virtual std::vector<std::vector<ShardReplica>> Replicas(const std::string& database, int shards) const = 0;
  // This member's snapshot `snapshot` of a copy ("db~k"), serving or just replaced; null when it
  // holds no such snapshot.
  virtual std::shared_ptr<const database::Snapshot> LocalCopy(const std::string& copy, const std::string& snapshot) const = 0;
  // The secret members prove themselves to each other with (non-empty).
  virtual const std::string& secret() const = 0;
  // This member's zone (--zone; empty: none).
  virtual const std::string& zone() const = 0;
};

// How a route's database is split, when it is.
struct ShardedRoute {
  std::string database;
  int shards = 1;
  std::string shard_column;  // "" when split by file
};

}  // namespace dram::api
