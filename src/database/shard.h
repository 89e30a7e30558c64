#pragma once

#include <string_view>

namespace dram::database {

// The shard, in [0, shards), that a database's file belongs to when it is sharded by file: a
// stable hash (common/stable_hash.h) of `path` modulo `shards`. Every member must pass the same form
// of the path (relative to the database's root), or they would disagree. shards <= 1: 0.
int ShardOfPath(std::string_view path, int shards);

}  // namespace dram::database
