#pragma once

#include <memory>
#include <string>

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

 private:
  Database(std::string path, std::unique_ptr<internal::DatabaseState> state);
  std::string path_;
  std::unique_ptr<internal::DatabaseState> state_;
};

}  // namespace dram::engine
