#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "database/dataset_spec.h"
#include "database/snapshot.h"
#include "database/source_files.h"
#include "dram/status.h"
#include "engine/database.h"
#include "store/downloader.h"

namespace dram::database {

// How a built snapshot is opened for serving.
struct SnapshotOpenOptions {
  engine::DatabaseOptions engine;  // read-only is forced for snapshot files
  size_t pool_size = 4;            // connections per snapshot
};

// The id of the snapshot that `tables` (listed sources of `spec`) make: a fingerprint of the
// layout, the spec and every file's identity, so unchanged sources name an existing snapshot.
std::string SnapshotId(const DatasetSpec& spec, const std::vector<TableSources>& tables);
// The newest file modification time among the sources (ms since the epoch).
int64_t SourceWatermark(const std::vector<TableSources>& tables);

// What a failed load reports (the admin call's answer, /status, history): DataLoss (502
// load_failed) whatever step failed, since the source's data is what could not be loaded —
// except NotFound (no such source or bucket: 404) and a conflict. The engine's messages name files
// in the local cache; those paths are cut down to the file's path below its table.
Status AsLoadFailure(const Status& status, const std::string& cache_dir);

// Builds the snapshot `id` of `spec` from its listed sources into `dir` (the dataset's cache
// directory) and opens it, by one of three paths: one DuckDB file (fetched and served as it is), a
// lazy database (metadata only, files fetched on demand), or a materialized DuckDB file. A
// complete file of that id already on disk is reused unless `force`. `before_download` runs
// right before a materialization downloads (to reset progress the caller shows).
// Thread-safe: each build writes files of its own name and renames them into place.
Result<std::unique_ptr<Snapshot>> BuildSnapshot(const DatasetSpec& spec, std::vector<TableSources>& tables, const std::string& id,
                                                const std::string& dir, const SnapshotOpenOptions& options, bool force,
                                                store::TransferProgress* progress, const std::function<void()>& before_download,
                                                std::chrono::steady_clock::time_point started);

// Opens the snapshot file `path` a previous run built and recorded (warm start): its tables come
// from the file's own catalog, keys from `spec`.
Result<std::unique_ptr<Snapshot>> OpenBuiltSnapshot(const DatasetSpec& spec, const std::string& id, const std::string& path,
                                                    const SnapshotOpenOptions& options, int64_t watermark_ms);

// Opens the sources of `spec` as views in an in-memory database, without materializing:
// enough to learn schemas and prepare statements (dram validate). Local sources only.
Result<std::unique_ptr<Snapshot>> OpenSourceViews(const DatasetSpec& spec);

// Deletes the snapshot files in `dir` whose ids are not in `keep`, lazy versions not kept, and
// files left by builds of processes that died. An open snapshot keeps working after its file is
// unlinked.
void RemoveStaleSnapshotFiles(const std::string& dir, const std::set<std::string>& keep);

}  // namespace dram::database
