#include "api/docs_examples.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "api/query_string.h"
#include "api/response_meta.h"
#include "common/civil_time.h"
#include "common/json_text.h"
#include "common/log.h"
#include "engine/interrupt_after.h"
#include "engine/result_encoder.h"

namespace dram::api {

namespace json = boost::json;

namespace {

// Rows an example shows: enough to see the shape, few enough to read.
constexpr int64_t kExampleRows = 2;

// RFC 3986 unreserved characters stay; every other byte is %XX, so a value is safe inside a
// double-quoted shell word as well as in a URL.
std::string QueryEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string ShellVariable(std::string_view name) {
  std::string out;
  for (char c : name) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One call of the endpoint as the API port would answer it (same plan, encoder and meta), on a
// connection of its own under the timeout.
Result<std::string> Call(const Route& route, const std::string& query, std::chrono::milliseconds timeout) {
  const CompiledEndpoint& endpoint = *route.endpoint;
  ASSIGN_OR_RETURN(QueryParams params, ParseQueryString(query));
  ASSIGN_OR_RETURN(RequestArgs args, endpoint.ParseRequest(params, "application/json"));
  if (args.format != "json") return FailedPrecondition("the endpoint does not answer JSON");
  QueryPlan plan = endpoint.Plan(args);
  std::string generated_at;
  common::AppendIsoTimestampMicros(generated_at, NowMillis() * 1000, true);
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Connection> connection, route.snapshot->database().Connect());
  engine::InterruptAfter deadline(*connection, timeout);
  ASSIGN_OR_RETURN(engine::QueryResult result, connection->Query(plan.sql, plan.values));
  std::string body = "{\"data\":";
  ASSIGN_OR_RETURN(size_t rows, engine::EncodeResult(result, engine::Format::kJson, body));
  std::optional<int64_t> total;
  if (!plan.count_sql.empty()) {
    std::vector<Value> filter_values(plan.values.begin(), plan.values.begin() + plan.filter_value_count);
    ASSIGN_OR_RETURN(engine::QueryResult counted, connection->Query(plan.count_sql, filter_values));
    ASSIGN_OR_RETURN(std::vector<std::string> text, engine::ColumnText(counted, 0));
    if (!text.empty()) total = std::stoll(text.front());
  }
  AppendResponseMeta({.request_id = "example",
                      .spec = endpoint.spec(),
                      .snapshot = *route.snapshot,
                      .generated_at = generated_at,
                      .row_count = static_cast<int64_t>(rows),
                      .limit = args.limit,
                      .offset = args.offset,
                      .total = total,
                      .cache = "off",
                      .max_age_ms = route.max_age_ms,
                      .now_ms = NowMillis()},
                     body);
  return body;
}

// A curl command for `url`; with `credentials`, the header that carries them (a key or a JWT).
std::string CurlCommand(const std::string& url, bool credentials) {
  std::string curl = "curl";
  if (credentials) curl += " -H \"Authorization: Bearer ${DRAM_TOKEN}\" \\\n ";  // the URL on a line of its own
  return curl + " \"" + url + "\"";
}

// The JSON media type object of an operation's 200 response, if it has one.
json::object* JsonRows(json::object& operation) {
  json::value* responses = operation.if_contains("responses");
  json::value* ok = responses && responses->is_object() ? responses->as_object().if_contains("200") : nullptr;
  json::value* content = ok && ok->is_object() ? ok->as_object().if_contains("content") : nullptr;
  json::value* media = content && content->is_object() ? content->as_object().if_contains("application/json") : nullptr;
  return media && media->is_object() ? &media->as_object() : nullptr;
}

}  // namespace

ExampleRequest MakeExampleRequest(const EndpointSpec& spec) {
  ExampleRequest request;
  request.query = "limit=" + std::to_string(std::min(kExampleRows, spec.max_limit));
  for (const ParamSpec& param : spec.params) {
    if (!param.required) continue;
    request.query += "&" + param.name + "=";
    if (param.type == ParamType::kEnum && !param.enum_values.empty()) {
      request.query += QueryEncode(param.enum_values.front());
    } else if (param.type == ParamType::kBoolean) {
      request.query += "true";
    } else {
      request.query += "${" + ShellVariable(param.name) + "}";
      if (request.unfilled.empty()) request.unfilled = param.name;
    }
  }
  return request;
}

DocsExamples::Example DocsExamples::Take(const Route& route) const {
  Example example{.endpoint = route.endpoint, .snapshot_id = route.snapshot ? route.snapshot->id() : ""};
  const EndpointSpec& spec = route.endpoint->spec();
  ExampleRequest request = MakeExampleRequest(spec);
  example.query = request.query;
  if (route.tenant_scoped && !route.is_public) {
    example.reason = "the endpoint is tenant-scoped, and no tenant's rows are shown here.";
  } else if (route.code) {
    example.reason = "a C++ endpoint's handler is not called for examples.";
  } else if (!route.snapshot) {
    example.reason = "its dataset is not loaded yet.";
  } else if (route.snapshot->lazy()) {
    example.reason = "its database is lazy, and a call would fetch its files.";
  } else if (!request.unfilled.empty()) {
    example.reason = "the required parameter `" + request.unfilled + "` has no value every caller may use.";
  } else if (Result<std::string> response = Call(route, request.query, timeout_); response.ok()) {
    example.response = std::move(response).value();
  } else {
    std::string fields = "\"endpoint\":";
    common::AppendJsonString(fields, route.endpoint->route());
    fields += ",\"error\":";
    common::AppendJsonString(fields, response.status().ToString());
    common::Log(common::LogLevel::kWarn, "the docs example call failed", fields);
    example.reason = "the example call failed (" + std::string(StatusCodeName(response.status().code())) + ").";
  }
  return example;
}

void DocsExamples::Update(const ServingState& state) {
  std::map<std::string, Example> next;
  for (const auto& [path, route] : state.routes) {
    if (!route.endpoint) continue;
    auto known = examples_.find(path);
    const std::string snapshot_id = route.snapshot ? route.snapshot->id() : "";
    if (known != examples_.end() && known->second.endpoint.lock() == route.endpoint && known->second.snapshot_id == snapshot_id) {
      next.emplace(path, std::move(known->second));
    } else {
      next.emplace(path, Take(route));
    }
  }
  examples_ = std::move(next);  // routes that left the state leave the map
}

void DocsExamples::Annotate(const ServingState& state, DocsAudience audience, const std::string& api_base_url,
                            json::object& document) const {
  document["servers"] = json::array{json::object{{"url", api_base_url}}};
  json::value* paths = document.if_contains("paths");
  if (!paths || !paths->is_object()) return;
  for (auto& [path, item] : paths->as_object()) {
    auto route = state.routes.find(path);
    json::value* operation = item.is_object() ? item.as_object().if_contains("get") : nullptr;
    if (route == state.routes.end() || !route->second.endpoint || !operation || !operation->is_object()) continue;
    const bool anonymous = route->second.is_public || !state.authenticator || state.authenticator->mode() == auth::AuthMode::kNone;
    auto found = examples_.find(std::string(path));
    const Example* example = found == examples_.end() ? nullptr : &found->second;
    const std::string query = example ? example->query : MakeExampleRequest(route->second.endpoint->spec()).query;
    const std::string url = api_base_url + std::string(path) + "?" + query;
    operation->as_object()["x-codeSamples"] =
        json::array{json::object{{"lang", "Shell"}, {"label", "curl"}, {"source", CurlCommand(url, !anonymous)}}};
    json::object* rows = JsonRows(operation->as_object());
    if (!rows) continue;
    // The 200 response's description says where its example comes from.
    json::value& description = operation->as_object()["responses"].as_object()["200"].as_object()["description"];
    std::string reason = example ? example->reason : "no call was made yet.";
    if (example && !example->response.empty()) {
      boost::system::error_code ec;
      json::value parsed = json::parse(example->response, ec);
      if (ec) {
        reason = "the example response could not be read.";
      } else if (audience == DocsAudience::kPublic && !anonymous) {
        reason = "the endpoint needs credentials.";
      } else {
        (*rows)["example"] = std::move(parsed);
        description = "Rows. The example is a real response to the request shown, from the snapshot being served.";
        continue;
      }
    }
    description = "Rows. The example is generated from the schema: " + reason;
  }
}

}  // namespace dram::api
