#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "database/dataset_spec.h"
#include "database/runtime_state.h"
#include "database/snapshot.h"
#include "database/snapshot_builder.h"
#include "dram/status.h"
#include "engine/database.h"
#include "store/downloader.h"

namespace dram::database {

// One shard of one database (shard 0 of an unsharded one).
struct CopyId {
  std::string database;
  int shard = 0;
  auto operator<=>(const CopyId&) const = default;
};

// A copy this member holds in a cluster, as the reconciler publishes it.
struct CopyStatus {
  CopyId id;
  std::string name;  // the local dataset it is served as (CopyName)
  // kCold: evicted for being idle (idle_evict); still held, loaded again by its next map step.
  enum class State { kLoading, kReady, kFailed, kCold } state = State::kLoading;
  std::string snapshot;  // the serving snapshot's id (cold: the one evicted); empty until ready
  std::string previous;  // the one it replaced, still open (map steps pinned to it are served); or empty
  int64_t bytes = 0;     // of the serving snapshot on disk
  std::string error;     // of the last failed load
};

struct ManagerOptions {
  std::string cache_dir;             // snapshots live in <cache_dir>/<dataset>/<snapshot id>.duckdb
  engine::DatabaseOptions engine;    // for serving snapshots (read-only is forced)
  size_t pool_size = 4;              // connections per snapshot
  // Where the runtime part of the catalog (databases added, aliases set through the admin API)
  // is kept, as a JSON object. Unset: <cache_dir>/.dram-state.json. A server following a catalog
  // in a store reads it from the catalog version and commits changes there.
  std::function<std::string()> load_runtime_state;
  // LoadAll serves a version already on disk at once and checks its sources in the background.
  // Off for a state built beside a serving one (a catalog reload): it must be whole before it
  // switches, so every dataset is checked (and reused when unchanged) before LoadAll returns.
  bool warm_start = true;
  std::function<Status(const std::string& json)> save_runtime_state;
  // Cluster mode: a database is loaded only as the copies placement gives this member (HoldCopy,
  // DropCopy; the reconciler calls them). LoadAll then holds the copies `held` names (those the
  // member held before a catalog reload) or, when it is unset, the copies found on disk.
  bool placed = false;
  std::function<std::vector<CopyId>()> held;
};

// One load attempt, for `versions` and stats.
struct LoadRecord {
  std::chrono::system_clock::time_point at;
  std::string snapshot_id;  // empty when the attempt failed before one was built
  bool ok = false;
  bool reused = false;      // the sources were unchanged: nothing was built
  std::string error;
  int64_t load_ms = 0;
};

// What /status, stats and `versions` show of one dataset (a "database" when added at runtime).
struct DatasetStatus {
  std::string name;
  std::string source;    // the database directory or the first table's path
  bool declared = false;  // from the project's YAML: not removable at runtime
  PlacementSpec placement;
  int64_t refresh_interval_ms = 0;
  int64_t max_age_ms = 0;  // the spec's: data older than this is stale; 0: never
  int64_t idle_evict_ms = 0;  // the spec's: evicted after this long without a request; 0: never
  // Evicted for being idle (scale to zero): no snapshot open, no files on disk; the next request
  // loads it again (Warm). Not a failure: readiness checks count it as servable.
  bool cold = false;
  std::shared_ptr<const Snapshot> current;
  std::shared_ptr<const Snapshot> previous;
  std::string last_error;  // of the last failed load or refresh; empty after a success
  int64_t loads_ok = 0;
  int64_t loads_failed = 0;
  std::chrono::system_clock::time_point last_attempt;
  std::chrono::system_clock::time_point last_success;
  bool loading = false;
  // Files of the serving version: how many, their bytes in the store, and how many are on local disk.
  int64_t source_files = 0;
  int64_t source_bytes = 0;
  int64_t cached_files = 0;
  // Lazy databases: bytes fetched for metadata at load, and for queries since.
  bool lazy = false;
  int64_t lazy_metadata_bytes = 0;
  int64_t lazy_fetched_bytes = 0;
  // Download progress of the running (or last) load.
  int64_t download_total_bytes = 0;
  int64_t download_done_bytes = 0;
  double download_seconds = 0;
  std::deque<LoadRecord> history;  // newest last, bounded
};

struct AliasInfo {
  std::string name;
  std::string database;
  std::string pinned_snapshot;  // empty: follows the database's current version
};

// Builds, swaps and keeps the snapshots of every dataset, and owns the runtime catalog of
// databases added through the admin API and of aliases (persisted in <cache_dir>/.dram-state.json
// until the catalog moves into the store). A new snapshot is materialized beside the current one,
// checked by the validator, then swapped in atomically; the previous one is kept for rollback. A
// failed build or check leaves the current snapshot serving. Each dataset with a refresh interval
// has its own thread, so a slow source never delays another. Thread-safe.
class DatasetManager {
 public:
  // Called with every new snapshot before it goes live, once for the dataset and once for every
  // alias that follows it (with spec.name = the alias); a non-OK Status rejects it.
  using Validator = std::function<Status(const DatasetSpec&, const Snapshot&)>;
  // Called after the snapshot behind a dataset or alias name changed.
  using SwapListener = std::function<void(const std::string& name)>;
  // Names the users of a dataset or alias (endpoints), which a delete must not strand.
  using UsersOf = std::function<std::vector<std::string>(const std::string& name)>;

  DatasetManager(ManagerOptions options, std::vector<DatasetSpec> specs, Validator validator, SwapListener listener,
                 std::map<std::string, std::string> declared_aliases = {}, UsersOf users_of = {});
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
  // Starts one background thread per dataset with a refresh interval, and the one that evicts
  // datasets idle past their idle_evict.
  void StartRefreshing();
  // Loads a dataset evicted for being idle (or the dataset an alias follows, or a cold copy this
  // member holds of a sharded database) and returns once it serves; concurrent callers share one
  // load. Ok at once when it is not cold.
  Status Warm(const std::string& name);
  // Evicts every dataset idle past its idle_evict now (the background thread's job, once a second).
  void EvictIdle();

  // Adds a database at runtime: loads it (list, download, materialize, check) and only then
  // registers and persists it; a failed first load leaves nothing behind.
  Status Add(DatasetSpec spec);
  // Removes a runtime database and its files. Refused (FailedPrecondition) while an alias or an
  // endpoint uses it, unless `force`; refused for datasets declared in the project's YAML.
  Status Remove(const std::string& name, bool force);

  // Points `alias` at `database` (a dataset, never another alias), optionally pinned to one of its
  // snapshots on disk (current or previous). Atomic for requests in flight; validated first.
  Status SetAlias(const std::string& alias, const std::string& database, const std::string& pinned_snapshot);
  Status DeleteAlias(const std::string& alias, bool force);
  // Makes the aliases exactly `declared` (the project's) overlaid with `runtime`'s, as a new
  // catalog version has them, without persisting anything (the version is already committed):
  // another member's alias change, applied in place. Every changed alias is validated before any
  // is applied; an error changes nothing.
  Status ReplaceAliases(const std::map<std::string, std::string>& declared, const RuntimeState& runtime);
  std::vector<AliasInfo> Aliases() const;

  // Cluster mode (ManagerOptions::placed). Loads this member's copy of one shard (the database
  // itself when it is unsharded), reusing a snapshot on disk; a failed load stays listed as failed.
  // NotFound for an unknown database, InvalidArgument for a shard out of range.
  Status HoldCopy(const CopyId& copy);
  // Unloads a copy and deletes its files; requests in flight keep their snapshot until they end.
  Status DropCopy(const CopyId& copy);
  std::vector<CopyStatus> Copies() const;
  // The databases of the catalog (declared and added), not the copies of their shards.
  std::vector<DatasetSpec> Databases() const;

  // The serving snapshot of a dataset or alias; null when unknown or not loaded yet.
  std::shared_ptr<const Snapshot> Current(const std::string& name) const;
  // A dataset's serving snapshot or the one it replaced, when its id is `snapshot`; else null.
  std::shared_ptr<const Snapshot> CurrentOrPrevious(const std::string& name, const std::string& snapshot) const;
  // Whether a dataset (or the one an alias follows, or a copy this member holds of a sharded
  // database) was evicted for being idle.
  bool Cold(const std::string& name) const;
  std::vector<DatasetStatus> Statuses() const;
  Result<DatasetStatus> StatusOf(const std::string& name) const;


 private:
  struct Entry {
    explicit Entry(DatasetSpec s) : spec(std::move(s)) {}
    const DatasetSpec spec;
    common::Mutex build_mu;  // one build of this dataset at a time
    common::Mutex warm_mu;   // one re-load of a cold dataset at a time; the others wait for it
    store::TransferProgress progress;  // of the current or last download
    // status and removed are guarded by DatasetManager::mu_ (not annotated: an attribute on a
    // nested struct's field cannot name the enclosing object's mutex).
    DatasetStatus status;
    bool removed = false;  // its refresh thread stops
    bool held = false;     // cluster mode: this member holds it (else it is only in the catalog)
    bool pending = false;  // cluster mode: being added, not committed yet (placement ignores it)
    // Wall ms of the last request known from snapshots already replaced, or of the load that made
    // it serve again (first load, re-warm); 0 until then. See IdleSinceLocked.
    int64_t last_used_ms = 0;
    std::string cold_snapshot;  // the id of the snapshot evicted, while cold (the shard map shows it)
    std::thread refresher;
  };
  using Alias = RuntimeAlias;
  Status Build(Entry& entry, bool force);
  Status Hold(const std::shared_ptr<Entry>& entry);
  Status Probe(const DatasetSpec& spec);
  void Unload(Entry& entry);
  void Evict(Entry& entry);
  std::vector<CopyId> CopiesOnDisk() const;
  SnapshotOpenOptions OpenOptions() const { return {options_.engine, options_.pool_size}; }
  void RefreshLoop(Entry* entry);
  void RemoveStaleFiles(Entry& entry);
  void StartRefresher(Entry& entry);
  bool WarmStart(Entry& entry);
  std::vector<std::string> FollowersOf(const std::string& database) const;  // unpinned aliases
  Status Validate(const DatasetSpec& spec, const Snapshot& snapshot, const std::vector<std::string>& followers);
  void RecordCurrent(const Entry& entry);
  std::shared_ptr<Entry> Find(const std::string& name) const;
  bool Removed(const Entry& entry) const;
  std::shared_ptr<const Snapshot> ResolveLocked(const std::string& name) const REQUIRES(mu_);
  // When the dataset was last used (wall ms), for idle eviction; 0 when it does not serve.
  int64_t LastUsedLocked(const Entry& entry) const REQUIRES(mu_);
  // The entry a Warm of `name` loads: the dataset, an alias's target, or a held cold copy of a
  // sharded database; null when none is cold.
  std::shared_ptr<Entry> ColdEntryLocked(const std::string& name) const REQUIRES(mu_);
  // The runtime part of the catalog (added databases, aliases), written atomically.
  Status SaveState() const REQUIRES(state_mu_);
  // Runs in the constructor, before any other thread can see this object: reads and fills
  // entries_ and aliases_ without mu_ (the analysis does not know who the caller is).
  void LoadState() NO_THREAD_SAFETY_ANALYSIS;

  const ManagerOptions options_;
  Validator validator_;
  SwapListener listener_;
  UsersOf users_of_;

  mutable common::Mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_ GUARDED_BY(mu_);
  std::map<std::string, Alias, std::less<>> aliases_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  bool refreshing_ GUARDED_BY(mu_) = false;  // StartRefreshing ran
  common::CondVar stop_cv_;
  common::Mutex state_mu_;  // serializes catalog changes and their persistence
  std::vector<std::thread> warmers_ GUARDED_BY(mu_);  // background checks after a warm start
  std::thread evictor_;  // EvictIdle once a second (StartRefreshing)
};

}  // namespace dram::database
