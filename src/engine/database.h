#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dram/status.h"
#include "engine/connection.h"

namespace dram::engine {

struct DatabaseOptions {
  bool read_only = true;
  int threads = 0;            // DuckDB worker threads per query; 0 = DuckDB's default (all cores)
  std::string memory_limit;   // e.g. "2GB"; empty = DuckDB's default
  std::string temp_directory; // spill directory; empty = DuckDB's default
};

namespace internal {
struct DatabaseState;
}

// An open DuckDB database (a file, or in-memory for an empty path). Thread-safe: connections may
// be made from any thread. Must outlive every Connection it made.
class Database {
 public:
  // Errors: Unavailable when the file cannot be opened, InvalidArgument for a bad option.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, const DatabaseOptions& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Result<std::unique_ptr<Connection>> Connect();
  const std::string& path() const { return path_; }

  // Closes the database to the host, for good: no file outside `allowed_directories` can be read
  // or written (read_csv('/etc/passwd'), COPY … TO, ATTACH), no extension installed or loaded, no
  // setting changed (SET memory_limit, SET enable_external_access) — by any connection, before
  // or after. Call once, after setup (views created, pool connected). Serving databases are
  // sealed; only admin and API SQL runs on them. Errors: Internal if DuckDB refuses a setting.
  Status Seal(const std::vector<std::string>& allowed_directories);

 private:
  Database(std::string path, std::unique_ptr<internal::DatabaseState> state);
  std::string path_;
  std::unique_ptr<internal::DatabaseState> state_;
};

}  // namespace dram::engine
