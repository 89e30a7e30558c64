#pragma once

#include <memory>
#include <string>
#include <vector>

#include "database/dataset_spec.h"
#include "dram/status.h"
#include "store/downloader.h"
#include "store/object_store.h"

namespace dram::database {

// One data file of a table: where it is read from when materializing, and what identifies this
// version of it (the fingerprint of a snapshot is built from these).
struct SourceFile {
  std::string local_path;  // readable by DuckDB; for remote files, set once fetched
  std::string key;         // remote files: the key in `TableSources::store`; local files: empty
  std::string relative;    // remote files: the path below the table's directory (Hive k=v/ kept)
  int64_t size = 0;
  std::string etag;        // remote files
  int64_t mtime_ms = 0;
};

struct TableSources {
  TableSpec spec;
  FileFormat format = FileFormat::kAuto;
  std::vector<SourceFile> files;
  std::shared_ptr<store::ObjectStore> store;  // null for local files
  std::string local_root;                     // remote files are fetched below this directory
  std::string row_filter;                     // SQL condition on the rows kept (a shard's); empty: all
  // A shard's copy: the digest of every table's whole listing, before it was narrowed to the
  // shard. Every shard of the same data has the same one (its data version); empty otherwise.
  std::string whole_listing;
};

FileFormat FormatOf(std::string_view path);

// The DuckDB table function that reads `paths` as one table (Hive partitions as columns,
// columns unioned by name): read_csv for kCsv, read_parquet otherwise.
std::string ReadExpression(const std::vector<std::string>& paths, FileFormat format);

// Lists the files of every table of `spec`, applying its resolver. Remote files are not fetched.
// `cache_dir` is where remote files of this dataset will be kept (<cache_dir>/<dataset>/files).
// A shard's copy (spec.shard >= 0) lists only its shard's part (NarrowToShard).
Result<std::vector<TableSources>> ListSources(const DatasetSpec& spec, const std::string& cache_dir);
// Every file, whatever the spec's shard.
Result<std::vector<TableSources>> ListWholeSources(const DatasetSpec& spec, const std::string& cache_dir);

// Brings every remote file onto local disk (parallel ranged downloads, verified), reusing a copy
// already there from an earlier load when size and ETag are unchanged, and sets local_path.
// Removes cached copies no table lists any more.
Status FetchRemote(std::vector<TableSources>& tables, const std::string& dataset_cache_dir,
                   store::TransferProgress* progress);

// The resolver's choice among `objects` (keys relative to the source root), exposed for tests.
// Returns the chosen keys; `base` gets the directory prefix they are relative to for table naming.
Result<std::vector<store::ObjectInfo>> Resolve(Resolver resolver, store::ObjectStore& store,
                                               const std::vector<store::ObjectInfo>& objects, std::string& base);

}  // namespace dram::database
