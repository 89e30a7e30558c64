#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "database/dataset_spec.h"
#include "database/snapshot.h"
#include "dram/status.h"
#include "engine/database.h"
#include "store/downloader.h"

namespace dram::database {

struct ManagerOptions {
  std::string cache_dir;             // snapshots live in <cache_dir>/<dataset>/<snapshot id>.duckdb
  engine::DatabaseOptions engine;    // for serving snapshots (read-only is forced)
  size_t pool_size = 4;              // connections per snapshot
};

// What /status shows of one dataset.
struct DatasetStatus {
  std::string name;
  std::shared_ptr<const Snapshot> current;
  std::shared_ptr<const Snapshot> previous;
  std::string last_error;  // of the last failed load or refresh; empty after a success
  int64_t loads_ok = 0;
  int64_t loads_failed = 0;
  std::chrono::system_clock::time_point last_attempt;
};

// Builds, swaps and keeps the snapshots of every dataset. A new snapshot is materialized beside
// the current one, checked by the validator, then swapped in atomically; the previous one is
// kept for rollback. A failed build or check leaves the current snapshot serving. Thread-safe.
class DatasetManager {
 public:
  // Called with every new snapshot before it goes live; a non-OK Status rejects it.
  using Validator = std::function<Status(const DatasetSpec&, const Snapshot&)>;
  // Called after a dataset's current snapshot changed.
  using SwapListener = std::function<void(const std::string& dataset)>;

  DatasetManager(ManagerOptions options, std::vector<DatasetSpec> specs, Validator validator, SwapListener listener);
  ~DatasetManager();
  DatasetManager(const DatasetManager&) = delete;
  DatasetManager& operator=(const DatasetManager&) = delete;

  // Loads every dataset (reusing a snapshot already on disk when its sources are unchanged).
  // Returns the first error after trying all of them.
  Status LoadAll();
  // Rebuilds `name` if its sources changed (or always, when `force`), then swaps it in.
  // Errors: NotFound for an unknown dataset; the build or validation error otherwise.
  Status Refresh(const std::string& name, bool force);
  // Makes the previous snapshot current again. FailedPrecondition when there is none.
  Status Rollback(const std::string& name);
  // Starts one background thread per dataset with a refresh interval.
  void StartRefreshing();

  std::shared_ptr<const Snapshot> Current(const std::string& name) const;
  std::vector<DatasetStatus> Statuses() const;
  const std::vector<DatasetSpec>& specs() const { return specs_; }

  // Opens the sources of `spec` as views in an in-memory database, without materializing:
  // enough to learn schemas and prepare statements (dram validate).
  static Result<std::unique_ptr<Snapshot>> OpenSourceViews(const DatasetSpec& spec);

 private:
  struct Entry {
    std::mutex build_mu;  // one build of this dataset at a time
    store::TransferProgress progress;  // of the current or last download
    DatasetStatus status;  // GUARDED_BY(mu_)
  };
  Status Build(const DatasetSpec& spec, bool force);
  void RefreshLoop(const DatasetSpec& spec);
  void RemoveStaleFiles(const DatasetSpec& spec);

  const ManagerOptions options_;
  const std::vector<DatasetSpec> specs_;
  Validator validator_;
  SwapListener listener_;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::condition_variable stop_cv_;
  std::vector<std::thread> refreshers_;
};

}  // namespace dram::database
