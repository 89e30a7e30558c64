#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dram::database {

enum class FileFormat { kAuto, kParquet, kCsv };

// One table of a dataset: the files it is read from and how to lay it out when materialized.
struct TableSpec {
  std::string name;
  std::string path;  // absolute: a file, a directory (every file below it) or a glob
  FileFormat format = FileFormat::kAuto;
  // Columns to sort by when materializing, so DuckDB's zone maps skip row groups on lookups.
  std::vector<std::string> sort_by;
  // Columns that identify a row. Optional; ordered endpoints use it to break ties cheaply.
  std::vector<std::string> key;
};

// A named set of tables, loaded together into one DuckDB file per snapshot.
struct DatasetSpec {
  std::string name;
  std::string description;
  std::vector<TableSpec> tables;
  int64_t refresh_interval_ms = 0;  // 0: refresh only when asked
  int64_t max_age_ms = 0;           // data older than this is reported stale; 0: never stale
  int64_t row_group_size = 16384;   // rows per row group in the snapshot (a multiple of 2048)
  std::string file;                 // where it was declared, for messages
};

}  // namespace dram::database
