#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "database/dataset_spec.h"
#include "dram/status.h"
#include "engine/type_info.h"

namespace dram::cli {

struct ColumnProfile {
  std::string name;
  engine::TypeInfo type;
  int64_t distinct = -1;  // approximate distinct values in the sample; -1 for nested types
};

struct TableProfile {
  std::string name;
  database::FileFormat format = database::FileFormat::kAuto;
  int64_t rows = 0;          // rows in the files inspected
  int64_t sample_rows = 0;   // rows the distinct counts were estimated from
  size_t files = 0;          // data files of the table
  size_t files_inspected = 0;
  std::vector<ColumnProfile> columns;
};

// What `dram init` learned about a database directory.
struct SourceProfile {
  std::string uri;
  bool duckdb_file = false;  // one DuckDB file, served as it is (no sort_by)
  std::vector<TableProfile> tables;
};

// Lists the database directory `uri` (a local path or a store URI, credentials from the
// environment) the way a dataset with `source: uri` does, opens its tables as DuckDB views and
// profiles them: columns and types, row counts, approximate distinct counts on a sample. Remote
// tables are profiled from a bounded subset of their files, downloaded below `scratch_dir` (the
// caller removes it). Errors: those of listing and reading the files (NotFound when there is no
// data file).
Result<SourceProfile> InspectSource(const std::string& uri, const std::string& scratch_dir);

}  // namespace dram::cli
