#pragma once

#include <memory>
#include <string>
#include <vector>

#include "database/snapshot.h"

namespace dram::api {

// A ready copy of one shard somewhere in the cluster.
struct ShardReplica {
  std::string member;
  std::string api;       // HOST:PORT of the member's API port
  std::string zone;
  std::string snapshot;  // the snapshot it serves
  bool local = false;    // this member's own copy
};

// What a coordinating member knows of a sharded database's shards: which members hold a ready
// copy of each, and its own copies. Implemented over the cluster's shard map (ServerImpl).
// Thread-safe.
class ShardDirectory {
 public:
  virtual ~ShardDirectory() = default;
  // Per shard in [0, shards): its ready replicas, this member's own first, then same zone.
  virtual std::vector<std::vector<ShardReplica>> Replicas(const std::string& database, int shards) const = 0;
  // This member's current snapshot of a copy ("db~k"); null when it holds none.
  virtual std::shared_ptr<const database::Snapshot> LocalCopy(const std::string& copy) const = 0;
  // The secret members prove themselves to each other with (non-empty).
  virtual const std::string& secret() const = 0;
};

// How a route's database is split, when it is.
struct ShardedRoute {
  std::string database;
  int shards = 1;
  std::string shard_column;  // "" when split by file
};

}  // namespace dram::api
