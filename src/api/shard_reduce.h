#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/compiled_endpoint.h"
#include "common/mutex.h"
#include "dram/endpoint.h"
#include "dram/status.h"
#include "engine/connection.h"
#include "engine/columnar_table_function.h"
#include "engine/database.h"
#include "engine/result_encoder.h"
#include "engine/type_info.h"

namespace dram::api {

// One shard's answer to a map step, as members send it to each other: its rows in dram's columnar
// wire format (engine::EncodeColumnar: typed binary columns, the header naming each column's
// DuckDB type), read back by the reducer with their own types and no text to parse. Measured
// against the exact CSV in JSON it replaced (bench/reduce_bench.cc, wire format section): 2.2-2.4x
// fewer bytes, member encode 2-17x and coordinator decode+reduce 1.1-4x less CPU (small partials
// gain least: the reduce query's own cost dominates them).
struct PartialResult {
  int shard = 0;
  std::string snapshot;                     // the snapshot it was computed on
  std::vector<engine::ColumnInfo> columns;  // the payload's (engine::ColumnarTableFunction::Columns)
  std::string payload;                      // the rows, columnar (engine::EncodeColumnar)
  int64_t rows = 0;
  int64_t count = -1;                       // a list endpoint's total on this shard (-1: not asked)
  int64_t watermark_ms = 0;                 // the snapshot's newest source file (ms since the epoch; 0: unknown)
  // Set when this partial stands for several shards a member combined (ShardPlan::combine_sql):
  // each one's number and snapshot (`shard` and `snapshot` are then the first's).
  std::vector<std::pair<int, std::string>> combined;
};

// A query's result as a partial (shard and snapshot left for the caller to fill). Errors:
// Unimplemented for a column type the wire format does not carry (BLOB, nested types, INTERVAL).
Result<PartialResult> PartialOf(engine::QueryResult& result);

// Runs a shard plan's map step on `connection` (a copy of one shard). Errors: the query's;
// Unimplemented for a column type the wire format does not carry (BLOB, nested types, INTERVAL).
Result<PartialResult> RunMap(engine::Connection& connection, const QueryPlan& map);

// What a reduce step gives: the encoded rows and the total when the plan asked for one.
struct Reduced {
  std::vector<engine::ColumnInfo> columns;
  size_t rows = 0;
  std::optional<int64_t> total;
  bool merged = false;  // by ShardPlan::merge, without a query
};

// Runs reduce steps (ShardPlan::reduce_sql over the partial results) in an in-memory DuckDB of
// its own, sealed (it reads no file: the partials' payloads reach it through a table function).
// Thread-safe: up to `connections` queries at once (merges, engine::MergePartials, need no
// connection and run on the caller's thread).
class ShardReducer {
 public:
  static Result<std::unique_ptr<ShardReducer>> Create(size_t connections);
  ~ShardReducer();
  ShardReducer(const ShardReducer&) = delete;
  ShardReducer& operator=(const ShardReducer&) = delete;

  // Appends the reduced rows to `body` in `format`: by the plan's merge when it has one that
  // answers, else by its reduce_sql. Errors: InvalidArgument when the partials' columns differ
  // from each other; DataLoss for a corrupt partial; Internal from DuckDB; Unavailable when no
  // connection frees up within `timeout`.
  Result<Reduced> Reduce(const ShardPlan& plan, const std::vector<PartialResult>& partials, engine::Format format,
                         std::string& body, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // One partial for several (ShardPlan::combine_sql over them), with their columns and types, the
  // sum of their counts and every shard it stands for. Errors: as Reduce's.
  Result<PartialResult> Combine(const std::string& combine_sql, const std::vector<PartialResult>& partials,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // A C++ analysis's reduce step (CodeEndpoint::reduce, its params bound): it queries `partials`.
  using CodeReduce = std::function<Result<Rows>(QuerySession& partials)>;
  // Runs `reduce` over `partials` and appends its rows to `body` in `format`. Errors: as Reduce,
  // and the reduce's own.
  Result<Reduced> ReduceWith(const CodeReduce& reduce, const std::vector<PartialResult>& partials, engine::Format format,
                             std::string& body, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // The shard of a database split by a column (database::NarrowToShard: hash(column) % shards)
  // that holds rows whose column is `value`, computed by this DuckDB as the members' own does.
  // Errors: InvalidArgument when the value does not cast to `column_type`.
  Result<int> ShardOf(const Value& value, const std::string& column_type, int shards);

 private:
  // Checks that `partials` agree on their columns; fills `texts` for the table function and
  // returns the `WITH partials AS (…) ` that reads them typed.
  static Result<std::string> PartialsWith(const std::vector<PartialResult>& partials, std::vector<std::string_view>& texts);
  ShardReducer(std::unique_ptr<engine::Database> database, std::unique_ptr<engine::ColumnarTableFunction> partials,
               std::unique_ptr<engine::ConnectionPool> pool);
  // Destroyed in reverse: the pool, the database, then the function it calls.
  std::unique_ptr<engine::ColumnarTableFunction> partials_;
  std::unique_ptr<engine::Database> database_;
  std::unique_ptr<engine::ConnectionPool> pool_;
};

}  // namespace dram::api
