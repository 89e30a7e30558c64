#pragma once

#include <span>
#include <string>
#include <string_view>
#include <memory>
#include <vector>

#include "dram/status.h"
#include "dram/value.h"
#include "engine/query_result.h"
#include "engine/type_info.h"

namespace dram::engine {

namespace internal {
struct ConnectionState;
}

// One DuckDB connection with its prepared-statement cache. Owned by a ConnectionPool (or by
// whoever connected it); used by one thread at a time; Interrupt() may be called from any thread.
class Connection {
 public:
  explicit Connection(std::unique_ptr<internal::ConnectionState> state);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements and discards their results (DDL, COPY, PRAGMA, …).
  // Errors: the DuckDB error mapped to a Status (see MapDuckdbError in connection.cc).
  Status Execute(const std::string& sql);

  // Runs `sql` with `params` bound to $1..$n; the statement is prepared once per connection and
  // kept in a bounded cache keyed by the SQL text.
  Result<QueryResult> Query(const std::string& sql, std::span<const Value> params = {});

  // Query, for SQL someone else wrote (a map or reduce step sent by another member or an admin):
  // only one read-only statement (SELECT, or EXPLAIN of one). Errors: PermissionDenied for any
  // other statement; otherwise as Query.
  Result<QueryResult> QuerySelect(const std::string& sql, std::span<const Value> params = {});

  // Runs `sql` only if it is exactly one read-only statement (SELECT, or EXPLAIN of one): ad-hoc
  // SQL from the admin port cannot create, replace or drop anything, not even a temporary view
  // that would shadow a served table. Errors: PermissionDenied for any other statement or for
  // several statements; otherwise as Query.
  Result<QueryResult> QueryReadOnly(const std::string& sql);

  // Whether this connection holds state a later user of it would see: temporary tables, views
  // (other than those named in `expected_views`), sequences or macros, a search path, or profiling
  // (session settings the sealed database still allows). True as well when that cannot be checked.
  bool HoldsSessionState(const std::vector<std::string>& expected_views);

  // The output columns of `sql` without running it. InvalidArgument when it does not prepare.
  Result<std::vector<ColumnInfo>> Describe(const std::string& sql);

  // Asks the running query, if any, to stop; it then fails with kCancelled.
  void Interrupt();

  size_t cached_statements() const;
  // DuckDB's id of this connection, unique within its database.
  uint64_t id() const;

 private:
  friend class CsvTableFunction;  // registers its function through a connection
  friend class ColumnarTableFunction;  // likewise
  std::unique_ptr<internal::ConnectionState> state_;
};

}  // namespace dram::engine
