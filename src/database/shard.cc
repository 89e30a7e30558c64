#include "database/shard.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>

#include "common/hash.h"
#include "common/sql_text.h"
#include "common/stable_hash.h"

namespace dram::database {

namespace {
constexpr std::string_view kPathTag = "dram.shard.path";
}  // namespace

int ShardOfPath(std::string_view path, int shards) {
  if (shards <= 1) return 0;
  const uint64_t h = common::StableHash().AddBytes(kPathTag).AddBytes(path).Finish();
  return static_cast<int>(h % static_cast<uint64_t>(shards));
}

std::string CopyName(const std::string& database, int shard, int shards) {
  return shards > 1 ? database + "~" + std::to_string(shard) : database;
}

DatasetSpec ShardCopySpec(const DatasetSpec& database, int shard) {
  DatasetSpec copy = database;
  copy.name = CopyName(database.name, shard, database.placement.shards);
  copy.shard = database.placement.shards > 1 ? shard : -1;
  copy.copy_of = database.name;
  return copy;
}

Status ValidatePlacement(const DatasetSpec& spec) {
  const PlacementSpec& placement = spec.placement;
  if (placement.shards < 1 || placement.shards > 4096) return InvalidArgument("'shards' must be between 1 and 4096", spec.name);
  if (placement.replicas < 0 || placement.replicas > 1024) {
    return InvalidArgument("'replicas' must be a count from 1 to 1024, or all", spec.name);
  }
  // A lazy copy's views read whole files: the row filter a shard needs is not applied there yet.
  if (placement.shards > 1 && spec.lazy) return InvalidArgument("a lazy database cannot be sharded (yet): drop 'lazy' or 'shards'", spec.name);
  if (placement.shards > 1 && spec.tables.size() == 1 && spec.source.empty() && spec.tables.front().format == FileFormat::kDuckdb) {
    return InvalidArgument("a database served as one DuckDB file cannot be sharded", spec.name);
  }
  return Status::Ok();
}

namespace {

// The path a file is sharded by: below its table, so every member (and a moved bucket) agrees.
std::string ShardingPath(const TableSources& table, const SourceFile& file) {
  if (!file.relative.empty()) return table.spec.name + "/" + file.relative;
  return table.spec.name + "/" + std::filesystem::path(file.local_path).filename().string();
}

}  // namespace

std::string WholeListingDigest(const DatasetSpec& spec, const std::vector<TableSources>& tables) {
  common::Fnv1a64 hash;
  // Split another way, the same files are other data per shard.
  hash.Add(int64_t{spec.placement.shards}).Add(spec.placement.shard_by);
  for (const auto& global : spec.placement.global_tables) hash.Add(global);
  for (const auto& table : tables) {
    hash.Add(table.spec.name).Add(static_cast<int64_t>(table.format));
    for (const auto& file : table.files) {
      if (file.key.empty()) {
        hash.Add(file.local_path).Add(file.size).Add(file.mtime_ms);
      } else {
        hash.Add(file.key).Add(file.size).Add(file.etag);
      }
    }
  }
  return hash.hex();
}

std::string_view DataVersionOf(std::string_view snapshot_id) {
  const size_t dash = snapshot_id.find('-');
  return dash == std::string_view::npos ? snapshot_id : snapshot_id.substr(0, dash);
}

void NarrowToShard(const DatasetSpec& spec, std::vector<TableSources>& tables) {
  const PlacementSpec& placement = spec.placement;
  if (spec.shard < 0 || placement.shards <= 1) return;
  for (auto& table : tables) {
    const auto& global = placement.global_tables;
    if (std::find(global.begin(), global.end(), table.spec.name) != global.end()) continue;
    if (!placement.by_file()) {
      // DuckDB's hash() of the column: the same in every member running this DuckDB version.
      table.row_filter = "hash(" + common::QuoteIdentifier(placement.shard_by) + ") % " + std::to_string(placement.shards) +
                         " = " + std::to_string(spec.shard);
      continue;
    }
    std::vector<SourceFile> kept;
    for (auto& file : table.files) {
      if (ShardOfPath(ShardingPath(table, file), placement.shards) == spec.shard) kept.push_back(std::move(file));
    }
    if (kept.empty() && !table.files.empty()) {
      // Sorted listing: every member keeps the same file, read for its schema only.
      kept.push_back(std::move(table.files.front()));
      table.row_filter = "false";
    }
    table.files = std::move(kept);
  }
}

}  // namespace dram::database
