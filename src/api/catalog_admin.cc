#include "api/catalog_admin.h"

#include <boost/asio/post.hpp>

#include "api/database_admin.h"
#include "api/error_response.h"
#include "api/guarded_job.h"
#include "store/store_uri.h"

namespace dram::api {

namespace json = boost::json;

namespace {

http::Response Refused(std::string_view message) { return OperationFailedResponse(PermissionDenied(std::string(message))); }

int64_t QueryNumber(const std::string& query, std::string_view name) {
  std::string key = std::string(name) + "=";
  size_t at = query.find(key);
  if (at == std::string::npos || (at > 0 && query[at - 1] != '&')) return -1;
  return std::atoll(query.c_str() + at + key.size());
}

std::string BodyString(const std::string& body, const char* name) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return "";
  const json::value* field = value.as_object().if_contains(name);
  return field && field->is_string() ? std::string(field->as_string()) : "";
}

int64_t BodyNumber(const std::string& body, const char* name) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return -1;
  const json::value* field = value.as_object().if_contains(name);
  return field && field->is_int64() ? field->as_int64() : -1;
}

json::object DocumentJson(int64_t version, const catalog::CatalogDocument& document) {
  json::object files;
  for (const auto& [path, text] : document.files) files[path] = text;
  json::object data;
  for (const auto& [path, ref] : document.data) data[path] = {{"sha256", ref.sha256}, {"size", ref.size}};
  json::value runtime = nullptr;
  if (!document.runtime.empty()) runtime = json::parse(document.runtime);
  return {{"version", version}, {"message", document.message}, {"created_at", document.created_at},
          {"files", std::move(files)}, {"data", std::move(data)}, {"runtime", std::move(runtime)}};
}

}  // namespace

CatalogAdmin::CatalogAdmin(catalog::Catalog& catalog, bool writer, bool token_configured,
                           std::function<CatalogFollowStatus()> status, std::function<void()> poll_now)
    : catalog_(catalog), writer_(writer), token_configured_(token_configured), status_(std::move(status)),
      poll_now_(std::move(poll_now)) {}

CatalogAdmin::~CatalogAdmin() { background_.join(); }

json::object CatalogAdmin::StatusJson() const {
  CatalogFollowStatus s = status_();
  return {{"root", s.root},
          {"role", s.writer ? "writer" : "reader"},
          {"serving_version", s.serving_version},
          {"latest_seen", s.latest_seen},
          {"reloads_ok", s.reloads_ok},
          {"reloads_failed", s.reloads_failed},
          {"last_error", s.last_error},
          {"last_reload_at", s.last_reload_at},
          {"last_reload_seconds", s.last_reload_seconds}};
}

void CatalogAdmin::AppendMetrics(std::string& out) const {
  CatalogFollowStatus s = status_();
  auto gauge = [&](const char* name, const char* help, const char* type) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  gauge("dram_catalog_version", "The catalog version whose state is serving.", "gauge");
  out += "dram_catalog_version " + std::to_string(s.serving_version) + "\n";
  gauge("dram_catalog_latest_version", "The newest catalog version the last poll found.", "gauge");
  out += "dram_catalog_latest_version " + std::to_string(s.latest_seen) + "\n";
  gauge("dram_catalog_reloads_total", "Switches to a new catalog version, by result.", "counter");
  out += "dram_catalog_reloads_total{result=\"ok\"} " + std::to_string(s.reloads_ok) + "\n";
  out += "dram_catalog_reloads_total{result=\"error\"} " + std::to_string(s.reloads_failed) + "\n";
  gauge("dram_catalog_reload_failing", "1 while the newest version could not be loaded (the previous one serves).", "gauge");
  out += std::string("dram_catalog_reload_failing ") + (s.last_error.empty() ? "0" : "1") + "\n";
  gauge("dram_catalog_last_reload_seconds", "From seeing a new version to serving it, for the last switch.", "gauge");
  out += "dram_catalog_last_reload_seconds " + std::to_string(s.last_reload_seconds) + "\n";
}

bool CatalogAdmin::Handle(const http::Request& request, http::Responder& responder) {
  const std::string& path = request.path;
  if (path != "/catalog" && !path.starts_with("/catalog/")) return false;
  const bool read = request.method == "GET" || request.method == "HEAD";
  if (path == "/catalog" && read) {
    boost::asio::post(background_, GuardedJob("catalog admin", "admin", std::move(responder), [this](http::Responder responder) {
      json::object body = StatusJson();
      json::array versions;
      auto history = catalog_.History();
      if (history.ok()) {
        for (const auto& v : *history) versions.push_back({{"version", v.version}, {"created_at", v.created_at}, {"message", v.message}});
      }
      body["versions"] = std::move(versions);
      if (!history.ok()) body["history_error"] = history.status().ToString();
      responder(JsonBodyResponse(200, json::serialize(body)));
    }));
    return true;
  }
  if (path.starts_with("/catalog/versions/") && read) {
    int64_t version = std::atoll(path.c_str() + 18);
    boost::asio::post(background_, GuardedJob("catalog admin", "admin", std::move(responder), [this, version](http::Responder responder) {
      auto document = version > 0 ? catalog_.Read(version) : Result<catalog::CatalogDocument>(NotFound("no such version"));
      if (!document.ok()) return responder(OperationFailedResponse(document.status()));
      responder(JsonBodyResponse(200, json::serialize(DocumentJson(version, *document))));
    }));
    return true;
  }
  if (path == "/catalog/diff" && read) {
    int64_t from = QueryNumber(request.query, "from"), to = QueryNumber(request.query, "to");
    boost::asio::post(background_, GuardedJob("catalog admin", "admin", std::move(responder), [this, from, to](http::Responder responder) {
      auto a = catalog_.Read(std::max<int64_t>(from, 0));
      auto b = to > 0 ? catalog_.Read(to) : Result<catalog::CatalogDocument>(InvalidArgument("give ?from=V1&to=V2"));
      if (!a.ok()) return responder(OperationFailedResponse(a.status()));
      if (!b.ok()) return responder(OperationFailedResponse(b.status()));
      responder(JsonBodyResponse(200, json::serialize(json::object{{"from", from}, {"to", to}, {"diff", catalog::Diff(*a, *b)}})));
    }));
    return true;
  }
  if (path == "/catalog/reload" && request.method == "POST") {
    poll_now_();
    responder(JsonBodyResponse(202, json::serialize(StatusJson())));
    return true;
  }
  if (path == "/catalog/export" && request.method == "POST") {
    // Writes to another store, never to this catalog: readers may back up too.
    if (!token_configured_) return responder(Refused("catalog exports over HTTP need an admin token (DRAM_ADMIN_TOKEN)")), true;
    std::string destination = BodyString(request.body, "destination");
    boost::asio::post(background_, GuardedJob("catalog admin", "admin", std::move(responder), [this, destination](http::Responder responder) {
      if (destination.empty()) return responder(OperationFailedResponse(InvalidArgument("body must be {\"destination\": URI}")));
      auto store = store::OpenStore(destination);
      if (!store.ok()) return responder(OperationFailedResponse(store.status()));
      auto report = catalog_.ExportTo(**store);
      if (!report.ok()) return responder(OperationFailedResponse(report.status()));
      responder(JsonBodyResponse(200, json::serialize(json::object{{"destination", destination}, {"versions", report->versions},
                                                                    {"objects", report->objects}})));
    }));
    return true;
  }
  if ((path == "/catalog/restore" || path == "/catalog/gc" || path == "/catalog/import") && request.method == "POST") {
    if (!writer_) return responder(Refused("this member is a reader (--role reader): it never writes the catalog")), true;
    if (!token_configured_) return responder(Refused("catalog writes over HTTP need an admin token (DRAM_ADMIN_TOKEN)")), true;
    if (path == "/catalog/import") {
      std::string source = BodyString(request.body, "source");
      boost::asio::post(background_, GuardedJob("catalog admin", "admin", std::move(responder), [this, source](http::Responder responder) {
        if (source.empty()) return responder(OperationFailedResponse(InvalidArgument("body must be {\"source\": URI}")));
        auto store = store::OpenStore(source);
        if (!store.ok()) return responder(OperationFailedResponse(store.status()));
        int64_t imported = 0;
        auto version = catalog_.ImportFrom(**store, &imported);
        if (!version.ok()) return responder(OperationFailedResponse(version.status()));
        poll_now_();
        responder(JsonBodyResponse(200, json::serialize(json::object{{"version", *version}, {"imported", imported}})));
      }));
      return true;
    }
    if (path == "/catalog/restore") {
      int64_t version = BodyNumber(request.body, "version");
      boost::asio::post(background_, GuardedJob("catalog admin", "admin", std::move(responder), [this, version](http::Responder responder) {
        if (version <= 0) return responder(OperationFailedResponse(InvalidArgument("body must be {\"version\": N}")));
        auto restored = catalog_.Restore(version);
        if (!restored.ok()) return responder(OperationFailedResponse(restored.status()));
        poll_now_();
        responder(JsonBodyResponse(200, json::serialize(json::object{{"version", *restored}, {"restored", version}})));
      }));
    } else {
      int64_t keep = BodyNumber(request.body, "keep");
      boost::asio::post(background_, GuardedJob("catalog admin", "admin", std::move(responder), [this, keep](http::Responder responder) {
        if (keep <= 0) return responder(OperationFailedResponse(InvalidArgument("body must be {\"keep\": N}")));
        auto report = catalog_.Collect(static_cast<size_t>(keep), std::chrono::hours(1));
        if (!report.ok()) return responder(OperationFailedResponse(report.status()));
        responder(JsonBodyResponse(200, json::serialize(json::object{{"versions_deleted", report->versions_deleted},
                                                                      {"objects_deleted", report->objects_deleted},
                                                                      {"bytes_freed", report->bytes_freed}})));
      }));
    }
    return true;
  }
  responder(MakeErrorResponse(NotFound("no such admin route"), "admin"));
  return true;
}

}  // namespace dram::api
