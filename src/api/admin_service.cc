#include "api/admin_service.h"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <algorithm>

#include "api/audit.h"
#include "api/database_admin.h"
#include "api/dataset_metrics.h"
#include "api/error_response.h"
#include "api/guarded_job.h"
#include "api/openapi.h"
#include "auth/crypto.h"
#include "common/civil_time.h"

namespace dram::api {

namespace json = boost::json;

namespace {

http::Response JsonResponse(int status, const json::value& body) {
  http::Response response;
  response.status = status;
  response.tail = json::serialize(body);
  response.SetHeader("Cache-Control", "no-store");
  return response;
}

json::object SnapshotJson(const database::Snapshot& snapshot) {
  json::array tables;
  for (const auto& table : snapshot.tables()) {
    json::array columns;
    for (const auto& column : table.columns) columns.push_back({{"name", column.name}, {"type", column.type.sql_name}});
    tables.push_back({{"name", table.name}, {"rows", table.rows}, {"columns", std::move(columns)}});
  }
  std::string watermark;
  if (snapshot.watermark_ms() > 0) common::AppendIsoTimestampMicros(watermark, snapshot.watermark_ms() * 1000, true);
  return {{"id", snapshot.id()},          {"path", snapshot.path()},       {"bytes", snapshot.bytes()},
          {"load_ms", snapshot.load_ms()}, {"loaded_at", common::IsoTimeOf(snapshot.loaded_at())},
          {"watermark", watermark},        {"tables", std::move(tables)}};
}

// Constant-time comparison, so the token cannot be guessed byte by byte from response times.
bool TokenMatches(std::string_view header, const std::string& token) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.substr(0, kBearer.size()) != kBearer) return false;
  std::string_view given = header.substr(kBearer.size());
  return auth::ConstantTimeEquals(given, token);
}

}  // namespace

AdminService::AdminService(ManagerSource datasets, ApiService& api, ResponseCache& cache, MetricsRegistry& metrics,
                           DocsPage& docs, AdminAccess access, std::chrono::milliseconds query_timeout, CatalogAdmin* catalog,
                           bool read_only, cluster::ClusterNode* cluster, ShardCoordinator* shards)
    : datasets_(datasets), api_(api), cache_(cache), metrics_(metrics), docs_(docs), access_(std::move(access)),
      databases_(datasets, query_timeout, read_only), analyses_(std::move(datasets), shards, query_timeout), cluster_node_(cluster),
      cluster_(cluster ? std::make_unique<ClusterAdmin>(*cluster) : nullptr), catalog_(catalog),
      started_(std::chrono::steady_clock::now()) {}

AdminService::~AdminService() { Drain(); }

void AdminService::Drain() {
  background_.join();
  databases_.Drain();
  analyses_.Drain();
  if (catalog_) catalog_->Drain();
}

bool AdminService::Authorized(const http::Request& request) const {
  if (access_.token.empty()) return true;  // loopback only (checked at start), with a warning
  if (TokenMatches(request.Header("authorization"), access_.token)) return true;
  AuditFailure("admin_auth_failure", request.path, request.remote_address, "");
  return false;
}

void AdminService::Handle(http::Request request, http::Responder responder) {
  const std::string& path = request.path;
  // A web page must not drive the admin port from an operator's browser: a request that carries
  // an Origin (every cross-origin fetch and form post does) is refused unless allowlisted. The
  // port sends no CORS headers, so no page can read an answer either.
  std::string_view origin = request.Header("origin");
  if (!origin.empty() &&
      std::find(access_.allowed_origins.begin(), access_.allowed_origins.end(), origin) == access_.allowed_origins.end()) {
    AuditFailure("admin_origin_refused", request.path, request.remote_address, "");
    return responder(MakeErrorResponse(PermissionDenied("browser requests are not accepted on the admin port"), "admin"));
  }
  if (request.method == "POST" && path.rfind("/datasets/", 0) == 0) return Manage(request, std::move(responder));
  if (path.starts_with("/databases") || path.starts_with("/aliases") || path == "/query" || path == "/analyze" || path.starts_with("/catalog") ||
      path.starts_with("/cluster")) {
    // Management (and reading data through /query) needs the admin token when one is set.
    if (!Authorized(request)) return responder(MakeErrorResponse(Unauthenticated("admin token required"), "admin"));
    if (request.method != "GET" && request.method != "HEAD") Audit("admin_" + request.method, request.path, request.remote_address, "");
    if (catalog_ && catalog_->Handle(request, responder)) return;
    if (cluster_ && cluster_->Handle(request, responder)) return;
    if (databases_.Handle(request, responder)) return;
    if (analyses_.Handle(request, responder)) return;
    return responder(MakeErrorResponse(NotFound("no such admin route"), "admin"));
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return responder(MakeErrorResponse(NotFound("no such admin route"), "admin"));
  }
  if (path == "/live") return responder(JsonResponse(200, {{"status", "ok"}}));
  if (path == "/ready") return responder(Ready());
  const bool known = path == "/status" || path == "/metrics" || path == "/openapi.json" || path == "/schema" ||
                     DocsPage::Serves(path);
  if (known && !access_.public_read && !Authorized(request)) {
    return responder(MakeErrorResponse(Unauthenticated("admin token required"), "admin"));
  }
  if (DocsPage::Serves(path)) return docs_.Handle(request, api_.state(), DocsAudience::kAdmin, std::move(responder));
  if (path == "/status") return responder(Status());
  if (path == "/metrics") return responder(Metrics());
  if (path == "/openapi.json" || path == "/schema") {
    auto state = api_.state();
    http::Response response;
    response.tail = path == "/schema" ? RenderSchema(*state) : RenderOpenApi(*state);
    return responder(std::move(response));
  }
  responder(MakeErrorResponse(NotFound("no such admin route"), "admin"));
}

http::Response AdminService::Ready() const {
  bool ready = true;
  json::object datasets;
  if (cluster_node_) {
    // A member is ready when every copy placement gave it serves; what it does not hold is
    // another member's to serve.
    for (const auto& copy : datasets_()->Copies()) {
      // A cold copy (evicted for being idle) is servable: its next map step loads it.
      const bool cold = copy.state == database::CopyStatus::State::kCold;
      const bool serving = copy.state == database::CopyStatus::State::kReady || cold;
      datasets[copy.name] = cold ? "cold" : serving ? "ready" : "loading";
      ready = ready && serving;
    }
    json::object body{{"ready", ready}, {"datasets", std::move(datasets)}};
    if (std::string reason = cluster_node_->NotReadyReason(); !reason.empty()) body["cluster"] = reason;
    return JsonResponse(ready ? 200 : 503, std::move(body));
  }
  for (const auto& status : datasets_()->Statuses()) {
    // A cold dataset (evicted for being idle) is servable: its next request loads it.
    datasets[status.name] = status.current ? "ready" : status.cold ? "cold" : "loading";
    ready = ready && (status.current != nullptr || status.cold);
  }
  return JsonResponse(ready ? 200 : 503, {{"ready", ready}, {"datasets", std::move(datasets)}});
}

http::Response AdminService::Status() const {
  json::array datasets;
  for (const auto& status : datasets_()->Statuses()) {
    json::object entry{{"name", status.name},
                       {"ready", status.current != nullptr},
                       {"cold", status.cold},
                       {"loads_ok", status.loads_ok},
                       {"loads_failed", status.loads_failed},
                       {"last_attempt", common::IsoTimeOf(status.last_attempt)},
                       {"last_error", status.last_error}};
    entry["snapshot"] = status.current ? json::value(SnapshotJson(*status.current)) : json::value(nullptr);
    entry["previous"] = status.previous ? json::value(status.previous->id()) : json::value(nullptr);
    if (status.current) entry["pool"] = {{"size", status.current->pool().size()}, {"in_use", status.current->pool().in_use()}};
    entry["loading"] = status.loading;
    entry["download"] = DownloadJson(status);
    datasets.push_back(std::move(entry));
  }
  json::array endpoints;
  auto state = api_.state();
  for (const auto& [path, route] : state->routes) {
    endpoints.push_back({{"path", path}, {"dataset", route.dataset}, {"ready", route.snapshot != nullptr},
                         {"snapshot_id", route.snapshot ? route.snapshot->id() : ""}});
  }
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
  json::object body{{"uptime_seconds", uptime},
                            {"datasets", std::move(datasets)},
                            {"endpoints", std::move(endpoints)},
                            {"cache", {{"entries", cache_.entries()}, {"bytes", cache_.bytes()}, {"max_bytes", cache_.max_bytes()},
                                       {"hits", cache_.hits()}, {"misses", cache_.misses()}}}};
  if (catalog_) body["catalog"] = catalog_->StatusJson();
  if (cluster_node_) body["cluster"] = cluster_node_->StatusJson();
  return JsonResponse(200, std::move(body));
}

http::Response AdminService::Metrics() const {
  http::Response response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  std::string& out = response.tail;
  metrics_.Render(out);
  auto gauge = [&](const char* name, const char* help, const char* type) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  AppendDatasetMetrics(datasets_()->Statuses(), std::chrono::system_clock::now(), out);
  gauge("dram_requests_in_flight", "API requests admitted and not answered yet (queued or running).", "gauge");
  out += "dram_requests_in_flight " + std::to_string(api_.in_flight()) + "\n";
  gauge("dram_requests_in_flight_max", "The bound on admitted requests (limits.max_in_flight); beyond it: 503.", "gauge");
  out += "dram_requests_in_flight_max " + std::to_string(api_.max_in_flight()) + "\n";
  gauge("dram_cache_hits_total", "Response cache hits.", "counter");
  out += "dram_cache_hits_total " + std::to_string(cache_.hits()) + "\n";
  gauge("dram_cache_misses_total", "Response cache misses.", "counter");
  out += "dram_cache_misses_total " + std::to_string(cache_.misses()) + "\n";
  gauge("dram_cache_evictions_total", "Response cache evictions.", "counter");
  out += "dram_cache_evictions_total " + std::to_string(cache_.evictions()) + "\n";
  gauge("dram_cache_bytes", "Bytes held by the response cache.", "gauge");
  out += "dram_cache_bytes " + std::to_string(cache_.bytes()) + "\n";
  gauge("dram_cache_entries", "Entries in the response cache.", "gauge");
  out += "dram_cache_entries " + std::to_string(cache_.entries()) + "\n";
  if (catalog_) catalog_->AppendMetrics(out);
  if (cluster_node_) cluster_node_->AppendMetrics(out);
  response.compressible = true;
  return response;
}

void AdminService::Manage(const http::Request& request, http::Responder responder) {
  if (!Authorized(request)) return responder(MakeErrorResponse(Unauthenticated("admin token required"), "admin"));
  // /datasets/{name}/{action}
  std::string_view rest = std::string_view(request.path).substr(10);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return responder(MakeErrorResponse(NotFound("no such admin route"), "admin"));
  std::string name(rest.substr(0, slash));
  std::string action(rest.substr(slash + 1));
  if (action != "refresh" && action != "rollback") return responder(MakeErrorResponse(NotFound("no such admin route"), "admin"));
  bool force = request.query.find("force=true") != std::string::npos;
  boost::asio::post(background_, GuardedJob("dataset admin", "admin", std::move(responder), [this, name, action, force, remote = request.remote_address, path = request.path](http::Responder responder) {
    dram::Status status = action == "refresh" ? datasets_()->Refresh(name, force) : datasets_()->Rollback(name);
    Audit("admin_" + action, path, remote, status.ok() ? "ok" : std::string(StatusCodeName(status.code())));
    if (!status.ok()) {
      return responder(OperationFailedResponse(status));
    }
    auto current = datasets_()->Current(name);
    responder(JsonResponse(200, {{"dataset", name}, {"action", action}, {"snapshot_id", current ? current->id() : ""}}));
  }));
}

}  // namespace dram::api
