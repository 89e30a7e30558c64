#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dram/value.h"

namespace dram::api {

enum class ParamType { kString, kInteger, kNumber, kBoolean, kDate, kTimestamp, kEnum };

// Where a spec element was declared, for diagnostics after parsing (1-based).
struct SourcePosition {
  std::string file;
  int line = 0;
  int column = 0;
};

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  bool is_list = false;
  bool required = false;
  std::optional<Value> default_value;
  std::optional<double> min;  // integer and number params
  std::optional<double> max;
  std::vector<std::string> enum_values;
  std::map<std::string, std::string> value_aliases;  // request value → canonical value
  size_t max_items = 100;                             // list params
  size_t max_length = 1024;                           // string params
  std::string description;
  SourcePosition position;
};

enum class FilterOp { kEq, kNe, kLt, kLte, kGt, kGte, kIn, kBetween, kPrefix, kIsNull };

struct FilterSpec {
  std::string column;
  FilterOp op = FilterOp::kEq;
  std::vector<std::string> params;  // one, or two for between (lower, upper)
  SourcePosition position;
};

enum class Aggregate { kNone, kSum, kAvg, kMin, kMax, kCount, kCountDistinct };

struct SelectItem {
  std::string column;  // empty for count(*)
  Aggregate aggregate = Aggregate::kNone;
  std::string as;      // output name; defaults to the column (or the aggregate's name)
  SourcePosition position;
};

struct OrderItem {
  std::string column;
  bool descending = false;
};

// `sort: {param: sort, allowed: [day, revenue], default: -day}`: the order comes from a request
// parameter whose value is one of `allowed`, prefixed by '-' for descending.
struct SortParamSpec {
  std::string param;
  std::vector<std::string> allowed;
  std::string default_value;
};

struct EndpointSpec {
  std::string name;
  int version = 1;
  std::string dataset;
  std::string table;        // may be empty when the dataset has exactly one table
  // When set, every query is restricted to the caller's tenant: the compiler adds
  // `tenant_column = <tenant of the caller>` (bound), and no param may name this column.
  std::string tenant_column;
  std::string description;
  std::string owner;
  std::vector<ParamSpec> params;
  // When set, the params a request gives must all belong to one of these sets.
  std::vector<std::vector<std::string>> combinations;
  std::vector<FilterSpec> filters;
  std::vector<std::string> group_by;
  std::vector<SelectItem> select;  // empty: the allowed columns as they are
  std::vector<OrderItem> order_by;
  std::optional<SortParamSpec> sort;
  std::vector<std::string> columns;  // allowlist of output columns; empty: all
  int64_t default_limit = 100;
  int64_t max_limit = 1000;
  bool total = false;  // also count the rows of the whole result (meta.total)
  std::vector<std::string> formats = {"json", "csv", "ndjson"};
  bool cache = true;
  int64_t max_age_s = 0;  // Cache-Control max-age
  std::string sql;        // a SQL template endpoint: {{param}} placeholders; replaces filters/select
  // An analysis (both set, instead of sql): `map` runs on every shard of the dataset (on the whole
  // data when it is not sharded), `reduce` over the union of its results, read as the table
  // `partials`, gives the answer. Both are templates with {{param}} placeholders.
  std::string map_sql;
  std::string reduce_sql;
  bool is_analysis() const { return !map_sql.empty(); }
  bool is_code = false;   // implemented by a C++ handler (dram::CodeEndpoint)
  // Served without credentials even when auth is on (rate-limited per client address); cannot
  // be tenant-scoped.
  bool is_public = false;
  SourcePosition position;
  // Where top-level fields were declared ("sql", "sort", "order_by", …), so problems found when
  // the endpoint is compiled point at their line rather than at the file's start.
  std::map<std::string, SourcePosition> field_positions;

  const SourcePosition& PositionOf(const std::string& field) const {
    auto found = field_positions.find(field);
    return found == field_positions.end() ? position : found->second;
  }
};

}  // namespace dram::api
