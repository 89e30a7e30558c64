#pragma once

#include <duckdb.h>

#include <string>
#include <unordered_map>

#include "dram/status.h"

namespace dram::engine::internal {

// The DuckDB side of a Connection: the connection and its prepared statements.
struct ConnectionState {
  duckdb_connection connection = nullptr;
  uint64_t id = 0;  // duckdb_client_context_get_connection_id
  std::unordered_map<std::string, duckdb_prepared_statement> prepared;

  ConnectionState() = default;
  ~ConnectionState();
  ConnectionState(const ConnectionState&) = delete;
  ConnectionState& operator=(const ConnectionState&) = delete;
};

// Maps a DuckDB error type and message to a Status with the matching canonical code.
Status MapDuckdbError(duckdb_error_type type, const char* message);

}  // namespace dram::engine::internal
