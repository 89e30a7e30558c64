#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

namespace dram::database {

enum class FileFormat { kAuto, kParquet, kCsv };

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

// A named set of tables, loaded together into one DuckDB file per snapshot.
struct DatasetSpec {
  std::string name;
  std::string description;
  // A database directory (a path or store URI). When set, its tables are discovered: a table per
  // top-level data file (named after the file) or per top-level directory (all data files below
  // it, Hive partitions k=v/ become columns). Naming `tables` then selects those (and sets their
  // sort_by/key/format); without names every discovered table is served.
  std::string source;
  Resolver resolver = Resolver::kAll;
  std::vector<TableSpec> tables;
  int64_t refresh_interval_ms = 0;  // 0: refresh only when asked
  int64_t max_age_ms = 0;           // data older than this is reported stale; 0: never stale
  int64_t row_group_size = 16384;   // rows per row group in the snapshot (a multiple of 2048)
  std::string file;                 // where it was declared, for messages
};

// "all", "latest_partition", "success_marker", "databricks".
std::optional<Resolver> ParseResolver(std::string_view name);
std::string_view NameOf(Resolver resolver);

}  // namespace dram::database
