#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

namespace dram::database {

// kDuckdb: a database directory holding one DuckDB file, served as it is (its tables are the
// file's tables; nothing is materialized).
enum class FileFormat { kAuto, kParquet, kCsv, kDuckdb };

// One table of a dataset: the files it is read from and how to lay it out when materialized.
struct TableSpec {
  std::string name;
  // Where the files are: an absolute local file, directory (every file below it) or glob; or a
  // store URI (s3://, gs://, https://) naming one object or a directory of them.
  std::string path;
  FileFormat format = FileFormat::kAuto;
  // Columns to sort by when materializing, so DuckDB's zone maps skip row groups on lookups.
  std::vector<std::string> sort_by;
  // Columns that identify a row. Optional; ordered endpoints use it to break ties cheaply.
  std::vector<std::string> key;
};

// Which files of a source directory make its current version.
enum class Resolver {
  kAll,              // every data file
  kLatestPartition,  // only the newest top-level key=value/ directory (e.g. snapshot=2026-11-20/)
  kSuccessMarker,    // the newest top-level key=value/ directory holding _SUCCESS (or the root, if it has one)
  kDatabricks,       // per directory, the data files of the latest _committed_<tid> transaction
};

// Where a database's copies live in a cluster; a server without a cluster loads everything and
// ignores it. Kept in the catalog (durable), read by every member's placement.
struct PlacementSpec {
  int replicas = 0;  // copies of each shard; 0: one on every member ("all")
  int shards = 1;    // parts the data is split into (>= 1)
  // How rows are split: "" or "file" hashes each file's path (database/shard.h); otherwise a
  // column, whose hash picks each row's shard when a copy is materialized.
  std::string shard_by;
  std::vector<std::string> global_tables;  // copied whole into every shard
  bool operator==(const PlacementSpec&) const = default;
  bool by_file() const { return shard_by.empty() || shard_by == "file"; }
};

// A named set of tables, loaded together into one DuckDB file per snapshot.
struct DatasetSpec {
  std::string name;
  std::string description;
  // A database directory (a path or store URI). When set, its tables are discovered: a table per
  // top-level data file (named after the file) or per top-level directory (all data files below
  // it, Hive partitions k=v/ become columns).
  std::string source;
  Resolver resolver = Resolver::kAll;
  std::vector<TableSpec> tables;
  // With a source directory: serve only the tables named in `tables` (else every discovered
  // table, with `tables` only setting sort_by/key/format).
  bool named_tables_only = true;
  // Lazy: load only metadata (file list, Parquet footers); queries fetch the files they need,
  // keeping at most lazy_budget_bytes of them on disk (0 = no limit). See LazyFiles.
  bool lazy = false;
  int64_t lazy_budget_bytes = 0;
  int64_t refresh_interval_ms = 0;  // 0: refresh only when asked
  int64_t max_age_ms = 0;           // data older than this is reported stale; 0: never stale
  // Scale to zero: after this long without a request the snapshot is closed and its files are
  // deleted (the dataset goes `cold`); the next request loads it again. 0: never.
  int64_t idle_evict_ms = 0;
  // Rows per row group in the snapshot (a multiple of 2048); 0 = EffectiveRowGroupSize's choice.
  int64_t row_group_size = 0;
  std::string file;                 // where it was declared, for messages
  PlacementSpec placement;
  // Set on the copy of one shard a member holds (named CopyName(database, shard)): only that
  // shard's files or rows are loaded. -1: the whole database.
  int shard = -1;
  std::string copy_of;  // the database a shard copy belongs to; empty otherwise
};

// Small row groups (16K rows) when some table is sorted for lookups: with clustered data a
// selective query then reads a few thousand rows instead of 122,880 (1.4x the lookups per second
// on the demo). Without sort_by nothing is clustered, zone maps skip little either way, and
// DuckDB's default (122,880) writes faster (materialization measured 0.70x → 1.02x of plain CTAS).
inline int64_t EffectiveRowGroupSize(const DatasetSpec& spec) {
  if (spec.row_group_size > 0) return spec.row_group_size;
  for (const auto& table : spec.tables) {
    if (!table.sort_by.empty()) return 16384;
  }
  return 122880;
}

// "all", "latest_partition", "success_marker", "databricks".
std::optional<Resolver> ParseResolver(std::string_view name);
std::string_view NameOf(Resolver resolver);

}  // namespace dram::database
