#include "api/database_admin.h"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <set>

#include "api/error_response.h"
#include "api/guarded_job.h"
#include "api/project.h"
#include "common/units.h"
#include "common/civil_time.h"
#include "database/shard.h"
#include "engine/interrupt_after.h"
#include "engine/result_encoder.h"

namespace dram::api {

namespace json = boost::json;

namespace {

bool QueryFlag(const std::string& query, std::string_view name) {
  return query.find(std::string(name) + "=true") != std::string::npos || query.find(std::string(name) + "=1") != std::string::npos;
}

json::object StatsJson(const database::DatasetStatus& s) {
  int64_t rows = 0;
  json::array tables;
  if (s.current) {
    for (const auto& table : s.current->tables()) {
      rows += table.rows;
      tables.push_back({{"name", table.name}, {"rows", table.rows}, {"columns", table.columns.size()}});
    }
  }
  json::object out{{"name", s.name},
                   {"source", s.source},
                   {"declared", s.declared},
                   {"placement", {{"replicas", s.placement.replicas}, {"shards", s.placement.shards}, {"shard_by", s.placement.shard_by},
                                  {"global", json::array(s.placement.global_tables.begin(), s.placement.global_tables.end())}}},
                   {"ready", s.current != nullptr},
                   {"loading", s.loading},
                   {"cold", s.cold},
                   {"idle_evict_ms", s.idle_evict_ms},
                   {"version", s.current ? s.current->id() : ""},
                   {"previous", s.previous ? s.previous->id() : ""},
                   {"tables", std::move(tables)},
                   {"rows", rows},
                   {"snapshot_bytes", s.current ? s.current->bytes() : 0},
                   {"store_bytes", s.source_bytes},
                   {"files", s.source_files},
                   {"files_cached", s.cached_files},
                   {"load_ms", s.current ? s.current->load_ms() : 0},
                   {"loaded_at", s.current ? common::IsoTimeOf(s.current->loaded_at()) : ""},
                   {"last_attempt", common::IsoTimeOf(s.last_attempt)},
                   {"last_success", common::IsoTimeOf(s.last_success)},
                   {"last_error", s.last_error},
                   {"loads_ok", s.loads_ok},
                   {"loads_failed", s.loads_failed},
                   {"queries", (s.current ? s.current->queries() : 0) + (s.previous ? s.previous->queries() : 0)},
                   {"last_access", s.current && s.current->last_access_ms() > 0
                                       ? common::IsoTimeOf(std::chrono::system_clock::time_point(
                                             std::chrono::milliseconds(s.current->last_access_ms())))
                                       : ""},
                   {"refresh_ms", s.refresh_interval_ms},
                   {"lazy", s.lazy},
                   {"metadata_bytes", s.lazy_metadata_bytes},
                   {"fetched_bytes", s.lazy_fetched_bytes}};
  out["download"] = DownloadJson(s);
  return out;
}

}  // namespace

boost::json::object DownloadJson(const database::DatasetStatus& s) {
  const double rate = s.download_seconds > 0 ? static_cast<double>(s.download_done_bytes) / s.download_seconds : 0;
  const int64_t left = s.download_total_bytes - s.download_done_bytes;
  return {{"total_bytes", s.download_total_bytes},
          {"done_bytes", s.download_done_bytes},
          {"bytes_per_second", static_cast<int64_t>(rate)},
          {"eta_seconds", rate > 0 && left > 0 ? static_cast<double>(left) / rate : 0.0}};
}

http::Response JsonBodyResponse(int status, const std::string& body) {
  http::Response response;
  response.status = status;
  response.tail = body;
  response.SetHeader("Cache-Control", "no-store");
  return response;
}

http::Response OperationFailedResponse(const Status& status) { return MakeErrorResponse(status, "admin"); }

DatabaseAdmin::DatabaseAdmin(ManagerSource datasets, std::chrono::milliseconds query_timeout, bool read_only)
    : datasets_(std::move(datasets)), query_timeout_(query_timeout), read_only_(read_only) {}

DatabaseAdmin::~DatabaseAdmin() { background_.join(); }

bool DatabaseAdmin::Handle(http::Request& request, http::Responder& responder) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  if (path == "/query" && method == "POST") {
    Query(request, std::move(responder));
    return true;
  }
  if (read_only_ && method != "GET" && method != "HEAD" && (path.starts_with("/databases") || path.starts_with("/aliases"))) {
    responder(OperationFailedResponse(PermissionDenied("this member is a reader (--role reader): change databases and aliases on a writer")));
    return true;
  }
  if (path == "/aliases" || path.starts_with("/aliases/")) {
    std::string alias = path.size() > 9 ? path.substr(9) : "";
    if (!alias.empty() && method != "GET" && method != "HEAD") {
      boost::asio::post(background_, GuardedJob("database admin", "admin", std::move(responder), [this, request, alias](http::Responder responder) {
        responder(Aliases(request, alias));
      }));
    } else {
      responder(Aliases(request, alias));
    }
    return true;
  }
  if (path == "/databases" && method == "POST") {
    Add(request, std::move(responder));
    return true;
  }
  if (path == "/databases" && (method == "GET" || method == "HEAD")) {
    json::array list;
    for (const auto& status : datasets_()->Statuses()) list.push_back(StatsJson(status));
    responder(JsonBodyResponse(200, json::serialize(json::object{{"databases", std::move(list)}})));
    return true;
  }
  if (!path.starts_with("/databases/")) return false;
  std::string rest = path.substr(11);
  size_t slash = rest.find('/');
  std::string name = rest.substr(0, slash);
  std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (action.empty() && (method == "GET" || method == "HEAD")) {
    auto status = datasets_()->StatusOf(name);
    if (!status.ok()) return responder(OperationFailedResponse(status.status())), true;
    responder(JsonBodyResponse(200, json::serialize(StatsJson(*status))));
    return true;
  }
  if (action == "versions" && method == "GET") {
    auto status = datasets_()->StatusOf(name);
    if (!status.ok()) return responder(OperationFailedResponse(status.status())), true;
    json::array versions;
    if (status->current) versions.push_back({{"snapshot", status->current->id()}, {"role", "current"},
                                             {"loaded_at", common::IsoTimeOf(status->current->loaded_at())}, {"bytes", status->current->bytes()}});
    if (status->previous) versions.push_back({{"snapshot", status->previous->id()}, {"role", "previous"},
                                              {"loaded_at", common::IsoTimeOf(status->previous->loaded_at())}, {"bytes", status->previous->bytes()}});
    json::array attempts;
    for (const auto& record : status->history) {
      attempts.push_back({{"at", common::IsoTimeOf(record.at)}, {"ok", record.ok}, {"snapshot", record.snapshot_id},
                          {"unchanged", record.reused}, {"load_ms", record.load_ms}, {"error", record.error}});
    }
    responder(JsonBodyResponse(200, json::serialize(json::object{{"database", name}, {"versions", std::move(versions)},
                                                                 {"attempts", std::move(attempts)}})));
    return true;
  }
  const bool remove = action.empty() && method == "DELETE";
  if (remove || ((action == "refresh" || action == "rollback") && method == "POST")) {
    const bool force = QueryFlag(request.query, "force");
    boost::asio::post(background_, GuardedJob("database admin", "admin", std::move(responder), [this, name, action, remove, force](http::Responder responder) {
      auto datasets = datasets_();
      dram::Status status = remove ? datasets->Remove(name, force)
                            : action == "refresh" ? datasets->Refresh(name, force)
                                                  : datasets->Rollback(name);
      if (!status.ok()) return responder(OperationFailedResponse(status));
      if (remove) return responder(JsonBodyResponse(200, json::serialize(json::object{{"deleted", name}})));
      auto current = datasets->Current(name);
      responder(JsonBodyResponse(200, json::serialize(json::object{
                                          {"database", name}, {"dataset", name}, {"action", action},
                                          {"snapshot_id", current ? current->id() : ""}})));
    }));
    return true;
  }
  return false;
}

void DatabaseAdmin::Add(const http::Request& request, http::Responder responder) {
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  auto bad = [&](std::string message) { responder(MakeErrorResponse(InvalidArgument(message), "admin")); };
  if (ec || !body.is_object()) return bad("body must be a JSON object {\"name\", \"uri\", …}");
  const json::object& fields = body.as_object();
  database::DatasetSpec spec;
  auto text = [&](const char* key) -> std::string {
    const json::value* value = fields.if_contains(key);
    return value && value->is_string() ? std::string(value->as_string()) : "";
  };
  for (const auto& [key, value] : fields) {
    static const std::set<std::string, std::less<>> kKnown = {"name", "uri", "tables", "refresh", "resolver", "sort_by",
                                                              "lazy", "budget_bytes", "replicas", "shards", "shard_by",
                                                              "global"};
    if (!kKnown.contains(key)) return bad("unknown field '" + std::string(key) + "'");
  }
  spec.name = text("name");
  spec.source = text("uri");
  if (!IsIdentifier(spec.name)) return bad("'name' must be an identifier (letters, digits, _; at most 64)");
  if (spec.source.empty()) return bad("'uri' is required: a directory of Parquet/CSV files (a path, file://, s3://, gs:// or https://)");
  if (std::string resolver = text("resolver"); !resolver.empty()) {
    auto parsed = database::ParseResolver(resolver);
    if (!parsed) return bad("'resolver' must be all, latest_partition, success_marker or databricks");
    spec.resolver = *parsed;
  }
  if (std::string refresh = text("refresh"); !refresh.empty()) {
    auto interval = common::ParseDurationMs(refresh);
    if (!interval || *interval <= 0) return bad("'refresh' must be a duration like 30s, 5m or 1h");
    spec.refresh_interval_ms = *interval;
  }
  if (std::string idle = text("idle_evict"); !idle.empty()) {
    auto after = common::ParseDurationMs(idle);
    if (!after || *after <= 0) return bad("'idle_evict' must be a duration like 10m or 1h");
    spec.idle_evict_ms = *after;
  }
  spec.named_tables_only = fields.contains("tables");
  if (const json::value* lazy = fields.if_contains("lazy")) {
    if (!lazy->is_bool()) return bad("'lazy' must be true or false");
    spec.lazy = lazy->as_bool();
  }
  if (const json::value* budget = fields.if_contains("budget_bytes")) {
    if (!budget->is_int64() || budget->as_int64() < 0) return bad("'budget_bytes' must be a byte count");
    spec.lazy_budget_bytes = budget->as_int64();
  }
  if (const json::value* tables = fields.if_contains("tables")) {
    if (!tables->is_array()) return bad("'tables' must be a list of table names");
    for (const auto& table : tables->as_array()) {
      if (!table.is_string()) return bad("'tables' must be a list of table names");
      spec.tables.push_back({.name = std::string(table.as_string())});
    }
  }
  if (const json::value* sort_by = fields.if_contains("sort_by")) {
    // {"table": ["col", …]}: a table named here is also selected.
    if (!sort_by->is_object()) return bad("'sort_by' must map table names to column lists");
    for (const auto& [table, columns] : sort_by->as_object()) {
      database::TableSpec* target = nullptr;
      for (auto& t : spec.tables) {
        if (t.name == table) target = &t;
      }
      if (!target) target = &spec.tables.emplace_back(database::TableSpec{.name = std::string(table)});
      if (!columns.is_array()) return bad("'sort_by' must map table names to column lists");
      for (const auto& column : columns.as_array()) {
        if (column.is_string()) target->sort_by.emplace_back(column.as_string());
      }
    }
  }
  // Placement in a cluster: {"replicas": N | "all", "shards": S, "shard_by": "file" | column, "global": [tables]}.
  if (const json::value* replicas = fields.if_contains("replicas")) {
    if (replicas->is_string() && replicas->as_string() == "all") {
      spec.placement.replicas = 0;
    } else if (replicas->is_int64() && replicas->as_int64() >= 1 && replicas->as_int64() <= 1024) {
      spec.placement.replicas = static_cast<int>(replicas->as_int64());
    } else {
      return bad("'replicas' must be a count from 1 to 1024, or \"all\"");
    }
  }
  if (const json::value* shards = fields.if_contains("shards")) {
    if (!shards->is_int64() || shards->as_int64() < 1 || shards->as_int64() > 4096) return bad("'shards' must be between 1 and 4096");
    spec.placement.shards = static_cast<int>(shards->as_int64());
  }
  spec.placement.shard_by = text("shard_by");
  if (const json::value* global = fields.if_contains("global")) {
    if (!global->is_array()) return bad("'global' must be a list of table names");
    for (const auto& table : global->as_array()) {
      if (!table.is_string()) return bad("'global' must be a list of table names");
      spec.placement.global_tables.emplace_back(table.as_string());
    }
  }
  if (dram::Status placement = database::ValidatePlacement(spec); !placement.ok()) return bad(placement.message());
  boost::asio::post(background_, GuardedJob("database admin", "admin", std::move(responder),
                                            [this, spec = std::move(spec)](http::Responder responder) mutable {
    std::string name = spec.name;
    auto datasets = datasets_();
    dram::Status status = datasets->Add(std::move(spec));
    if (!status.ok()) return responder(OperationFailedResponse(status));
    auto stats = datasets->StatusOf(name);
    if (!stats.ok()) return responder(OperationFailedResponse(stats.status()));
    responder(JsonBodyResponse(201, json::serialize(StatsJson(*stats))));
  }));
}

http::Response DatabaseAdmin::Aliases(const http::Request& request, const std::string& alias) {
  auto describe = [](const database::AliasInfo& info) {
    return json::object{{"alias", info.name}, {"database", info.database}, {"pinned", info.pinned_snapshot}};
  };
  if (alias.empty()) {
    if (request.method != "GET" && request.method != "HEAD") return MakeErrorResponse(NotFound("no such admin route"), "admin");
    json::array list;
    for (const auto& info : datasets_()->Aliases()) list.push_back(describe(info));
    return JsonBodyResponse(200, json::serialize(json::object{{"aliases", std::move(list)}}));
  }
  if (request.method == "GET" || request.method == "HEAD") {
    for (const auto& info : datasets_()->Aliases()) {
      if (info.name == alias) {
        json::object out = describe(info);
        auto snapshot = datasets_()->Current(alias);
        out["snapshot"] = snapshot ? snapshot->id() : "";
        return JsonBodyResponse(200, json::serialize(out));
      }
    }
    return MakeErrorResponse(NotFound("unknown alias", alias), "admin");
  }
  if (request.method == "DELETE") {
    dram::Status status = datasets_()->DeleteAlias(alias, QueryFlag(request.query, "force"));
    if (!status.ok()) return OperationFailedResponse(status);
    return JsonBodyResponse(200, json::serialize(json::object{{"deleted", alias}}));
  }
  if (request.method == "PUT") {
    if (!IsIdentifier(alias)) return MakeErrorResponse(InvalidArgument("an alias name is an identifier (letters, digits, _; at most 64)"), "admin");
    boost::system::error_code ec;
    json::value body = json::parse(request.body, ec);
    const json::value* target = !ec && body.is_object() ? body.as_object().if_contains("target") : nullptr;
    if (!target || !target->is_string()) {
      return MakeErrorResponse(InvalidArgument("body must be {\"target\": \"database[@snapshot]\"}"), "admin");
    }
    std::string text(target->as_string());
    size_t at = text.find('@');
    std::string database = text.substr(0, at);
    std::string pinned = at == std::string::npos ? "" : text.substr(at + 1);
    auto datasets = datasets_();
    dram::Status status = datasets->SetAlias(alias, database, pinned);
    if (!status.ok()) return OperationFailedResponse(status);
    auto snapshot = datasets->Current(alias);
    return JsonBodyResponse(200, json::serialize(json::object{{"alias", alias}, {"database", database}, {"pinned", pinned},
                                                              {"snapshot", snapshot ? snapshot->id() : ""}}));
  }
  return MakeErrorResponse(NotFound("no such admin route"), "admin");
}

void DatabaseAdmin::Query(const http::Request& request, http::Responder responder) {
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  const json::object* fields = !ec && body.is_object() ? &body.as_object() : nullptr;
  auto field = [&](const char* key) -> std::string {
    const json::value* value = fields ? fields->if_contains(key) : nullptr;
    return value && value->is_string() ? std::string(value->as_string()) : "";
  };
  std::string name = field("database");
  std::string sql = field("sql");
  std::string format = field("format").empty() ? "json" : field("format");
  if (name.empty() || sql.empty()) {
    return responder(MakeErrorResponse(InvalidArgument("body must be {\"database\", \"sql\", \"format\": json|csv}"), "admin"));
  }
  if (format != "json" && format != "csv") return responder(MakeErrorResponse(InvalidArgument("format must be json or csv"), "admin"));
  auto snapshot = datasets_()->Current(name);
  if (!snapshot) return responder(MakeErrorResponse(NotFound("unknown or not loaded database", name), "admin"));
  boost::asio::post(background_, GuardedJob("database admin", "admin", std::move(responder), [this, snapshot, sql, format](http::Responder responder) {
    responder(ReadOnlyQueryResponse(*snapshot, sql, format == "csv", query_timeout_));
  }));
}

http::Response ReadOnlyQueryResponse(const database::Snapshot& snapshot, const std::string& sql, bool csv,
                                     std::chrono::milliseconds timeout, std::string_view extra_json) {
  // A connection of its own, dropped after this query: admin SQL never shares a connection
  // (temporary objects, prepared statements) with API requests, and never holds one of theirs.
  auto connection = snapshot.database().Connect();
  if (!connection.ok()) return MakeErrorResponse(connection.status(), "admin");
  // Ad-hoc SQL on a lazy database reads every file of every table (dram does not analyze it).
  std::vector<database::LazyScope> scopes;
  if (database::LazyFiles* lazy = snapshot.lazy()) {
    auto scoped = database::ScopeLazyQuery(*lazy, **connection, {}, /*others_read_all=*/true);
    if (!scoped.ok()) return OperationFailedResponse(scoped.status());
    scopes = std::move(scoped).value();
  }
  snapshot.RecordAccess();
  Result<engine::QueryResult> result = Internal("not run");
  {
    engine::InterruptAfter deadline(**connection, timeout);
    result = (*connection)->QueryReadOnly(sql);
  }
  if (!result.ok()) return OperationFailedResponse(AdminSqlFailure(result.status()));
  std::string out;
  if (csv) {
    auto rows = engine::EncodeResult(*result, engine::Format::kCsv, out);
    if (!rows.ok()) return MakeErrorResponse(rows.status(), "admin");
    http::Response response = JsonBodyResponse(200, std::move(out));
    response.content_type = "text/csv; charset=utf-8";
    return response;
  }
  out = "{\"columns\":" + ColumnsJson(result->Columns()) + ",\"data\":";
  auto rows = engine::EncodeResult(*result, engine::Format::kJson, out);
  if (!rows.ok()) return MakeErrorResponse(rows.status(), "admin");
  out += ",\"rows\":" + std::to_string(*rows);
  if (!extra_json.empty()) out.append(",").append(extra_json);
  out += "}";
  return JsonBodyResponse(200, std::move(out));
}

Status AdminSqlFailure(const Status& failed) {
  // The admin wrote this SQL: DuckDB's message is theirs to read (422 invalid_param), a statement
  // that is not read-only is forbidden (403), one over its time is a 504.
  if (failed.code() == StatusCode::kCancelled) return DeadlineExceeded("query ran past the query timeout");
  if (failed.code() == StatusCode::kOutOfRange || failed.code() == StatusCode::kInternal) return InvalidArgument(failed.message());
  return failed;
}

std::string ColumnsJson(const std::vector<engine::ColumnInfo>& columns) {
  json::array list;
  for (const auto& column : columns) list.push_back({{"name", column.name}, {"type", column.type.sql_name}});
  return json::serialize(list);
}

}  // namespace dram::api
