#include "api/shard_reduce.h"

#include <algorithm>
#include <cctype>

#include "api/code_endpoint_support.h"
#include "common/json_text.h"
#include "common/log.h"
#include "common/sql_text.h"
#include "engine/connection_pool.h"
#include "engine/columnar_codec.h"
#include "engine/partial_merge.h"

namespace dram::api {

namespace {

// The table function the partials are read through (see engine::ColumnarTableFunction).
constexpr char kPartialsFunction[] = "dram_partials";

}  // namespace

Result<PartialResult> PartialOf(engine::QueryResult& result) {
  PartialResult partial;
  ASSIGN_OR_RETURN(size_t rows, engine::EncodeColumnar(result, partial.payload));
  // The columns as the payload's header says (an ENUM's name lists its values): the names the
  // reducer's call gives, and the types a combine casts back to.
  ASSIGN_OR_RETURN(partial.columns, engine::ColumnarTableFunction::Columns(partial.payload));
  partial.rows = static_cast<int64_t>(rows);
  return partial;
}

Result<PartialResult> RunMap(engine::Connection& connection, const QueryPlan& map) {
  ASSIGN_OR_RETURN(engine::QueryResult result, connection.QuerySelect(map.sql, map.values));
  ASSIGN_OR_RETURN(PartialResult partial, PartialOf(result));
  if (!map.count_sql.empty()) {
    std::vector<Value> filter_values(map.values.begin(), map.values.begin() + static_cast<long>(map.filter_value_count));
    ASSIGN_OR_RETURN(engine::QueryResult counted, connection.Query(map.count_sql, filter_values));
    ASSIGN_OR_RETURN(auto text, engine::ColumnText(counted, 0));
    partial.count = text.empty() ? 0 : std::stoll(text.front());
  }
  return partial;
}

Result<std::unique_ptr<ShardReducer>> ShardReducer::Create(size_t connections) {
  ASSIGN_OR_RETURN(auto database, engine::Database::Open("", {.read_only = false, .threads = 1}));
  ASSIGN_OR_RETURN(auto partials, engine::ColumnarTableFunction::Register(*database, kPartialsFunction));
  ASSIGN_OR_RETURN(auto pool, engine::ConnectionPool::Create(*database, std::max<size_t>(1, connections)));
  // The reduce SQL is an endpoint's or an admin's, never a request's; still, the engine reads no
  // file at all: the partials come in through the table function.
  RETURN_IF_ERROR(database->Seal({}));
  return std::unique_ptr<ShardReducer>(new ShardReducer(std::move(database), std::move(partials), std::move(pool)));
}

ShardReducer::ShardReducer(std::unique_ptr<engine::Database> database, std::unique_ptr<engine::ColumnarTableFunction> partials,
                           std::unique_ptr<engine::ConnectionPool> pool)
    : partials_(std::move(partials)), database_(std::move(database)), pool_(std::move(pool)) {}

ShardReducer::~ShardReducer() = default;

Result<int> ShardReducer::ShardOf(const Value& value, const std::string& column_type, int shards) {
  // The type comes from the snapshot's schema; still, only a type's name goes into the SQL.
  const bool plain = !column_type.empty() && std::all_of(column_type.begin(), column_type.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ' ' || c == '(' || c == ')' || c == ',';
  });
  if (!plain || shards < 1) return InvalidArgument("cannot compute the shard of a " + column_type + " value");
  ASSIGN_OR_RETURN(auto lease, pool_->Acquire(std::chrono::seconds(5)));
  const std::vector<Value> values = {value};
  ASSIGN_OR_RETURN(engine::QueryResult result, lease->Query("SELECT (hash(CAST($1 AS " + column_type + ")) % " +
                                                                std::to_string(shards) + ")::INTEGER AS shard",
                                                            values));
  ASSIGN_OR_RETURN(auto text, engine::ColumnText(result, 0));
  if (text.size() != 1 || text.front().empty()) return InvalidArgument("no shard for a NULL value");
  return std::stoi(text.front());
}

Result<Reduced> ShardReducer::Reduce(const ShardPlan& plan, const std::vector<PartialResult>& partials, engine::Format format,
                                     std::string& body, std::chrono::milliseconds timeout) {
  Reduced reduced;
  if (plan.sum_counts) {
    int64_t total = 0;
    for (const auto& partial : partials) total += std::max<int64_t>(0, partial.count);
    reduced.total = total;
  }
  if (plan.merge && !partials.empty()) {
    // Without a query when the merge can promise the query's answer (engine::MergePartials,
    // which checks that the payloads' headers agree), so without the query's text either.
    std::vector<std::string_view> payloads;
    payloads.reserve(partials.size());
    for (const auto& partial : partials) payloads.push_back(partial.payload);
    const size_t mark = body.size();
    auto merged = engine::MergePartials(*plan.merge, payloads, format, body);
    if (merged.ok()) {
      reduced.columns = std::move(merged->columns);
      reduced.rows = merged->rows;
      if (!plan.total_sql.empty()) reduced.total = static_cast<int64_t>(merged->groups);
      reduced.merged = true;
      return reduced;
    }
    body.resize(mark);
    // A corrupt partial fails the query too; merge steps that do not fit the partials (a planning
    // bug, or a member's bad steps reaching the smart client) are logged, and the query answers.
    if (merged.status().code() == StatusCode::kDataLoss) return merged.status();
    if (merged.status().code() != StatusCode::kUnimplemented) {
      std::string fields = "\"error\":";
      common::AppendJsonString(fields, merged.status().message());
      common::Log(common::LogLevel::kWarn, "merge steps refused; the reduce runs as a query", fields);
    }
  }
  std::vector<std::string_view> texts;
  ASSIGN_OR_RETURN(const std::string with, PartialsWith(partials, texts));
  ASSIGN_OR_RETURN(auto lease, pool_->Acquire(timeout));
  const auto provided = partials_->Provide(*lease, std::move(texts));  // until the rows are encoded
  ASSIGN_OR_RETURN(engine::QueryResult result, lease->QuerySelect(with + plan.reduce_sql, plan.reduce_values));
  reduced.columns = result.Columns();
  ASSIGN_OR_RETURN(reduced.rows, engine::EncodeResult(result, format, body));
  if (!plan.total_sql.empty()) {
    const std::vector<Value> values(plan.reduce_values.begin(), plan.reduce_values.end() - 2);  // not limit, offset
    ASSIGN_OR_RETURN(engine::QueryResult counted, lease->Query(with + plan.total_sql, values));
    ASSIGN_OR_RETURN(auto text, engine::ColumnText(counted, 0));
    reduced.total = text.empty() ? 0 : std::stoll(text.front());
  }
  return reduced;
}

Result<PartialResult> ShardReducer::Combine(const std::string& combine_sql, const std::vector<PartialResult>& partials,
                                            std::chrono::milliseconds timeout) {
  std::vector<std::string_view> texts;
  ASSIGN_OR_RETURN(const std::string with, PartialsWith(partials, texts));
  PartialResult out;
  out.columns = partials.front().columns;
  out.shard = partials.front().shard;
  out.snapshot = partials.front().snapshot;
  // Each column as the shards sent it (a sum of BIGINT counts would be a HUGEINT otherwise), so
  // that the combined partial merges with single shards' in the reduce.
  std::string select = "SELECT ";
  for (size_t i = 0; i < out.columns.size(); ++i) {
    const std::string column = common::QuoteIdentifier(out.columns[i].name);
    select += (i ? ", " : "") + std::string("CAST(") + column + " AS " + out.columns[i].type.sql_name + ") AS " + column;
  }
  ASSIGN_OR_RETURN(auto lease, pool_->Acquire(timeout));
  const auto provided = partials_->Provide(*lease, std::move(texts));
  ASSIGN_OR_RETURN(engine::QueryResult result, lease->QuerySelect(with + select + " FROM (" + combine_sql + ") AS combined", {}));
  ASSIGN_OR_RETURN(size_t rows, engine::EncodeColumnar(result, out.payload));
  out.rows = static_cast<int64_t>(rows);
  for (const auto& partial : partials) {
    if (partial.count >= 0) out.count = std::max<int64_t>(0, out.count) + partial.count;
    if (partial.watermark_ms > 0 && (out.watermark_ms == 0 || partial.watermark_ms < out.watermark_ms)) {
      out.watermark_ms = partial.watermark_ms;
    }
    if (partial.combined.empty()) {
      out.combined.emplace_back(partial.shard, partial.snapshot);
    } else {
      out.combined.insert(out.combined.end(), partial.combined.begin(), partial.combined.end());
    }
  }
  return out;
}

namespace {

// A C++ reduce step's view of the partials: each statement it runs gets `partials` as a CTE
// (first among its own, when it has a WITH clause), and only a SELECT runs.
class PartialsSession : public QuerySession {
 public:
  PartialsSession(engine::Connection& connection, const std::string& with) : connection_(connection), with_(with) {}
  Result<Rows> Query(const std::string& sql, const std::vector<Value>& params) override {
    size_t start = sql.find_first_not_of(" \t\r\n");
    auto keyword = [&](std::string_view word) {
      if (start == std::string::npos || sql.size() < start + word.size() + 1) return false;
      for (size_t i = 0; i < word.size(); ++i) {
        if (std::toupper(static_cast<unsigned char>(sql[start + i])) != word[i]) return false;
      }
      return std::isspace(static_cast<unsigned char>(sql[start + word.size()])) != 0;
    };
    std::string text = with_ + sql;
    if (keyword("WITH")) {
      start = sql.find_first_not_of(" \t\r\n", start + 4);
      const bool recursive = keyword("RECURSIVE");
      if (recursive) start = sql.find_first_not_of(" \t\r\n", start + 9);
      // with_ is "WITH partials AS (…) ".
      if (start != std::string::npos) text = (recursive ? "WITH RECURSIVE " : "WITH ") + with_.substr(5) + ", " + sql.substr(start);
    }
    ASSIGN_OR_RETURN(auto result, connection_.QuerySelect(text, params));
    return Rows(std::make_unique<Rows::Impl>(Rows::Impl{std::move(result)}));
  }

 private:
  engine::Connection& connection_;
  const std::string& with_;
};

}  // namespace

Result<Reduced> ShardReducer::ReduceWith(const CodeReduce& reduce, const std::vector<PartialResult>& partials,
                                         engine::Format format, std::string& body, std::chrono::milliseconds timeout) {
  std::vector<std::string_view> texts;
  ASSIGN_OR_RETURN(const std::string with, PartialsWith(partials, texts));
  ASSIGN_OR_RETURN(auto lease, pool_->Acquire(timeout));
  const auto provided = partials_->Provide(*lease, std::move(texts));  // until the rows are encoded
  PartialsSession session(*lease, with);
  ASSIGN_OR_RETURN(Rows rows, reduce(session));
  Reduced reduced;
  reduced.columns = rows.impl().result.Columns();
  ASSIGN_OR_RETURN(reduced.rows, engine::EncodeResult(rows.impl().result, format, body));
  return reduced;
}

Result<std::string> ShardReducer::PartialsWith(const std::vector<PartialResult>& partials, std::vector<std::string_view>& texts) {
  if (partials.empty()) return InvalidArgument("a reduce step needs at least one partial result");
  for (const auto& partial : partials) {
    if (partial.columns.size() != partials.front().columns.size()) return InvalidArgument("shards answered different columns");
    for (size_t i = 0; i < partial.columns.size(); ++i) {
      if (partial.columns[i].name != partials.front().columns[i].name ||
          partial.columns[i].type.sql_name != partials.front().columns[i].type.sql_name) {
        return InvalidArgument("shards answered different columns");
      }
    }
  }
  // The partials go to DuckDB as the bytes they arrived in, through a table function, not files:
  // no file to write and no reader to set up per reduce, and the statement's text depends on the
  // plan and the columns' types alone, so it is prepared once per connection (with CSV text: 4
  // partials of 50 groups 1.65 → 0.68 ms per reduce against a file + read_csv; bench/reduce_bench.cc).
  for (const auto& partial : partials) texts.push_back(partial.payload);
  // `partials` is a CTE, so an analysis's own reduce text reads it by name wherever it does.
  return "WITH partials AS (SELECT * FROM " + engine::ColumnarTableFunction::Call(kPartialsFunction, partials.front().columns) +
         ") ";
}

}  // namespace dram::api
