#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "database/column_range.h"
#include "database/predicate.h"
#include "database/source_files.h"
#include "dram/status.h"
#include "dram/value.h"
#include "engine/database.h"

namespace dram::database {

// The files one query may read, pinned on disk until this is destroyed.
class LazyScope {
 public:
  LazyScope() = default;
  LazyScope(std::string relation_sql, std::function<void()> release)
      : relation_sql_(std::move(relation_sql)), release_(std::move(release)) {}
  ~LazyScope() {
    if (release_) release_();
  }
  LazyScope(LazyScope&& other) noexcept
      : relation_sql_(std::move(other.relation_sql_)), release_(std::exchange(other.release_, nullptr)) {}
  LazyScope& operator=(LazyScope&&) = delete;
  LazyScope(const LazyScope&) = delete;
  // A relation over exactly the needed files ("SELECT * FROM read_parquet([...])" or an empty one).
  const std::string& relation_sql() const { return relation_sql_; }

 private:
  std::string relation_sql_;
  std::function<void()> release_;
};

// The files of a lazily added database. At load only metadata is fetched: every Parquet file's
// footer (one or two ranged GETs) is written at the end of a sparse stub of the file's real size,
// which is all DuckDB needs to learn the schema, the row groups, their row counts and min/max
// statistics. A query then names its predicates; partition values (k=v/ directories) and per-file
// min/max decide which files it needs; those are fetched (each once, even when concurrent queries
// want it: the others wait for the same download) and pinned while the query runs. A disk budget
// evicts the least recently used unpinned files back to stubs. Results are the same as over a
// fully loaded copy because a file is skipped only when its metadata proves no row can match.
// Thread-safe.
class LazyFiles {
 public:
  struct Options {
    int64_t budget_bytes = 0;  // bytes of fetched files kept on disk; 0 = no limit
  };
  // Writes the stubs for every remote Parquet file of `tables` under `dir` and reads their metadata.
  // CSV files (which have no footer) are fetched whole.
  static Result<std::shared_ptr<LazyFiles>> Create(std::vector<TableSources> tables, const std::string& dir, Options options);

  // Creates one view per table over all files (stubs included) in `connection`'s database: enough
  // to bind queries and describe tables, never to read rows (use Prepare for that).
  Status CreateViews(engine::Connection& connection);
  int64_t RowCount(const std::string& table) const;

  // Fetches and pins the files of `table` that rows matching every predicate can be in
  // (`none` = no file: an empty relation).
  Result<LazyScope> Prepare(const std::string& table, const std::vector<Predicate>& predicates, bool none = false);

  // For stats.
  int64_t remote_files() const;
  int64_t cached_files() const;
  int64_t fetched_bytes() const { return fetched_bytes_.load(); }
  int64_t metadata_bytes() const { return metadata_bytes_; }
  int64_t total_bytes() const;

  std::vector<std::string> table_names() const;

 private:
  struct File {
    SourceFile source;
    std::string footer;  // the bytes a stub holds at its end
    std::map<std::string, std::string> partition;  // k=v directories
    std::map<std::string, ColumnRange> min_max;  // per column, over all row groups
    int64_t rows = 0;
    // state, pins and last_used are guarded by LazyFiles::mu_ (not annotated: an attribute on a
    // nested struct's field cannot name the enclosing object's mutex).
    enum class State { kStub, kFetching, kComplete } state = State::kStub;
    int pins = 0;
    std::chrono::steady_clock::time_point last_used{};
  };
  struct Table {
    std::string name;
    FileFormat format = FileFormat::kParquet;
    std::shared_ptr<store::ObjectStore> store;
    std::vector<std::unique_ptr<File>> files;
  };
  LazyFiles() = default;
  // Row counts and per-column min/max of `table`'s files, from their footers alone.
  static Status ReadStatistics(engine::Connection& scratch, Table& table);
  bool MayMatch(const File& file, const std::vector<Predicate>& predicates) const;
  void EvictLocked() REQUIRES(mu_);

  Options options_;
  CompareOptions compare_options_;
  std::vector<Table> tables_;
  std::string catalog_;  // of the views (set by CreateViews, before any query)
  int64_t metadata_bytes_ = 0;
  std::atomic<int64_t> fetched_bytes_{0};
  mutable common::Mutex mu_;
  common::CondVar fetched_cv_;
  int64_t cached_bytes_ GUARDED_BY(mu_) = 0;  // bytes of complete remote files
};

// Scopes `connection` for one query on a lazy snapshot: for each table, the files the query may
// read are fetched and pinned, and a temporary view of the table's name (which shadows the view
// over all files) reads exactly those. `predicates` by table. A table not named there reads all
// its files when `others_read_all` (ad-hoc SQL, SQL templates and C++ endpoints: dram does not
// analyze their SQL), and nothing otherwise (a YAML endpoint names its one table).
Result<std::vector<LazyScope>> ScopeLazyQuery(LazyFiles& lazy, engine::Connection& connection,
                                              const std::map<std::string, std::vector<Predicate>>& predicates,
                                              bool others_read_all);

}  // namespace dram::database
