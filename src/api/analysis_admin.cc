#include "api/analysis_admin.h"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <optional>
#include <cctype>

#include "api/error_response.h"
#include "api/guarded_job.h"
#include "common/json_text.h"
#include "common/units.h"

namespace dram::api {

namespace json = boost::json;

struct AnalysisAdmin::Analysis {
  std::string database;
  std::string map;
  std::string reduce;
  std::optional<std::vector<int>> shards;  // unset: every shard
  bool allow_partial = false;
  bool csv = false;
  std::chrono::milliseconds timeout{0};
};

namespace {

constexpr const char* kBodyShape =
    "body must be {\"database\", \"map\", \"reduce\", \"shards\": [K,…], \"partial\": true|false, \"format\": json|csv, "
    "\"timeout\": \"30s\"} (only database and map are required)";
constexpr std::chrono::milliseconds kMaxTimeout{600'000};

// SQL as the admin typed it, without the trailing semicolons a shell user adds: the text is spliced
// into WITH partials AS (map) reduce, and sent as one statement.
std::string TrimStatement(std::string_view sql) {
  size_t end = sql.size();
  while (end > 0 && (sql[end - 1] == ';' || std::isspace(static_cast<unsigned char>(sql[end - 1])))) --end;
  size_t begin = 0;
  while (begin < end && std::isspace(static_cast<unsigned char>(sql[begin]))) ++begin;
  return std::string(sql.substr(begin, end - begin));
}

}  // namespace

bool AnalysisAdmin::Handle(const http::Request& request, http::Responder& responder) {
  if (request.path != "/analyze") return false;
  if (request.method != "POST") return responder(MakeErrorResponse(NotFound("POST /analyze runs an analysis"), "admin")), true;
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) return responder(MakeErrorResponse(InvalidArgument(kBodyShape), "admin")), true;
  Analysis analysis;
  analysis.timeout = query_timeout_;
  std::vector<std::string> errors;
  for (const auto& [key, value] : body.as_object()) {
    if (key == "database" && value.is_string()) {
      analysis.database = std::string(value.as_string());
    } else if (key == "map" && value.is_string()) {
      analysis.map = TrimStatement(value.as_string());
    } else if (key == "reduce" && value.is_string()) {
      analysis.reduce = TrimStatement(value.as_string());
    } else if (key == "partial" && value.is_bool()) {
      analysis.allow_partial = value.as_bool();
    } else if (key == "format" && value.is_string() && (value.as_string() == "json" || value.as_string() == "csv")) {
      analysis.csv = value.as_string() == "csv";
    } else if (key == "timeout" && value.is_string()) {
      auto ms = common::ParseDurationMs(value.as_string());
      if (!ms || *ms <= 0 || std::chrono::milliseconds(*ms) > kMaxTimeout) {
        errors.push_back("timeout must be a duration up to 10m (\"30s\", \"500ms\")");
      } else {
        analysis.timeout = std::chrono::milliseconds(*ms);
      }
    } else if (key == "shards" && value.is_array()) {
      std::vector<int> shards;
      for (const auto& item : value.as_array()) {
        if (!item.is_int64() || item.as_int64() < 0 || item.as_int64() > 1'000'000) {
          errors.push_back("shards must be shard numbers (0, 1, …)");
          break;
        }
        shards.push_back(static_cast<int>(item.as_int64()));
      }
      std::sort(shards.begin(), shards.end());
      if (std::adjacent_find(shards.begin(), shards.end()) != shards.end()) errors.push_back("shards names a shard twice");
      if (value.as_array().empty()) errors.push_back("shards must name at least one shard (leave it out for all)");
      analysis.shards = std::move(shards);
    } else {
      errors.push_back("'" + std::string(key) + "' is not a field of an analysis, or has the wrong type");
    }
  }
  if (analysis.database.empty()) errors.push_back("database is required");
  if (analysis.map.empty()) errors.push_back("map is required (one SELECT, run on each shard)");
  if (!errors.empty()) {
    std::string message;
    for (const auto& error : errors) message += (message.empty() ? "" : "; ") + error;
    return responder(MakeErrorResponse(InvalidArgument(message + ". " + kBodyShape), "admin")), true;
  }
  if (analysis.reduce.empty()) analysis.reduce = "SELECT * FROM partials";
  boost::asio::post(background_, GuardedJob("analysis", "admin", std::move(responder),
                                            [this, analysis = std::move(analysis)](http::Responder responder) {
                                              responder(Run(analysis));
                                            }));
  return true;
}

http::Response AnalysisAdmin::Run(const Analysis& analysis) const {
  const auto deadline = std::chrono::steady_clock::now() + analysis.timeout;
  auto manager = datasets_();
  int shard_count = 1;
  bool declared = false;
  for (const auto& database : manager->Databases()) {
    if (database.name == analysis.database) {
      shard_count = std::max(1, database.placement.shards);
      declared = true;
    }
  }
  auto local = shard_count == 1 ? manager->Current(analysis.database) : nullptr;
  if (shard_count == 1 && !local && manager->Cold(analysis.database)) {
    // Evicted for being idle: loaded again, as a request would.
    if (dram::Status warmed = manager->Warm(analysis.database); !warmed.ok()) return OperationFailedResponse(warmed);
    local = manager->Current(analysis.database);
  }
  if (!declared && !local) return OperationFailedResponse(NotFound("unknown or not loaded database", analysis.database));
  std::vector<int> shards;
  if (analysis.shards) {
    std::vector<int> unknown;
    for (int shard : *analysis.shards) (shard < shard_count ? shards : unknown).push_back(shard);
    if (!unknown.empty()) {
      return OperationFailedResponse(InvalidArgument(
          "shard" + std::string(unknown.size() > 1 ? "s " : " ") + ShardList(unknown) + " of '" + analysis.database +
          "' do" + (unknown.size() > 1 ? "" : "es") + " not exist: it has " + std::to_string(shard_count) + " shard" +
          (shard_count > 1 ? "s (0 to " + std::to_string(shard_count - 1) + ")" : " (0)")));
    }
  } else {
    for (int k = 0; k < shard_count; ++k) shards.push_back(k);
  }
  if (local) {
    // Not split: map and reduce are one statement on this member's copy.
    std::string where = "\"shards\":[{\"shard\":0,\"snapshot\":";
    common::AppendJsonString(where, local->id());
    where += "}]";
    return ReadOnlyQueryResponse(*local, "WITH partials AS (" + analysis.map + ") " + analysis.reduce, analysis.csv,
                                 analysis.timeout, where);
  }
  if (!shards_) {
    return OperationFailedResponse(Unavailable(
        shard_count > 1 ? "'" + analysis.database + "' is split into shards: analyse it through a cluster member (with DRAM_CLUSTER_SECRET)"
                        : "'" + analysis.database + "' is not loaded on this server"));
  }
  const ShardedRoute route{.database = analysis.database, .shards = shard_count};
  ShardPlan plan;
  plan.map.sql = analysis.map;
  plan.reduce_sql = analysis.reduce;
  auto answer = shards_->RunPlan(route, plan,
                                 {.shards = std::move(shards), .allow_partial = analysis.allow_partial,
                                  .map_failure = StatusCode::kInvalidArgument},
                                 shards_->PinnedReplicas(route), analysis.csv ? engine::Format::kCsv : engine::Format::kJson, deadline);
  if (!answer.ok()) return OperationFailedResponse(AdminSqlFailure(answer.status()));
  if (analysis.csv) {
    http::Response response = JsonBodyResponse(200, std::move(answer->rows));
    response.content_type = "text/csv; charset=utf-8";
    return response;
  }
  std::string out = "{\"columns\":" + ColumnsJson(answer->reduced.columns) + ",\"data\":";
  out += answer->rows;
  out += ",\"rows\":" + std::to_string(answer->reduced.rows) + "," + answer->meta_json + ",\"snapshot\":";
  common::AppendJsonString(out, answer->snapshot_id);
  out += "}";
  return JsonBodyResponse(200, std::move(out));
}

}  // namespace dram::api
