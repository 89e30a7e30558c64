#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "database/dataset_spec.h"
#include "database/source_files.h"
#include "dram/status.h"

namespace dram::database {

// The shard, in [0, shards), that a database's file belongs to when it is sharded by file: a
// stable hash (common/stable_hash.h) of `path` modulo `shards`. Every member must pass the same form
// of the path (relative to the database's root), or they would disagree. shards <= 1: 0.
int ShardOfPath(std::string_view path, int shards);

// The local name of a member's copy of one shard: the database's own name when it is not sharded
// (so its endpoints serve it as they always did), "<database>~<shard>" otherwise (names are
// identifiers, so "~" never collides).
std::string CopyName(const std::string& database, int shard, int shards);

// The digest of a database's whole listing (every table's format and files: key or path, size,
// ETag or mtime) and of how it is split (shards, shard_by, global tables), taken before a copy
// narrows it to its shard: the data version every shard of the same data, split the same way,
// shares.
std::string WholeListingDigest(const DatasetSpec& spec, const std::vector<TableSources>& tables);

// A shard copy's snapshot id is "<data version>-<its own digest>" (SnapshotId): its data version,
// so that a query can take every shard at one version. Another id is its own version.
std::string_view DataVersionOf(std::string_view snapshot_id);

// The spec of the copy of `shard` of `database`.
DatasetSpec ShardCopySpec(const DatasetSpec& database, int shard);

// Checks a placement policy: shards >= 1, replicas >= 0, a column shard_by only on materialized
// databases, global tables not doubling as the shard column. InvalidArgument naming the field.
Status ValidatePlacement(const DatasetSpec& spec);

// Narrows listed sources to the copy's shard: sharded by file, a table keeps the files whose path
// hashes to it; sharded by a column, each table gets a row filter. Global tables stay whole. A
// table left with no file keeps one, filtered to no rows, so every shard has the same tables.
void NarrowToShard(const DatasetSpec& spec, std::vector<TableSources>& tables);

}  // namespace dram::database
