#pragma once

#include <atomic>
#include <filesystem>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/connection_pool.h"
#include "engine/database.h"
#include "engine/type_info.h"
#include "database/lazy_files.h"

namespace dram::database {

struct TableInfo {
  std::string name;
  int64_t rows = 0;
  std::vector<engine::ColumnInfo> columns;
  std::vector<std::string> key;  // declared row identity, if any
  // The order its rows are stored in, when dram materialized it sorted (sort_by, then the key's
  // other columns): a scan returns them in this order. Empty when unknown (views, a DuckDB file
  // served as it is, no sort_by).
  std::vector<std::string> storage_order;
};

// One immutable, materialized version of a dataset: a read-only DuckDB file and its connection
// pool. Shared by the requests that use it (and the manager while it is current or previous), so
// it lives as long as its last user: an in-flight request finishes on the snapshot it started on.
class Snapshot {
 public:
  Snapshot(std::string id, std::string path, std::unique_ptr<engine::Database> database,
           std::unique_ptr<engine::ConnectionPool> pool, std::vector<TableInfo> tables, int64_t watermark_ms,
           int64_t load_ms, int64_t bytes)
      : id_(std::move(id)), path_(std::move(path)), database_(std::move(database)), pool_(std::move(pool)),
        tables_(std::move(tables)), watermark_ms_(watermark_ms), load_ms_(load_ms), bytes_(bytes),
        loaded_at_(std::chrono::system_clock::now()) {}
  ~Snapshot() {
    lazy_.reset();
    pool_.reset();  // connections before the database they belong to
    database_.reset();
    if (!owned_dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(owned_dir_, ignored);
    }
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const std::string& id() const { return id_; }
  const std::string& path() const { return path_; }
  engine::ConnectionPool& pool() const { return *pool_; }
  // For a connection of its own outside the pool (admin SQL: no state can reach API requests).
  engine::Database& database() const { return *database_; }
  const std::vector<TableInfo>& tables() const { return tables_; }
  const TableInfo* FindTable(std::string_view name) const {
    for (const auto& t : tables_) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
  // Newest modification time of the source files, in ms since the epoch.
  int64_t watermark_ms() const { return watermark_ms_; }
  int64_t load_ms() const { return load_ms_; }
  int64_t bytes() const { return bytes_; }
  std::chrono::system_clock::time_point loaded_at() const { return loaded_at_; }
  // Set for a lazily added database: its tables are views over files fetched on demand, and a
  // query must be scoped with LazyFiles::Prepare (see ScopeLazyQuery) before it runs.
  LazyFiles* lazy() const { return lazy_.get(); }
  // Requests answered from this snapshot (cache hits included) and when the last one was, for
  // stats. Relaxed atomics: two uncontended-in-practice increments per request.
  void RecordAccess() const {
    queries_.fetch_add(1, std::memory_order_relaxed);
    last_access_ms_.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count(),
                          std::memory_order_relaxed);
  }
  int64_t queries() const { return queries_.load(std::memory_order_relaxed); }
  int64_t last_access_ms() const { return last_access_ms_.load(std::memory_order_relaxed); }
  void set_lazy(std::shared_ptr<LazyFiles> lazy) { lazy_ = std::move(lazy); }
  // A directory only this snapshot uses (a lazy build's stubs and fetched files), removed with it.
  void set_owned_dir(std::string dir) { owned_dir_ = std::move(dir); }

 private:
  std::string id_;
  std::string path_;
  std::unique_ptr<engine::Database> database_;
  std::unique_ptr<engine::ConnectionPool> pool_;
  std::vector<TableInfo> tables_;
  int64_t watermark_ms_;
  int64_t load_ms_;
  int64_t bytes_;
  std::chrono::system_clock::time_point loaded_at_;
  std::shared_ptr<LazyFiles> lazy_;
  std::string owned_dir_;
  mutable std::atomic<int64_t> queries_{0};
  mutable std::atomic<int64_t> last_access_ms_{0};
};

}  // namespace dram::database
