#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/endpoint_spec.h"
#include "common/diagnostics.h"
#include "database/snapshot.h"
#include "dram/status.h"
#include "dram/value.h"
#include "engine/partial_merge.h"
#include "engine/type_info.h"

namespace dram::engine {
class Connection;
}  // namespace dram::engine

namespace dram::api {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// What one request asks of an endpoint, validated and typed.
struct RequestArgs {
  std::vector<Value> values;      // per declared param (null when absent and no default)
  std::vector<bool> given;        // per declared param: given in the request
  std::vector<size_t> outputs;    // indices into outputs(), in declared order
  int64_t limit = 0;
  int64_t offset = 0;
  std::optional<OrderItem> sort;  // from the sort param
  std::string format = "json";
  bool want_total = false;
  // ?partial=allow: over a sharded database, answer from the shards that have a ready copy
  // (meta.partial) rather than 503 when some have none.
  bool allow_partial = false;
  // ?consistency=stale: over a sharded database, read each shard from its nearest ready copy
  // whatever data version it serves (meta.stale), rather than every shard at one version.
  bool stale = false;
  std::string tenant;             // the caller's tenant, for tenant-scoped endpoints
  std::string canonical;          // normalized args, for cache keys and ETags
};

// The SQL for one request with its bound values ($1..$n).
struct QueryPlan {
  std::string sql;
  std::string count_sql;  // empty unless a total is wanted; takes the same values minus limit/offset
  std::vector<Value> values;
  size_t filter_value_count = 0;
};

// One request split over the shards of a sharded database (decomposed automatically): `map` runs
// on every shard; `reduce_sql`, over their results read as the table `partials`, answers what
// Plan() answers on the whole data. sum/count/min/max pass through, avg = sum/count, count of
// distinct values only when the shards split by that column (each value in one shard); an ordered
// page takes the top limit+offset rows of each shard, then merges. Column names of partials
// start with "__dram_" (never an output's).
//
// An analysis plans its own map and reduce (the endpoint's map and reduce texts, with the
// tenant's rows kept by the map step).
struct ShardPlan {
  QueryPlan map;                    // map.count_sql: a list endpoint's total, counted per shard
  std::string reduce_sql;           // over `partials`; its last two values are limit, offset
  std::vector<Value> reduce_values;
  std::string total_sql;            // the total (the reduce's rows), over `partials`; reduce_values but limit, offset
  bool sum_counts = false;          // a list endpoint's total: the sum of the shards' counts
  // Over `partials` of several shards, rows shaped as the map's (its columns, in order) that
  // stand for all of them in the reduce: a member holding several shards sends one partial (sums
  // of sums, min of mins, the first limit+offset rows). Empty: the reduce is not known to merge
  // that way (an analysis's).
  std::string combine_sql;
  // reduce_sql (and total_sql) as steps to run without a query (engine::MergePartials), for the
  // plans of declarative endpoints; the reducer runs reduce_sql when the merge refuses. None for
  // analyses (their SQL is theirs).
  std::optional<engine::PartialMerge> merge;
};

// An endpoint compiled against one snapshot's schema: identifiers checked, SQL fragments quoted,
// output columns typed. Immutable and thread-safe once built; request values are only ever bound.
class CompiledEndpoint {
 public:
  // Problems go to `diagnostics` at the spec's file:line:column; returns null if there were any.
  static std::unique_ptr<CompiledEndpoint> Compile(const EndpointSpec& spec, const database::Snapshot& snapshot,
                                                   common::Diagnostics& diagnostics);

  // Validates the query string against the spec. Errors: InvalidArgument (→ 422).
  Result<RequestArgs> ParseRequest(const QueryParams& query, std::string_view accept) const;
  QueryPlan Plan(const RequestArgs& args) const;
  // The plan split across shards (see ShardPlan). `shard_column`: the column the database is
  // sharded by ("" when by file). Errors: Unimplemented for SQL templates and C++ endpoints (their
  // SQL is opaque: they need an analysis's map and reduce); FailedPrecondition for a count of distinct
  // values of a column the shards do not split by (not exact per shard).
  Result<ShardPlan> PlanShards(const RequestArgs& args, const std::string& shard_column) const;
  // When a request pins the column its database is sharded by to one value (the caller's tenant,
  // the tenant column being the shard column, or an `eq` filter on it): that value and the
  // column's type. Only the shard holding that value has rows for the request; the others would
  // add nothing to any reduce (no rows, no groups, counts of 0). nullopt otherwise, and for SQL
  // templates, analyses and C++ endpoints (their SQL is opaque).
  struct ShardKey {
    Value value;
    std::string column_type;  // DuckDB's name of the column's type ("BIGINT", "VARCHAR", …)
  };
  std::optional<ShardKey> ShardKeyOf(const RequestArgs& args, const std::string& shard_column) const;
  // The plan's conditions on the endpoint's table that decide which files a lazy database
  // must fetch, keyed by table; empty for SQL templates and C++ endpoints (their SQL is opaque:
  // every file of every table is read). Conditions it cannot express are left out.
  std::map<std::string, std::vector<database::Predicate>> Predicates(const RequestArgs& args) const;
  // Scopes `args` to the caller's tenant (tenant-scoped endpoints; part of cache key and ETag).
  void SetTenant(RequestArgs& args, std::string_view tenant) const;
  bool tenant_scoped() const { return !tenant_sql_.empty(); }

  const EndpointSpec& spec() const { return spec_; }
  const std::vector<engine::ColumnInfo>& outputs() const { return outputs_; }
  // "/v1/name"
  const std::string& route() const { return route_; }
  int ParamIndex(std::string_view name) const;
  // Whether a filter compares this (date) param with a timestamp column, so that it stands for
  // whole days (for the OpenAPI description).
  bool MeansWholeDays(int param_index) const;

 private:
  using ErrorSink = std::function<void(const SourcePosition&, std::string)>;
  explicit CompiledEndpoint(EndpointSpec spec) : spec_(std::move(spec)) {}
  // Compile steps, in order; each reports problems to `error`.
  void CompileTemplateSql(const ErrorSink& error);
  // An analysis: checks its map on its own (errors at `map`), then reduce over it (at `reduce`).
  bool CompileAnalysis(engine::Connection& connection, const ErrorSink& error);
  void CompileTableQuery(const database::TableInfo& table, const ErrorSink& error);
  std::string DescribeSql() const;
  void KeepOutputs(const std::vector<engine::ColumnInfo>& described, const ErrorSink& error);
  void CompileOrder(const database::TableInfo* table, const ErrorSink& error);
  // Whether it groups or aggregates (answers groups, or one row of aggregates), not table rows.
  bool AnswersGroups() const;
  // Plain rows of a table stored sorted (TableInfo::storage_order): which filters may pin a column.
  void CompileStorageOrder(const database::TableInfo& table);
  void CheckEveryFilter(engine::Connection& connection, const ErrorSink& error) const;
  // Whether the request's order (sort param, order_by, tiebreakers) is the table's storage order
  // once the columns its eq filters pin are left out of both: then a scan gives the rows in the
  // order asked for, and the query needs no ORDER BY (DuckDB keeps insertion order through
  // filters, LIMIT and OFFSET).
  bool StorageOrderAnswers(const RequestArgs& args) const;

  // The expression to ORDER BY for an output, group key or table column.
  std::string OrderSql(const std::string& column) const;
  // `typed`: placeholders are cast to their value's type (the load-time check of each shape).
  QueryPlan PlanShape(const RequestArgs& args, bool typed) const;
  void AppendFilters(const RequestArgs& args, bool typed, std::string& sql, std::vector<Value>& values) const;
  std::string BuildBaseQuery(const RequestArgs& args, bool typed, std::vector<Value>& values, bool with_order) const;
  ShardPlan PlanAnalysisShards(const RequestArgs& args) const;

  EndpointSpec spec_;
  std::string route_;
  std::string from_;                         // FROM clause body: quoted table, or (template) AS q
  std::vector<std::string> output_sql_;      // per output: its select expression with alias
  std::vector<engine::ColumnInfo> outputs_;  // the allowed outputs, typed
  std::vector<std::string> filter_columns_;  // quoted, per filter
  std::vector<int> filter_params_[2];        // param index per filter (first, second)
  std::vector<bool> whole_day_;              // per filter: a date param against a TIMESTAMP column
  std::set<std::string> output_names_;       // every output the query has, allowlisted or not
  std::map<std::string, std::string> column_types_;  // the table's columns (not templates)
  std::map<std::string, std::string> order_sql_;  // output name → expression to order by
  std::string group_by_sql_;
  std::string tenant_sql_;                   // quoted tenant column; empty when not tenant-scoped
  std::vector<std::string> storage_order_sql_;  // quoted: the table's storage order, when this endpoint may use it
  std::vector<engine::TypeKind> filter_kinds_;  // per filter: an eq's column type (kOther: not an eq)
  bool tenant_pins_ = false;                    // the tenant filter leaves its column one value
  std::string order_by_sql_;
  std::vector<OrderItem> order_items_;       // order_by_sql_ as columns (for PlanShards)
  bool is_template_ = false;
  // An analysis (is_template_ too): from_ is its reduce over `partials`, numbered after map_from_
  // (one statement: WITH partials AS (map) reduce); reduce_alone_from_ is numbered on its own,
  // for a reduce step over the shards' results. Slots: the declared param each placeholder binds.
  bool is_analysis_ = false;
  std::string map_from_;
  std::vector<int> map_slots_;      // of map_from_, continued by from_'s in combined_slots_
  std::vector<int> combined_slots_;
  std::string reduce_alone_from_;
  std::vector<int> reduce_slots_;
};

}  // namespace dram::api
