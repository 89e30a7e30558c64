#include "api/compiled_endpoint.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <set>

#include "api/param_parser.h"
#include "api/project.h"
#include "api/sql_template.h"
#include "common/sql_text.h"
#include "engine/connection.h"
#include "engine/database.h"

namespace dram::api {

namespace {

std::string Quote(std::string_view name) { return common::QuoteIdentifier(name); }

std::string_view AggregateName(Aggregate aggregate) {
  switch (aggregate) {
    case Aggregate::kSum: return "sum";
    case Aggregate::kAvg: return "avg";
    case Aggregate::kMin: return "min";
    case Aggregate::kMax: return "max";
    case Aggregate::kCount: return "count";
    case Aggregate::kCountDistinct: return "count_distinct";
    case Aggregate::kNone: return "";
  }
  return "";
}

std::string SelectExpression(const SelectItem& item) {
  std::string column = item.column.empty() ? "*" : Quote(item.column);
  switch (item.aggregate) {
    case Aggregate::kNone: return column;
    case Aggregate::kCountDistinct: return "count(DISTINCT " + column + ")";
    default: return std::string(AggregateName(item.aggregate)) + "(" + column + ")";
  }
}

std::string OutputName(const SelectItem& item) {
  if (!item.as.empty()) return item.as;
  if (item.aggregate == Aggregate::kNone) return item.column;
  if (item.column.empty()) return std::string(AggregateName(item.aggregate));
  return std::string(AggregateName(item.aggregate)) + "_" + item.column;
}

void AppendCanonical(std::string& out, const Value& value) {
  struct Visitor {
    std::string& out;
    void operator()(std::monostate) { out += "~"; }
    void operator()(bool v) { out += v ? "t" : "f"; }
    void operator()(int64_t v) { out += std::to_string(v); }
    void operator()(double v) {
      // Shortest form that reads back as the same double: distinct numbers never share a key
      // (std::to_string kept 6 decimals, so 4999.9 and 4999.9000001 did).
      char text[32];
      auto [end, ec] = std::to_chars(text, text + sizeof(text), v);
      out += 'n';
      out.append(text, end);
    }
    void operator()(const std::string& v) {
      // Length-prefixed, so no value can forge a separator.
      out += std::to_string(v.size());
      out += ':';
      out += v;
    }
    void operator()(Date v) { out += "d" + std::to_string(v.days); }
    void operator()(Timestamp v) { out += "ts" + std::to_string(v.micros); }
    void operator()(const Value::List& list) {
      out += '[';
      for (const auto& item : list) {
        AppendCanonical(out, item);
        out += ',';
      }
      out += ']';
    }
  };
  std::visit(Visitor{out}, value.data);
}

}  // namespace

int CompiledEndpoint::ParamIndex(std::string_view name) const {
  for (size_t i = 0; i < spec_.params.size(); ++i) {
    if (spec_.params[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

namespace {

// A value of the param's type, to prepare a query shape at load without a request.
Value SampleValue(const ParamSpec& param) {
  Value scalar;
  switch (param.type) {
    case ParamType::kString: scalar = Value(std::string("x")); break;
    case ParamType::kEnum: scalar = Value(param.enum_values.empty() ? std::string() : param.enum_values[0]); break;
    case ParamType::kInteger: scalar = Value(int64_t{0}); break;
    case ParamType::kNumber: scalar = Value(0.0); break;
    case ParamType::kBoolean: scalar = Value(true); break;
    case ParamType::kDate: scalar = Value(Date{0}); break;
    case ParamType::kTimestamp: scalar = Value(Timestamp{0}); break;
  }
  return param.is_list ? Value(Value::List{scalar}) : scalar;
}

bool IsNested(const engine::TypeInfo& type) {
  return type.kind == engine::TypeKind::kList || type.kind == engine::TypeKind::kStruct ||
         type.kind == engine::TypeKind::kMap || type.kind == engine::TypeKind::kArray ||
         type.kind == engine::TypeKind::kUnion;
}

std::string_view SqlTypeOfValue(const Value& value) {
  if (value.is<bool>()) return "BOOLEAN";
  if (value.is<int64_t>()) return "BIGINT";
  if (value.is<double>()) return "DOUBLE";
  if (value.is<Date>()) return "DATE";
  if (value.is<Timestamp>()) return "TIMESTAMP";
  return "VARCHAR";
}

// The day after `value` (a Date): the exclusive upper bound of a whole day.
Value NextDay(const Value& value) { return Value(Date{value.as<Date>().days + 1}); }

}  // namespace

std::unique_ptr<CompiledEndpoint> CompiledEndpoint::Compile(const EndpointSpec& spec, const database::Snapshot& snapshot,
                                                            common::Diagnostics& diagnostics) {
  std::unique_ptr<CompiledEndpoint> endpoint(new CompiledEndpoint(spec));
  endpoint->route_ = "/v" + std::to_string(spec.version) + "/" + spec.name;
  if (spec.is_code) return endpoint;  // rows come from the handler; params are all there is to check
  size_t errors_before = diagnostics.size();
  ErrorSink error = [&](const SourcePosition& at, std::string message) {
    diagnostics.Add(at.file, at.line, at.column, std::move(message));
  };
  auto lease = snapshot.pool().Acquire(std::chrono::seconds(30));
  if (!lease.ok()) {
    error(spec.position, "cannot check endpoint: " + lease.status().message());
    return nullptr;
  }
  engine::Connection& connection = **lease;
  const database::TableInfo* table = nullptr;
  if (spec.is_analysis()) {
    if (!endpoint->CompileAnalysis(connection, error)) return nullptr;
  } else if (!spec.sql.empty()) {
    endpoint->CompileTemplateSql(error);
  } else {
    table = snapshot.FindTable(spec.table);
    if (!table) {
      error(spec.PositionOf("table"), "dataset '" + spec.dataset + "' has no table '" + spec.table + "'");
      return nullptr;
    }
    endpoint->CompileTableQuery(*table, error);
  }
  if (diagnostics.size() != errors_before) return nullptr;
  auto described = connection.Describe(endpoint->DescribeSql());
  if (!described.ok()) {
    const char* field = endpoint->is_analysis_ ? "reduce" : endpoint->is_template_ ? "sql" : "select";
    error(spec.PositionOf(field), std::string(endpoint->is_analysis_ ? "reduce does not compile over the map's results" : "query does not compile") +
                                      " against dataset '" + spec.dataset + "': " + described.status().message());
    return nullptr;
  }
  bool unresolved = std::any_of(described->begin(), described->end(),
                                [](const auto& c) { return c.type.kind == engine::TypeKind::kUnresolved; });
  if (endpoint->is_analysis_ && unresolved) {
    error(spec.PositionOf("reduce"), "reduce's columns depend on its params: cast them to a type");
    return nullptr;
  }
  if (endpoint->is_template_ && unresolved) {
    // The template's output depends on its parameters: serve its columns as they come, untyped.
    if (!spec.columns.empty()) error(spec.PositionOf("columns"), "this sql's columns are only known at run time: drop 'columns'");
    if (!spec.tenant_column.empty()) error(spec.PositionOf("tenant_column"), "a tenant-scoped sql endpoint needs columns known before run time");
    endpoint->output_sql_ = {"*"};
    return diagnostics.size() == errors_before ? std::move(endpoint) : nullptr;
  }
  endpoint->KeepOutputs(*described, error);
  endpoint->CompileOrder(table, error);
  if (diagnostics.size() != errors_before) return nullptr;
  if (table) endpoint->CompileStorageOrder(*table);
  endpoint->CheckEveryFilter(connection, error);
  if (diagnostics.size() != errors_before) return nullptr;
  return endpoint;
}

void CompiledEndpoint::CompileTemplateSql(const ErrorSink& error) {
  is_template_ = true;
  ExpandedTemplate expanded = ExpandTemplate(spec_);
  for (const auto& name : expanded.unknown) error(spec_.PositionOf("sql"), "sql uses undeclared param '" + name + "'");
  for (const auto& param : spec_.params) {
    if (!expanded.used.contains(param.name) && (!spec_.sort || spec_.sort->param != param.name)) {
      error(param.position, "param '" + param.name + "' is not used in sql");
    }
  }
  from_ = WrapTemplate(expanded.sql);
}

bool CompiledEndpoint::CompileAnalysis(engine::Connection& connection, const ErrorSink& error) {
  is_template_ = is_analysis_ = true;
  const auto& params = spec_.params;
  ExpandedTemplate map = ExpandTemplateText(spec_.map_sql, params, map_slots_);
  combined_slots_ = map_slots_;
  ExpandedTemplate reduce = ExpandTemplateText(spec_.reduce_sql, params, combined_slots_);
  ExpandedTemplate reduce_alone = ExpandTemplateText(spec_.reduce_sql, params, reduce_slots_);
  for (const auto& name : map.unknown) error(spec_.PositionOf("map"), "map uses undeclared param '" + name + "'");
  for (const auto& name : reduce.unknown) error(spec_.PositionOf("reduce"), "reduce uses undeclared param '" + name + "'");
  for (const auto& param : params) {
    if (!map.used.contains(param.name) && !reduce.used.contains(param.name) && (!spec_.sort || spec_.sort->param != param.name)) {
      error(param.position, "param '" + param.name + "' is used in neither map nor reduce");
    }
  }
  if (!map.unknown.empty() || !reduce.unknown.empty()) return false;
  map_from_ = WrapTemplate(map.sql);
  from_ = WrapTemplate(reduce.sql);
  reduce_alone_from_ = WrapTemplate(reduce_alone.sql);
  // The map on its own first, so that its problems point at `map`.
  auto described = connection.Describe("SELECT * FROM " + map_from_);
  if (!described.ok()) {
    error(spec_.PositionOf("map"), "map does not compile against dataset '" + spec_.dataset + "': " + described.status().message());
    return false;
  }
  bool ok = true;
  for (const auto& column : *described) {
    // Each shard's results travel to the member that reduces them (in the columnar format).
    if (!column.type.TravelsBetweenMembers()) {
      error(spec_.PositionOf("map"), "map's column '" + column.name + "' is " + column.type.sql_name +
                                         ": results are merged across shards as scalar columns (not BLOB, INTERVAL or nested types)");
      ok = false;
    }
  }
  if (!spec_.tenant_column.empty()) {
    // Each shard keeps the caller's rows of the map's results, so they must carry the column.
    bool has_tenant = std::any_of(described->begin(), described->end(), [&](const auto& c) { return c.name == spec_.tenant_column; });
    if (!has_tenant) {
      error(spec_.PositionOf("tenant_column"), "map must return the tenant_column '" + spec_.tenant_column + "'");
      ok = false;
    }
    tenant_sql_ = "q." + Quote(spec_.tenant_column);
  }
  if (!ok) return false;
  // Over a sharded database the reduce runs where there is nothing but `partials`, so it may read
  // nothing else anywhere: checked in an empty database holding only the map's columns.
  std::string partials = "SELECT ";
  for (size_t i = 0; i < described->size(); ++i) {
    partials += (i ? ", CAST(NULL AS " : "CAST(NULL AS ") + (*described)[i].type.sql_name + ") AS " + Quote((*described)[i].name);
  }
  partials += " WHERE false";
  auto empty = engine::Database::Open("", {.read_only = false, .threads = 1});
  auto scratch = empty.ok() ? (*empty)->Connect() : Result<std::unique_ptr<engine::Connection>>(empty.status());
  if (!scratch.ok()) {
    error(spec_.PositionOf("reduce"), "cannot check reduce: " + scratch.status().message());
    return false;
  }
  auto reduced = (*scratch)->Describe("WITH partials AS (" + partials + ") SELECT * FROM " + reduce_alone_from_);
  if (!reduced.ok()) {
    error(spec_.PositionOf("reduce"), "reduce must read only `partials` (the map's columns): " + reduced.status().message());
    return false;
  }
  return true;
}

void CompiledEndpoint::CompileTableQuery(const database::TableInfo& table, const ErrorSink& error) {
  const EndpointSpec& spec = spec_;
  from_ = Quote(spec.table);
  for (const auto& column : table.columns) column_types_[column.name] = column.type.sql_name;
  auto column_of = [&](const std::string& name) -> const engine::ColumnInfo* {
    auto found = std::find_if(table.columns.begin(), table.columns.end(), [&](const auto& c) { return c.name == name; });
    return found == table.columns.end() ? nullptr : &*found;
  };
  for (const auto& filter : spec.filters) {
    const engine::ColumnInfo* column = column_of(filter.column);
    if (!column) error(filter.position, "unknown column '" + filter.column + "' in table '" + spec.table + "'");
    filter_columns_.push_back(Quote(filter.column));
    int first = ParamIndex(filter.params[0]);
    filter_params_[0].push_back(first);
    filter_params_[1].push_back(filter.params.size() > 1 ? ParamIndex(filter.params[1]) : -1);
    // A date bound on a timestamp column means whole days (see Plan).
    whole_day_.push_back(column && column->type.kind == engine::TypeKind::kTimestamp && first >= 0 &&
                         spec.params[first].type == ParamType::kDate);
  }
  for (const auto& column : spec.group_by) {
    if (!column_of(column)) error(spec.PositionOf("group_by"), "unknown group_by column '" + column + "'");
  }
  if (!spec.tenant_column.empty()) {
    if (!column_of(spec.tenant_column)) error(spec.PositionOf("tenant_column"), "unknown tenant_column '" + spec.tenant_column + "'");
    tenant_sql_ = Quote(spec.tenant_column);
  }
  if (spec.select.empty()) {
    for (const auto& column : table.columns) {
      output_sql_.push_back(Quote(column.name));
      order_sql_[column.name] = Quote(column.name);
    }
  } else {
    bool aggregated = std::any_of(spec.select.begin(), spec.select.end(), [](const auto& s) { return s.aggregate != Aggregate::kNone; });
    for (const auto& item : spec.select) {
      if (!item.column.empty() && !column_of(item.column)) {
        error(item.position, "unknown column '" + item.column + "' in table '" + spec.table + "'");
        continue;
      }
      if (aggregated && item.aggregate == Aggregate::kNone &&
          std::find(spec.group_by.begin(), spec.group_by.end(), item.column) == spec.group_by.end()) {
        error(item.position, "column '" + item.column + "' must be in group_by or aggregated");
      }
      // An alias that names another group_by column would make that name mean two columns (the
      // order's tiebreakers, the reduce across shards and the answer would disagree on which).
      if (!item.as.empty() && item.as != item.column &&
          std::find(spec.group_by.begin(), spec.group_by.end(), item.as) != spec.group_by.end()) {
        error(item.position, "'" + item.as + "' names a group_by column; give this output another name");
      }
      output_sql_.push_back(SelectExpression(item) + " AS " + Quote(OutputName(item)));
      // Ordering uses the expression, not the alias: a request's ?columns= may leave the output
      // out of the SELECT list, and ORDER BY must still find it.
      order_sql_.emplace(OutputName(item), SelectExpression(item));
    }
  }
  for (size_t i = 0; i < spec.group_by.size(); ++i) group_by_sql_ += (i ? ", " : "") + Quote(spec.group_by[i]);
}

std::string CompiledEndpoint::DescribeSql() const {
  if (is_analysis_) return "WITH partials AS (SELECT * FROM " + map_from_ + ") SELECT * FROM " + from_;
  if (is_template_) return "SELECT * FROM " + from_;
  std::string sql = "SELECT ";
  for (size_t i = 0; i < output_sql_.size(); ++i) sql += (i ? ", " : "") + output_sql_[i];
  sql += " FROM " + from_;
  if (!group_by_sql_.empty()) sql += " GROUP BY " + group_by_sql_;
  return sql;
}

void CompiledEndpoint::KeepOutputs(const std::vector<engine::ColumnInfo>& described, const ErrorSink& error) {
  const EndpointSpec& spec = spec_;
  if (is_template_) {
    for (const auto& column : described) {
      output_sql_.push_back(Quote(column.name));
      order_sql_.emplace(column.name, Quote(column.name));
    }
    if (!spec.tenant_column.empty() && !is_analysis_) {
      // The template's rows are filtered by the caller's tenant, so they must carry the column.
      bool has_tenant = std::any_of(described.begin(), described.end(), [&](const auto& c) { return c.name == spec.tenant_column; });
      if (!has_tenant) error(spec.PositionOf("tenant_column"), "sql must return the tenant_column '" + spec.tenant_column + "'");
      tenant_sql_ = "q." + Quote(spec.tenant_column);
    }
  }
  for (const auto& c : described) {
    // A row is a JSON object: two outputs of one name would be one key twice (and a reduce
    // across shards could not tell them apart).
    if (!output_names_.insert(c.name).second) {
      error(spec.PositionOf(is_template_ ? "sql" : "select"), "two outputs are named '" + c.name + "'; give one another name with `as:`");
    }
  }
  // The allowlist bounds every output; keep declared order.
  for (const auto& column : spec.columns) {
    if (!output_names_.contains(column)) error(spec.PositionOf("columns"), "allowlisted column '" + column + "' is not an output of this endpoint");
  }
  std::vector<std::string> kept_sql;
  for (size_t i = 0; i < described.size(); ++i) {
    if (spec.columns.empty() || std::find(spec.columns.begin(), spec.columns.end(), described[i].name) != spec.columns.end()) {
      outputs_.push_back(described[i]);
      kept_sql.push_back(output_sql_[i]);
    }
  }
  output_sql_ = std::move(kept_sql);
}

std::string CompiledEndpoint::OrderSql(const std::string& column) const {
  auto found = order_sql_.find(column);
  return found == order_sql_.end() ? Quote(column) : found->second;
}

void CompiledEndpoint::CompileOrder(const database::TableInfo* table, const ErrorSink& error) {
  const EndpointSpec& spec = spec_;
  auto in = [](const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
  };
  auto is_table_column = [&](const std::string& column) {
    return table && std::any_of(table->columns.begin(), table->columns.end(), [&](const auto& c) { return c.name == column; });
  };
  // An output, a group key, or (unaggregated tables only) any column of the table.
  auto order_ok = [&](const std::string& column) {
    return output_names_.contains(column) || in(spec.group_by, column) || (spec.group_by.empty() && is_table_column(column));
  };
  for (size_t i = 0; i < spec.order_by.size(); ++i) {
    const auto& item = spec.order_by[i];
    if (!order_ok(item.column)) error(spec.PositionOf("order_by"), "cannot order by unknown column '" + item.column + "'");
    order_by_sql_ += (i ? ", " : "") + OrderSql(item.column) + (item.descending ? " DESC" : " ASC");
    order_items_.push_back(item);
  }
  if (spec.sort) {
    for (const auto& column : spec.sort->allowed) {
      if (!order_ok(column)) error(spec.PositionOf("sort"), "sort allows unknown column '" + column + "'");
    }
  }
  if (spec.order_by.empty() && !spec.sort) return;
  // Pages must not overlap or skip rows, so an ordered endpoint ends its ORDER BY with columns
  // that identify a row: the group_by columns of an aggregate, else the table's declared key,
  // else every scalar output column (correct, but the most expensive to sort by).
  std::vector<std::string> tiebreak = spec.group_by;
  if (tiebreak.empty() && table && !table->key.empty()) tiebreak = table->key;
  if (tiebreak.empty()) {
    for (const auto& column : outputs_) {
      if (!IsNested(column.type)) tiebreak.push_back(column.name);
    }
  }
  for (const auto& column : tiebreak) {
    bool ordered = std::any_of(spec.order_by.begin(), spec.order_by.end(), [&](const auto& o) { return o.column == column; });
    if (ordered) continue;
    if (!order_ok(column)) {
      error(spec.position, "key column '" + column + "' is not a column of table '" + spec.table + "'");
      continue;
    }
    order_by_sql_ += (order_by_sql_.empty() ? "" : ", ") + OrderSql(column) + " ASC";
    order_items_.push_back({.column = column});
  }
}

namespace {

// Whether `column = value` leaves the column one stored value, sorted in one place. Values are
// bound with their own type and DuckDB may compare in it (a VARCHAR column against an integer
// compares CAST(column AS BIGINT): '7', '07' and '+7' all match), so it depends on both:
// a string matches one value of any of these kinds whichever side is cast (each writes its
// values one way as text); an integer is exact against integers and DECIMALs; a boolean, date or
// timestamp against its own kind. Never a number (DOUBLE: 2^53 + 1 = 2^53), and never a
// FLOAT/DOUBLE column (-0.0 = 0.0), INTERVAL (1 month = 30 days), TIME (WITH TIME ZONE) or BLOB.
bool PinsOneValue(engine::TypeKind column, const Value& value) {
  using engine::TypeKind;
  const bool integer = column == TypeKind::kInteger || column == TypeKind::kBigInteger;
  if (value.is<std::string>()) {
    return integer || column == TypeKind::kDecimal || column == TypeKind::kVarchar || column == TypeKind::kEnum ||
           column == TypeKind::kUuid || column == TypeKind::kBoolean || column == TypeKind::kDate || column == TypeKind::kTimestamp;
  }
  if (value.is<int64_t>()) return integer || column == TypeKind::kDecimal;
  if (value.is<bool>()) return column == TypeKind::kBoolean;
  if (value.is<Date>()) return column == TypeKind::kDate;
  if (value.is<Timestamp>()) return column == TypeKind::kTimestamp;
  return false;
}

}  // namespace

bool CompiledEndpoint::AnswersGroups() const {
  return !spec_.group_by.empty() ||
         std::any_of(spec_.select.begin(), spec_.select.end(), [](const auto& s) { return s.aggregate != Aggregate::kNone; });
}

void CompiledEndpoint::CompileStorageOrder(const database::TableInfo& table) {
  if (table.storage_order.empty() || AnswersGroups() || is_template_ || order_items_.empty()) return;
  auto kind_of = [&](const std::string& name) {
    auto column = std::find_if(table.columns.begin(), table.columns.end(), [&](const auto& c) { return c.name == name; });
    return column == table.columns.end() ? engine::TypeKind::kOther : column->type.kind;
  };
  for (size_t f = 0; f < spec_.filters.size(); ++f) {
    filter_kinds_.push_back(spec_.filters[f].op == FilterOp::kEq && !whole_day_[f] ? kind_of(spec_.filters[f].column)
                                                                                     : engine::TypeKind::kOther);
  }
  // (The tenant is always a string.)
  tenant_pins_ = !spec_.tenant_column.empty() && PinsOneValue(kind_of(spec_.tenant_column), Value(std::string()));
  for (const auto& column : table.storage_order) storage_order_sql_.push_back(Quote(column));
}

// Measured (bench/run.sh's lookup: 100 rows of ~4,200 that two eq filters pin, ordered by the next
// sort_by column and the key): DuckDB runs it 1.8x as often without the ORDER BY (0.39 vs 0.70 ms),
// as the scan stops after the page instead of sorting every match.
bool CompiledEndpoint::StorageOrderAnswers(const RequestArgs& args) const {
  if (storage_order_sql_.empty()) return false;
  // DuckDB answers an IN list of 5 values or more out of the scan's order (measured through the C
  // API with bound values: 1 or 2 rows of 100k misplaced, on 1 thread as on 4); the other filters
  // are comparisons on the rows as they pass.
  for (size_t f = 0; f < spec_.filters.size(); ++f) {
    if (spec_.filters[f].op == FilterOp::kIn && !args.values[static_cast<size_t>(filter_params_[0][f])].is_null()) return false;
  }
  // The columns this request's eq filters (and the tenant) pin to one value: constant among the
  // rows it reads, so they order nothing, in the storage order or the request's.
  auto pinned = [&](const std::string& sql) {
    if (tenant_pins_ && sql == tenant_sql_) return true;
    for (size_t f = 0; f < filter_kinds_.size(); ++f) {
      if (filter_columns_[f] == sql && PinsOneValue(filter_kinds_[f], args.values[static_cast<size_t>(filter_params_[0][f])])) {
        return true;
      }
    }
    return false;
  };
  size_t next = 0;  // storage_order_sql_[0, next) matched so far
  auto skip_pinned = [&] {
    while (next < storage_order_sql_.size() && pinned(storage_order_sql_[next])) ++next;
  };
  // Whether ordering next by `item` still orders as the storage does.
  auto follows = [&](const OrderItem& item) {
    const std::string sql = OrderSql(item.column);
    if (pinned(sql)) return true;
    if (std::find(storage_order_sql_.begin(), storage_order_sql_.begin() + static_cast<long>(next), sql) !=
        storage_order_sql_.begin() + static_cast<long>(next)) {
      return true;  // ordered by already: ties on it are ties on an earlier item
    }
    skip_pinned();
    if (item.descending || next == storage_order_sql_.size() || storage_order_sql_[next] != sql) return false;
    ++next;
    return true;
  };
  if (args.sort && !follows(*args.sort)) return false;
  for (const auto& item : order_items_) {
    if (!follows(item)) return false;
  }
  skip_pinned();
  return next == storage_order_sql_.size();  // the whole storage order: rows it ties are ties of the request's too
}

void CompiledEndpoint::CheckEveryFilter(engine::Connection& connection, const ErrorSink& error) const {
  // Prepares the query with every param given (and the widest column set, every sort choice),
  // each placeholder cast to its declared type, so a filter DuckDB cannot type (prefix on a
  // number, a date against an integer) fails the load, not every request that uses it. Requests
  // run with untyped placeholders: DuckDB then takes the column's own type for the value, which
  // keeps its filter pushdown and zone maps.
  RequestArgs args;
  for (const auto& param : spec_.params) args.values.push_back(SampleValue(param));
  for (size_t i = 0; i < output_sql_.size(); ++i) args.outputs.push_back(i);
  args.tenant = "t";
  args.want_total = true;
  std::vector<std::optional<OrderItem>> sorts = {std::nullopt};
  if (spec_.sort) {
    for (const auto& column : spec_.sort->allowed) sorts.push_back(OrderItem{column, true});
  }
  for (const auto& sort : sorts) {
    args.sort = sort;
    QueryPlan plan = PlanShape(args, /*typed=*/true);
    for (const std::string* sql : {&plan.sql, &plan.count_sql}) {
      auto described = connection.Describe(*sql);
      if (!described.ok()) {
        error(spec_.PositionOf(is_analysis_ ? "reduce" : is_template_ ? "sql" : sort ? "sort" : "filters"),
              "query does not compile against dataset '" + spec_.dataset + "': " + described.status().message());
        return;
      }
    }
  }
}

Result<RequestArgs> CompiledEndpoint::ParseRequest(const QueryParams& query, std::string_view accept) const {
  RequestArgs args;
  const size_t count = spec_.params.size();
  args.values.resize(count);
  args.given.assign(count, false);
  args.limit = spec_.default_limit;
  std::vector<std::vector<std::string>> texts(count);
  std::string_view columns_text;
  bool has_columns = false;
  for (const auto& [key, value] : query) {
    if (key == "limit" || key == "offset") {
      auto parsed = ParseScalar(ParamType::kInteger, value);
      if (!parsed.ok()) return InvalidArgument("parameter '" + key + "' must be an integer");
      int64_t number = parsed->as<int64_t>();
      if (key == "limit" && (number < 1 || number > spec_.max_limit)) {
        return InvalidArgument("parameter 'limit' must be between 1 and " + std::to_string(spec_.max_limit));
      }
      if (key == "offset" && (number < 0 || number > 1'000'000'000)) {
        return InvalidArgument("parameter 'offset' must be between 0 and 1000000000");
      }
      (key == "limit" ? args.limit : args.offset) = number;
    } else if (key == "columns") {
      columns_text = value;
      has_columns = true;
    } else if (key == "format") {
      if (std::find(spec_.formats.begin(), spec_.formats.end(), value) == spec_.formats.end()) {
        std::string allowed;
        for (const auto& f : spec_.formats) allowed += (allowed.empty() ? "" : ", ") + f;
        return InvalidArgument("parameter 'format' must be one of: " + allowed);
      }
      args.format = value;
    } else if (key == "total") {
      if (value != "true" && value != "false") return InvalidArgument("parameter 'total' must be true or false");
      args.want_total = value == "true";
    } else if (key == "partial") {
      if (value != "allow" && value != "deny") return InvalidArgument("parameter 'partial' must be allow or deny");
      args.allow_partial = value == "allow";
    } else if (key == "consistency") {
      if (value != "strong" && value != "stale") return InvalidArgument("parameter 'consistency' must be strong or stale");
      args.stale = value == "stale";
    } else {
      int index = ParamIndex(key);
      if (index < 0) {
        // The name is request input too, so it is not echoed; the allowed names are.
        std::string allowed;
        for (const auto& p : spec_.params) allowed += ", " + p.name;
        return InvalidArgument("unknown parameter (allowed: limit, offset, columns, format, total, partial, consistency" + allowed + ")");
      }
      texts[index].push_back(value);
    }
  }
  if (std::find_if(query.begin(), query.end(), [](const auto& kv) { return kv.first == "format"; }) == query.end()) {
    auto accepts = [&](std::string_view type) { return accept.find(type) != std::string_view::npos; };
    auto allowed = [&](const char* f) { return std::find(spec_.formats.begin(), spec_.formats.end(), f) != spec_.formats.end(); };
    if (accepts("text/csv") && allowed("csv")) {
      args.format = "csv";
    } else if (accepts("application/x-ndjson") && allowed("ndjson")) {
      args.format = "ndjson";
    } else if (!allowed("json")) {
      args.format = spec_.formats.front();
    }
  }
  args.want_total = args.want_total || spec_.total;

  for (size_t i = 0; i < count; ++i) {
    const ParamSpec& param = spec_.params[i];
    if (texts[i].empty()) {
      if (param.required) return InvalidArgument("missing required parameter '" + param.name + "'");
      if (param.default_value) args.values[i] = *param.default_value;
      continue;
    }
    ASSIGN_OR_RETURN(args.values[i], ParseParamValues(param, texts[i]));
    args.given[i] = true;
  }
  if (!spec_.combinations.empty()) {
    bool fits = std::any_of(spec_.combinations.begin(), spec_.combinations.end(), [&](const auto& combination) {
      for (size_t i = 0; i < count; ++i) {
        if (args.given[i] && std::find(combination.begin(), combination.end(), spec_.params[i].name) == combination.end()) return false;
      }
      return true;
    });
    if (!fits) return InvalidArgument("this combination of parameters is not allowed");
  }
  if (spec_.sort) {
    int index = ParamIndex(spec_.sort->param);
    std::string choice = args.values[index].is<std::string>() ? args.values[index].as<std::string>() : spec_.sort->default_value;
    if (!choice.empty()) {
      OrderItem item{choice, false};
      if (choice[0] == '-') item = {choice.substr(1), true};
      if (std::find(spec_.sort->allowed.begin(), spec_.sort->allowed.end(), item.column) == spec_.sort->allowed.end()) {
        return InvalidArgument("parameter '" + spec_.sort->param + "' must name an allowed column, optionally prefixed by '-'");
      }
      args.sort = item;
    }
  }
  if (has_columns) {
    std::vector<bool> chosen(outputs_.size(), false);
    size_t start = 0;
    while (start <= columns_text.size()) {
      size_t comma = columns_text.find(',', start);
      if (comma == std::string_view::npos) comma = columns_text.size();
      std::string_view name = columns_text.substr(start, comma - start);
      auto found = std::find_if(outputs_.begin(), outputs_.end(), [&](const auto& c) { return c.name == name; });
      if (found == outputs_.end()) return InvalidArgument("parameter 'columns' names a column that is not available");
      chosen[found - outputs_.begin()] = true;
      start = comma + 1;
    }
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (chosen[i]) args.outputs.push_back(i);
    }
  } else {
    for (size_t i = 0; i < output_sql_.size(); ++i) args.outputs.push_back(i);
  }

  std::string& key = args.canonical;
  for (size_t i = 0; i < count; ++i) {
    AppendCanonical(key, args.values[i]);
    key += ';';
  }
  key += "c";
  for (size_t index : args.outputs) key += std::to_string(index) + ",";
  key += ";l" + std::to_string(args.limit) + ";o" + std::to_string(args.offset) + ";t" + (args.want_total ? "1" : "0");
  if (args.sort) key += ";s" + std::string(args.sort->descending ? "-" : "") + args.sort->column;
  key += ";f" + args.format;
  if (args.allow_partial) key += ";p";
  if (args.stale) key += ";stale";
  return args;
}

std::map<std::string, std::vector<database::Predicate>> CompiledEndpoint::Predicates(const RequestArgs& args) const {
  using Op = database::Predicate::Op;
  std::map<std::string, std::vector<database::Predicate>> out;
  if (is_template_ || spec_.is_code) return out;
  std::vector<database::Predicate>& predicates = out[spec_.table];
  if (!tenant_sql_.empty()) predicates.push_back({spec_.tenant_column, Op::kEq, {Value(args.tenant)}});
  for (size_t f = 0; f < spec_.filters.size(); ++f) {
    const FilterSpec& filter = spec_.filters[f];
    const Value& value = args.values[filter_params_[0][f]];
    auto add = [&](Op op, Value bound) { predicates.push_back({filter.column, op, {std::move(bound)}}); };
    if (filter.op == FilterOp::kBetween) {
      const Value& upper = args.values[filter_params_[1][f]];
      if (!value.is_null()) add(Op::kGte, value);
      if (!upper.is_null()) whole_day_[f] ? add(Op::kLt, NextDay(upper)) : add(Op::kLte, upper);
      continue;
    }
    if (value.is_null()) continue;
    if (whole_day_[f]) {
      // The same day ranges the query uses (see AppendFilters).
      switch (filter.op) {
        case FilterOp::kEq: add(Op::kGte, value); add(Op::kLt, NextDay(value)); break;
        case FilterOp::kLt: add(Op::kLt, value); break;
        case FilterOp::kLte: add(Op::kLt, NextDay(value)); break;
        case FilterOp::kGt: add(Op::kGte, NextDay(value)); break;
        case FilterOp::kGte: add(Op::kGte, value); break;
        case FilterOp::kIn: {
          const auto& days = value.as<Value::List>();
          auto [low, high] = std::minmax_element(days.begin(), days.end(),
                                                 [](const Value& a, const Value& b) { return a.as<Date>().days < b.as<Date>().days; });
          if (low != days.end()) {
            add(Op::kGte, *low);
            add(Op::kLt, NextDay(*high));
          }
          break;
        }
        default: break;
      }
      continue;
    }
    switch (filter.op) {
      case FilterOp::kEq: add(Op::kEq, value); break;
      case FilterOp::kLt: add(Op::kLt, value); break;
      case FilterOp::kLte: add(Op::kLte, value); break;
      case FilterOp::kGt: add(Op::kGt, value); break;
      case FilterOp::kGte: add(Op::kGte, value); break;
      case FilterOp::kIn: predicates.push_back({filter.column, Op::kIn, value.as<Value::List>()}); break;
      default: break;  // <>, prefix, IS NULL: no pruning
    }
  }
  return out;
}

void CompiledEndpoint::AppendFilters(const RequestArgs& args, bool typed, std::string& sql, std::vector<Value>& values) const {
  bool first = true;
  auto clause = [&](const std::string& text) {
    sql += first ? " WHERE " : " AND ";
    sql += text;
    first = false;
  };
  auto bind = [&](const Value& value) {
    values.push_back(value);
    std::string placeholder = "$" + std::to_string(values.size());
    return typed ? "CAST(" + placeholder + " AS " + std::string(SqlTypeOfValue(value)) + ")" : placeholder;
  };
  // The tenant filter comes first and is always there: no request shape can drop it.
  if (!tenant_sql_.empty()) clause(tenant_sql_ + " = " + bind(Value(args.tenant)));
  if (is_template_) return;
  for (size_t f = 0; f < spec_.filters.size(); ++f) {
    const FilterSpec& filter = spec_.filters[f];
    const std::string& column = filter_columns_[f];
    const Value& value = args.values[filter_params_[0][f]];
    // A date bound on a timestamp column means the whole day: from its first instant up to (not
    // including) the next day's, so `from=to=D` returns day D's rows.
    const bool days = whole_day_[f];
    if (filter.op == FilterOp::kBetween) {
      const Value& upper = args.values[filter_params_[1][f]];
      if (!value.is_null()) clause(column + " >= " + bind(value));
      if (!upper.is_null()) clause(days ? column + " < " + bind(NextDay(upper)) : column + " <= " + bind(upper));
      continue;
    }
    if (value.is_null()) continue;
    switch (filter.op) {
      case FilterOp::kEq:
        if (days) {
          clause(column + " >= " + bind(value) + " AND " + column + " < " + bind(NextDay(value)));
        } else {
          clause(column + " = " + bind(value));
        }
        break;
      case FilterOp::kNe:
        if (days) {
          clause("(" + column + " < " + bind(value) + " OR " + column + " >= " + bind(NextDay(value)) + ")");
        } else {
          clause(column + " <> " + bind(value));
        }
        break;
      case FilterOp::kLt: clause(column + " < " + bind(value)); break;
      case FilterOp::kLte: clause(days ? column + " < " + bind(NextDay(value)) : column + " <= " + bind(value)); break;
      case FilterOp::kGt: clause(days ? column + " >= " + bind(NextDay(value)) : column + " > " + bind(value)); break;
      case FilterOp::kGte: clause(column + " >= " + bind(value)); break;
      case FilterOp::kPrefix: clause("starts_with(" + column + ", " + bind(value) + ")"); break;
      case FilterOp::kIsNull: clause(column + (value.as<bool>() ? " IS NULL" : " IS NOT NULL")); break;
      case FilterOp::kIn: {
        const auto& items = value.as<Value::List>();
        if (items.empty()) {  // only a declared default can be empty: requests cannot (422)
          clause("false");
          break;
        }
        std::string list;
        for (const auto& item : items) list += (list.empty() ? "" : ", ") + bind(item);
        clause((days ? "CAST(" + column + " AS DATE)" : column) + " IN (" + list + ")");
        break;
      }
      case FilterOp::kBetween: break;
    }
  }
}

std::string CompiledEndpoint::BuildBaseQuery(const RequestArgs& args, bool typed, std::vector<Value>& values, bool with_order) const {
  std::string sql;
  if (is_analysis_) {
    // On the whole data, one statement: the map's results (the caller's only) as `partials`.
    for (int slot : combined_slots_) values.push_back(args.values[static_cast<size_t>(slot)]);
    sql = "WITH partials AS (SELECT * FROM " + map_from_;
    AppendFilters(args, typed, sql, values);
    sql += ") ";
  }
  sql += "SELECT ";
  for (size_t i = 0; i < args.outputs.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += output_sql_[args.outputs[i]];
  }
  sql += " FROM ";
  sql += from_;
  if (is_template_ && !is_analysis_) {
    values = args.values;
    AppendFilters(args, typed, sql, values);
  } else if (!is_template_) {
    AppendFilters(args, typed, sql, values);
  }
  if (!group_by_sql_.empty()) sql += " GROUP BY " + group_by_sql_;
  // Rows stored in the order asked for come in it from the scan (StorageOrderAnswers).
  if (with_order && !StorageOrderAnswers(args)) {
    std::string order;
    if (args.sort) order = OrderSql(args.sort->column) + (args.sort->descending ? " DESC" : " ASC");
    if (!order_by_sql_.empty()) order += (order.empty() ? "" : ", ") + order_by_sql_;
    if (!order.empty()) sql += " ORDER BY " + order;
  }
  return sql;
}

bool CompiledEndpoint::MeansWholeDays(int param_index) const {
  for (size_t f = 0; f < whole_day_.size(); ++f) {
    if (whole_day_[f] && (filter_params_[0][f] == param_index || filter_params_[1][f] == param_index)) return true;
  }
  return false;
}

void CompiledEndpoint::SetTenant(RequestArgs& args, std::string_view tenant) const {
  if (tenant_sql_.empty()) return;
  args.tenant = tenant;
  args.canonical += ";T";
  AppendCanonical(args.canonical, Value(args.tenant));
}

QueryPlan CompiledEndpoint::Plan(const RequestArgs& args) const { return PlanShape(args, /*typed=*/false); }

QueryPlan CompiledEndpoint::PlanShape(const RequestArgs& args, bool typed) const {
  QueryPlan plan;
  plan.sql = BuildBaseQuery(args, typed, plan.values, true);
  plan.filter_value_count = plan.values.size();
  if (args.want_total) {
    std::vector<Value> unused;
    plan.count_sql = "SELECT count(*) AS total FROM (" + BuildBaseQuery(args, typed, unused, false) + ") AS counted";
  }
  plan.values.push_back(Value(args.limit));
  plan.sql += " LIMIT $" + std::to_string(plan.values.size());
  plan.values.push_back(Value(args.offset));
  plan.sql += " OFFSET $" + std::to_string(plan.values.size());
  return plan;
}

Result<ShardPlan> CompiledEndpoint::PlanShards(const RequestArgs& args, const std::string& shard_column) const {
  if (is_analysis_) return PlanAnalysisShards(args);
  if (is_template_ || spec_.is_code) {
    return Unimplemented("SQL template and C++ endpoints are not split across shards automatically", route_);
  }
  auto name = [](const char* kind, size_t i) { return Quote(std::string("__dram_") + kind + std::to_string(i)); };
  ShardPlan plan;
  std::string where;
  AppendFilters(args, /*typed=*/false, where, plan.map.values);
  // The request's order, as Plan() orders: the sort param first, then the declared order with
  // its tiebreakers (a total order for ordered endpoints, so pages merge exactly).
  std::vector<OrderItem> order;
  if (args.sort) order.push_back(*args.sort);
  order.insert(order.end(), order_items_.begin(), order_items_.end());
  // Groups asked for in no order come in the order of their keys: a reduce query without ORDER BY
  // would give its hash table's order (and its page whichever groups that put first), and the
  // merge steps (ShardPlan::merge) could not promise the same.
  if (order.empty()) {
    for (const auto& column : spec_.group_by) order.push_back({.column = column});
  }
  auto direction = [](const OrderItem& item) { return item.descending ? " DESC" : " ASC"; };
  const bool aggregated = AnswersGroups();
  std::string reduce_order;
  using MergeOp = engine::PartialMerge::Op;
  engine::PartialMerge merge;
  merge.grouped = aggregated;
  merge.limit = args.limit;
  merge.offset = args.offset;
  // The merge's outputs by name (an output or a group column): what is answered, in order, then
  // whatever else the order reads.
  std::map<std::string, engine::PartialMerge::Output> merge_outputs;
  bool mergeable = true;  // every output and order item known (else the reduce runs as SQL alone)
  auto merge_output = [&](const std::string& name) -> size_t {
    for (size_t i = 0; i < merge.outputs.size(); ++i) {
      if (merge.outputs[i].name == name) return i;
    }
    auto found = merge_outputs.find(name);
    mergeable = mergeable && found != merge_outputs.end();
    merge.outputs.push_back(found != merge_outputs.end() ? found->second : engine::PartialMerge::Output{});
    merge.outputs.back().name = name;
    return merge.outputs.size() - 1;
  };
  if (aggregated) {
    size_t map_columns = 0;  // the map's columns so far: the partials' column numbers
    std::string map_select;
    auto add = [&](const std::string& expression, const std::string& alias) {
      map_select += (map_select.empty() ? "" : ", ") + expression + " AS " + alias;
      return map_columns++;
    };
    std::map<std::string, std::string> merged;  // output name (or group column) → expression over partials
    std::string combined;                       // the map's columns, each merged into itself
    auto combine = [&](std::string_view how, const std::string& column) {
      combined += (combined.empty() ? "" : ", ") + std::string(how) + "(" + column + ") AS " + column;
    };
    for (size_t j = 0; j < spec_.group_by.size(); ++j) {
      const size_t column = add(Quote(spec_.group_by[j]), name("g", j));
      merged[spec_.group_by[j]] = name("g", j);
      merge.keys.push_back(column);
      merge_outputs[spec_.group_by[j]] = {.op = MergeOp::kValue, .column = column};
      combined += (combined.empty() ? "" : ", ") + name("g", j);
    }
    for (size_t i = 0; i < spec_.select.size(); ++i) {
      const SelectItem& item = spec_.select[i];
      const std::string column = item.column.empty() ? "*" : Quote(item.column);
      const std::string partial = name("p", i);
      std::string expression;
      engine::PartialMerge::Output merge_step;
      switch (item.aggregate) {
        case Aggregate::kNone:
          expression = merged[item.column];  // a group column (checked at compile)
          merge_step = merge_outputs.at(item.column);
          break;
        case Aggregate::kSum:
        case Aggregate::kMin:
        case Aggregate::kMax:
          merge_step.column = add(SelectExpression(item), partial);
          merge_step.op = item.aggregate == Aggregate::kSum ? MergeOp::kSum
                          : item.aggregate == Aggregate::kMin ? MergeOp::kMin
                                                              : MergeOp::kMax;
          expression = std::string(AggregateName(item.aggregate)) + "(" + partial + ")";
          combine(AggregateName(item.aggregate), partial);
          break;
        case Aggregate::kCount:
          merge_step = {.op = MergeOp::kSum, .column = add(SelectExpression(item), partial)};
          expression = "sum(" + partial + ")";
          combine("sum", partial);
          break;
        case Aggregate::kAvg:
          merge_step.op = MergeOp::kAvg;
          merge_step.column = add("sum(" + column + ")", name("s", i));
          merge_step.count_column = add("count(" + column + ")", name("c", i));
          expression = "sum(" + name("s", i) + ") / sum(" + name("c", i) + ")";
          combine("sum", name("s", i));
          combine("sum", name("c", i));
          break;
        case Aggregate::kCountDistinct:
          if (item.column != shard_column) {
            return FailedPrecondition("count of distinct '" + item.column +
                                          "' is not exact across shards: the database is not sharded by it",
                                      route_);
          }
          merge_step = {.op = MergeOp::kSum, .column = add(SelectExpression(item), partial)};
          expression = "sum(" + partial + ")";
          combine("sum", partial);  // each value in one shard: counts add up
          break;
      }
      // The merged value keeps the type the whole-data query gives (a sum of counts is HUGEINT);
      // a min or max is of the column's type already (and an ENUM's type has no name to cast to).
      for (const auto& output : outputs_) {
        if (output.name != OutputName(item) || item.aggregate == Aggregate::kNone) continue;
        merge_step.type = output.type.sql_name;
        if (item.aggregate != Aggregate::kMin && item.aggregate != Aggregate::kMax) {
          expression = "CAST(" + expression + " AS " + output.type.sql_name + ")";
        }
      }
      merged.emplace(OutputName(item), expression);
      merge_outputs.emplace(OutputName(item), merge_step);
    }
    if (map_select.empty()) {
      add("1", name("x", 0));
      combine("min", name("x", 0));
    }
    plan.map.sql = "SELECT " + map_select + " FROM " + from_ + where;
    std::string group;
    for (size_t j = 0; j < spec_.group_by.size(); ++j) group += (j ? ", " : "") + name("g", j);
    if (!group.empty()) plan.map.sql += " GROUP BY " + group_by_sql_;
    plan.combine_sql = "SELECT " + combined + " FROM partials" + (group.empty() ? "" : " GROUP BY " + group);
    plan.reduce_sql = "SELECT ";
    for (size_t i = 0; i < args.outputs.size(); ++i) {
      const std::string& output = outputs_[args.outputs[i]].name;
      plan.reduce_sql += (i ? ", " : "") + merged[output] + " AS " + Quote(output);
    }
    plan.reduce_sql += " FROM partials";
    if (!group.empty()) plan.reduce_sql += " GROUP BY " + group;
    for (const auto& item : order) reduce_order += (reduce_order.empty() ? "" : ", ") + merged[item.column] + direction(item);
    for (size_t i = 0; i < args.outputs.size(); ++i) merge_output(outputs_[args.outputs[i]].name);
    merge.answered = merge.outputs.size();
    for (const auto& item : order) merge.order.push_back({.output = merge_output(item.column), .descending = item.descending});
    if (args.want_total) {
      plan.total_sql = group.empty() ? "SELECT 1 AS total"
                                     : "SELECT count(*) AS total FROM (SELECT 1 FROM partials GROUP BY " + group + ") AS g";
    }
  } else {
    std::string map_select;
    for (size_t i = 0; i < args.outputs.size(); ++i) map_select += (i ? ", " : "") + output_sql_[args.outputs[i]];
    std::string map_order;
    for (size_t i = 0; i < args.outputs.size(); ++i) {
      merge.outputs.push_back({.name = outputs_[args.outputs[i]].name, .op = MergeOp::kValue, .column = i});
    }
    merge.answered = merge.outputs.size();
    for (size_t k = 0; k < order.size(); ++k) {
      merge.outputs.push_back({.name = name("o", k), .op = MergeOp::kValue, .column = args.outputs.size() + k});
      merge.order.push_back({.output = merge.outputs.size() - 1, .descending = order[k].descending});
      map_select += ", " + OrderSql(order[k].column) + " AS " + name("o", k);
      map_order += (k ? ", " : "") + OrderSql(order[k].column) + direction(order[k]);
      reduce_order += (k ? ", " : "") + name("o", k) + direction(order[k]);
    }
    plan.map.sql = "SELECT " + map_select + " FROM " + from_ + where;
    plan.map.filter_value_count = plan.map.values.size();
    if (args.want_total) {
      plan.map.count_sql = "SELECT count(*) AS total FROM " + from_ + where;
      plan.sum_counts = true;
    }
    // Each shard's first limit+offset rows in the page's order hold every row of the page.
    if (!map_order.empty()) plan.map.sql += " ORDER BY " + map_order;
    plan.map.values.push_back(Value(args.limit + args.offset));
    plan.map.sql += " LIMIT $" + std::to_string(plan.map.values.size());
    // (The limit is a number this plan computed, not request text.)
    plan.combine_sql = "SELECT * FROM partials" + (reduce_order.empty() ? "" : " ORDER BY " + reduce_order) + " LIMIT " +
                       std::to_string(args.limit + args.offset);
    plan.reduce_sql = "SELECT ";
    for (size_t i = 0; i < args.outputs.size(); ++i) {
      plan.reduce_sql += (i ? ", " : "") + Quote(outputs_[args.outputs[i]].name);
    }
    plan.reduce_sql += " FROM partials";
  }
  plan.map.filter_value_count = std::min(plan.map.filter_value_count, plan.map.values.size());
  if (aggregated) plan.map.filter_value_count = plan.map.values.size();
  if (!reduce_order.empty()) plan.reduce_sql += " ORDER BY " + reduce_order;
  plan.reduce_sql += " LIMIT $1 OFFSET $2";
  plan.reduce_values = {Value(args.limit), Value(args.offset)};
  if (mergeable) plan.merge = std::move(merge);
  return plan;
}

std::optional<CompiledEndpoint::ShardKey> CompiledEndpoint::ShardKeyOf(const RequestArgs& args,
                                                                      const std::string& shard_column) const {
  if (is_template_ || spec_.is_code || shard_column.empty()) return std::nullopt;
  auto type = column_types_.find(shard_column);
  if (type == column_types_.end()) return std::nullopt;
  if (!tenant_sql_.empty() && spec_.tenant_column == shard_column) return ShardKey{Value(args.tenant), type->second};
  for (size_t f = 0; f < spec_.filters.size(); ++f) {
    if (spec_.filters[f].column != shard_column || spec_.filters[f].op != FilterOp::kEq || whole_day_[f]) continue;
    const Value& value = args.values[static_cast<size_t>(filter_params_[0][f])];
    if (!value.is_null()) return ShardKey{value, type->second};
  }
  return std::nullopt;
}

ShardPlan CompiledEndpoint::PlanAnalysisShards(const RequestArgs& args) const {
  ShardPlan plan;
  for (int slot : map_slots_) plan.map.values.push_back(args.values[static_cast<size_t>(slot)]);
  plan.map.sql = "SELECT * FROM " + map_from_;
  AppendFilters(args, /*typed=*/false, plan.map.sql, plan.map.values);  // the caller's rows, on each shard
  plan.map.filter_value_count = plan.map.values.size();
  for (int slot : reduce_slots_) plan.reduce_values.push_back(args.values[static_cast<size_t>(slot)]);
  std::string select = "SELECT ";
  for (size_t i = 0; i < args.outputs.size(); ++i) select += (i ? ", " : "") + output_sql_[args.outputs[i]];
  select += " FROM " + reduce_alone_from_;
  if (args.want_total) plan.total_sql = "SELECT count(*) AS total FROM (" + select + ") AS counted";
  plan.reduce_sql = select;
  std::string order;
  if (args.sort) order = OrderSql(args.sort->column) + (args.sort->descending ? " DESC" : " ASC");
  if (!order_by_sql_.empty()) order += (order.empty() ? "" : ", ") + order_by_sql_;
  if (!order.empty()) plan.reduce_sql += " ORDER BY " + order;
  plan.reduce_values.push_back(Value(args.limit));
  plan.reduce_sql += " LIMIT $" + std::to_string(plan.reduce_values.size());
  plan.reduce_values.push_back(Value(args.offset));
  plan.reduce_sql += " OFFSET $" + std::to_string(plan.reduce_values.size());
  return plan;
}

}  // namespace dram::api
