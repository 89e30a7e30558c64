#include "engine/connection.h"

#include <duckdb.h>

#include "common/sql_text.h"
#include "engine/connection_state.h"
#include "engine/duckdb_types.h"
#include "engine/result_encoder.h"
#include "engine/result_handle.h"

namespace dram::engine {

namespace internal {

ConnectionState::~ConnectionState() {
  for (auto& [sql, statement] : prepared) duckdb_destroy_prepare(&statement);
  duckdb_disconnect(&connection);
}

Status MapDuckdbError(duckdb_error_type type, const char* message) {
  std::string text = message ? message : "unknown DuckDB error";
  switch (type) {
    case DUCKDB_ERROR_INTERRUPT: return Status(StatusCode::kCancelled, "query interrupted");
    case DUCKDB_ERROR_OUT_OF_MEMORY: return Status(StatusCode::kResourceExhausted, text);
    // A value that does not fit where it is used (a bound value too large for the column's type,
    // a string that is no number): the query is sound, the value is not.
    case DUCKDB_ERROR_CONVERSION:
    case DUCKDB_ERROR_INVALID_INPUT:
    case DUCKDB_ERROR_OUT_OF_RANGE: return Status(StatusCode::kOutOfRange, text);
    case DUCKDB_ERROR_PARSER:
    case DUCKDB_ERROR_BINDER:
    case DUCKDB_ERROR_CATALOG:
    case DUCKDB_ERROR_INVALID_TYPE:
    case DUCKDB_ERROR_MISMATCH_TYPE: return Status(StatusCode::kInvalidArgument, text);
    case DUCKDB_ERROR_PERMISSION: return Status(StatusCode::kPermissionDenied, text);
    case DUCKDB_ERROR_IO: return Status(StatusCode::kUnavailable, text);
    default: return Status(StatusCode::kInternal, text);
  }
}

}  // namespace internal

namespace {

// Prepared statements kept per connection; endpoints produce a handful of SQL shapes each, so
// this bound only matters for ad-hoc SQL. When full the cache starts over: simpler than LRU and
// cheap, since re-preparing costs tens of microseconds.
constexpr size_t kMaxPreparedPerConnection = 512;

duckdb_logical_type ListElementType(const Value::List& list) {
  for (const Value& item : list) {
    if (item.is<bool>()) return duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
    if (item.is<int64_t>()) return duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    if (item.is<double>()) return duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
    if (item.is<Date>()) return duckdb_create_logical_type(DUCKDB_TYPE_DATE);
    if (item.is<Timestamp>()) return duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP);
  }
  return duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
}

// Builds a duckdb_value (caller destroys). Used for list parameters only.
duckdb_value MakeDuckdbValue(const Value& value) {
  struct Visitor {
    duckdb_value operator()(std::monostate) { return duckdb_create_null_value(); }
    duckdb_value operator()(bool v) { return duckdb_create_bool(v); }
    duckdb_value operator()(int64_t v) { return duckdb_create_int64(v); }
    duckdb_value operator()(double v) { return duckdb_create_double(v); }
    duckdb_value operator()(const std::string& v) { return duckdb_create_varchar_length(v.data(), v.size()); }
    duckdb_value operator()(Date v) { return duckdb_create_date(duckdb_date{v.days}); }
    duckdb_value operator()(Timestamp v) { return duckdb_create_timestamp(duckdb_timestamp{v.micros}); }
    duckdb_value operator()(const Value::List& list) {
      std::vector<duckdb_value> items;
      items.reserve(list.size());
      for (const Value& item : list) items.push_back(MakeDuckdbValue(item));
      duckdb_logical_type type = ListElementType(list);
      duckdb_value out = duckdb_create_list_value(type, items.data(), items.size());
      duckdb_destroy_logical_type(&type);
      for (duckdb_value& item : items) duckdb_destroy_value(&item);
      return out;
    }
  };
  return std::visit(Visitor{}, value.data);
}

duckdb_state Bind(duckdb_prepared_statement statement, idx_t index, const Value& value) {
  struct Visitor {
    duckdb_prepared_statement s;
    idx_t i;
    duckdb_state operator()(std::monostate) { return duckdb_bind_null(s, i); }
    duckdb_state operator()(bool v) { return duckdb_bind_boolean(s, i, v); }
    duckdb_state operator()(int64_t v) { return duckdb_bind_int64(s, i, v); }
    duckdb_state operator()(double v) { return duckdb_bind_double(s, i, v); }
    duckdb_state operator()(const std::string& v) { return duckdb_bind_varchar_length(s, i, v.data(), v.size()); }
    duckdb_state operator()(Date v) { return duckdb_bind_date(s, i, duckdb_date{v.days}); }
    duckdb_state operator()(Timestamp v) { return duckdb_bind_timestamp(s, i, duckdb_timestamp{v.micros}); }
    duckdb_state operator()(const Value::List&) { return DuckDBError; }
  };
  if (value.is<Value::List>()) {
    duckdb_value list = MakeDuckdbValue(value);
    duckdb_state state = duckdb_bind_value(statement, index, list);
    duckdb_destroy_value(&list);
    return state;
  }
  return std::visit(Visitor{statement, index}, value.data);
}

Result<QueryResult> TakeResult(std::unique_ptr<internal::ResultHandle> handle, duckdb_state state) {
  if (state == DuckDBError) {
    return internal::MapDuckdbError(duckdb_result_error_type(&handle->result), duckdb_result_error(&handle->result));
  }
  return QueryResult(std::move(handle));
}

}  // namespace

Connection::Connection(std::unique_ptr<internal::ConnectionState> state) : state_(std::move(state)) {}
Connection::~Connection() = default;

size_t Connection::cached_statements() const { return state_->prepared.size(); }

uint64_t Connection::id() const { return state_->id; }

Status Connection::Execute(const std::string& sql) {
  auto handle = std::make_unique<internal::ResultHandle>();
  duckdb_state state = duckdb_query(state_->connection, sql.c_str(), &handle->result);
  return TakeResult(std::move(handle), state).status();
}

namespace {

Result<duckdb_prepared_statement> PrepareIn(internal::ConnectionState& state, const std::string& sql) {
  auto found = state.prepared.find(sql);
  if (found != state.prepared.end()) return found->second;
  duckdb_prepared_statement statement = nullptr;
  if (duckdb_prepare(state.connection, sql.c_str(), &statement) == DuckDBError) {
    Status error = InvalidArgument(duckdb_prepare_error(statement) ? duckdb_prepare_error(statement) : "prepare failed");
    duckdb_destroy_prepare(&statement);
    return error;
  }
  if (state.prepared.size() >= kMaxPreparedPerConnection) {
    for (auto& [text, old] : state.prepared) duckdb_destroy_prepare(&old);
    state.prepared.clear();
  }
  state.prepared.emplace(sql, statement);
  return statement;
}

bool ReadOnlyType(duckdb_statement_type type) {
  return type == DUCKDB_STATEMENT_TYPE_SELECT || type == DUCKDB_STATEMENT_TYPE_EXPLAIN;
}

Result<QueryResult> ExecuteBound(duckdb_prepared_statement statement, std::span<const Value> params) {
  if (duckdb_nparams(statement) != params.size()) {
    return InvalidArgument("statement expects " + std::to_string(duckdb_nparams(statement)) + " parameters, got " +
                           std::to_string(params.size()));
  }
  duckdb_clear_bindings(statement);
  for (size_t i = 0; i < params.size(); ++i) {
    if (Bind(statement, i + 1, params[i]) == DuckDBError) {
      return InvalidArgument("cannot bind parameter $" + std::to_string(i + 1));
    }
  }
  auto handle = std::make_unique<internal::ResultHandle>();
  duckdb_state state = duckdb_execute_prepared(statement, &handle->result);
  return TakeResult(std::move(handle), state);
}

}  // namespace

Result<QueryResult> Connection::Query(const std::string& sql, std::span<const Value> params) {
  ASSIGN_OR_RETURN(duckdb_prepared_statement statement, PrepareIn(*state_, sql));
  return ExecuteBound(statement, params);
}

Result<QueryResult> Connection::QuerySelect(const std::string& sql, std::span<const Value> params) {
  ASSIGN_OR_RETURN(duckdb_prepared_statement statement, PrepareIn(*state_, sql));
  // One statement (DuckDB prepares no more), and its type is known once prepared: a cached
  // statement costs no second check.
  if (!ReadOnlyType(duckdb_prepared_statement_type(statement))) {
    return PermissionDenied("only one read-only statement (SELECT) may run here");
  }
  return ExecuteBound(statement, params);
}

Result<QueryResult> Connection::QueryReadOnly(const std::string& sql) {
  duckdb_extracted_statements extracted = nullptr;
  idx_t count = duckdb_extract_statements(state_->connection, sql.c_str(), &extracted);
  struct Cleanup {
    duckdb_extracted_statements& extracted;
    duckdb_prepared_statement statement = nullptr;
    ~Cleanup() {
      duckdb_destroy_prepare(&statement);
      duckdb_destroy_extracted(&extracted);
    }
  } cleanup{extracted};
  if (count == 0) {
    const char* error = duckdb_extract_statements_error(extracted);
    return InvalidArgument(error ? error : "no statement");
  }
  if (count != 1) return PermissionDenied("only one read-only statement (SELECT) may run here");
  if (duckdb_prepare_extracted_statement(state_->connection, extracted, 0, &cleanup.statement) == DuckDBError) {
    const char* error = duckdb_prepare_error(cleanup.statement);
    return InvalidArgument(error ? error : "prepare failed");
  }
  if (!ReadOnlyType(duckdb_prepared_statement_type(cleanup.statement))) {
    return PermissionDenied("only one read-only statement (SELECT) may run here");
  }
  auto handle = std::make_unique<internal::ResultHandle>();
  duckdb_state state = duckdb_execute_prepared(cleanup.statement, &handle->result);
  return TakeResult(std::move(handle), state);
}

bool Connection::HoldsSessionState(const std::vector<std::string>& expected_views) {
  std::string expected;
  for (const auto& name : expected_views) expected += (expected.empty() ? "" : ", ") + common::QuoteLiteral(name);
  const std::string sql =
      "SELECT (SELECT count(*) FROM duckdb_tables() WHERE temporary)"
      " + (SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal" +
      (expected.empty() ? std::string() : " AND view_name NOT IN (" + expected + ")") +
      ") + (SELECT count(*) FROM duckdb_sequences() WHERE temporary)"
      " + (SELECT count(*) FROM duckdb_functions() WHERE database_name = 'temp' AND NOT internal)"
      " + (CASE WHEN current_schema() = 'main' AND current_setting('search_path') = '' THEN 0 ELSE 1 END)"
      " + (CASE WHEN coalesce(current_setting('enable_profiling'), '') = '' THEN 0 ELSE 1 END) AS n";
  auto result = Query(sql);
  if (!result.ok()) return true;
  auto text = ColumnText(*result, 0);
  return !text.ok() || text->empty() || text->front() != "0";
}

Result<std::vector<ColumnInfo>> Connection::Describe(const std::string& sql) {
  ASSIGN_OR_RETURN(duckdb_prepared_statement statement, PrepareIn(*state_, sql));
  std::vector<ColumnInfo> columns;
  idx_t count = duckdb_prepared_statement_column_count(statement);
  for (idx_t i = 0; i < count; ++i) {
    const char* name = duckdb_prepared_statement_column_name(statement, i);
    duckdb_logical_type type = duckdb_prepared_statement_column_logical_type(statement, i);
    columns.push_back({name ? name : "", internal::DescribeType(type)});
    duckdb_free(const_cast<char*>(name));
    duckdb_destroy_logical_type(&type);
  }
  return columns;
}

void Connection::Interrupt() { duckdb_interrupt(state_->connection); }

}  // namespace dram::engine
