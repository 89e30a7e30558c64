#include "api/shard_coordinator.h"

#include <boost/json.hpp>

#include <algorithm>
#include <future>
#include <map>
#include <optional>
#include <set>

#include "api/code_endpoint_support.h"
#include "api/error_response.h"
#include "api/query_string.h"
#include "api/shard_wire.h"
#include "auth/crypto.h"
#include "common/hash.h"
#include "common/json_text.h"
#include "common/log.h"
#include "common/stable_hash.h"
#include "database/shard.h"

namespace dram::api {

namespace {

namespace json = boost::json;

std::chrono::milliseconds Remaining(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
}

double MillisecondsBetween(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

http::Response JsonReply(int status, const json::value& body) {
  http::Response response;
  response.status = status;
  response.content_type = "application/json";
  response.tail = json::serialize(body);
  return response;
}

}  // namespace

namespace {

// Rendezvous (highest random weight) order of members for a key: every member computes the same.
uint64_t AffinityScore(std::string_view key, std::string_view member) {
  return common::StableHash().AddBytes(key).AddBytes(member).Finish();
}

void SortByAffinity(std::vector<ShardReplica>& holders, std::string_view key) {
  std::sort(holders.begin(), holders.end(), [&](const ShardReplica& a, const ShardReplica& b) {
    return AffinityScore(key, a.member) > AffinityScore(key, b.member);
  });
}

}  // namespace

std::optional<ShardReplica> ShardCoordinator::HomeOf(const ShardedRoute& replicated, std::string_view affinity) const {
  auto replicas = directory_.Replicas(replicated.database, 1);
  if (replicas.empty() || replicas[0].empty()) return std::nullopt;
  SortByAffinity(replicas[0], affinity);
  return replicas[0].front();
}

Result<http::Response> ShardCoordinator::Forward(const ShardedRoute& sharded, const http::Request& request,
                                                 std::chrono::steady_clock::time_point deadline, std::string_view affinity,
                                                 int shard) const {
  std::vector<ShardReplica> holders;
  std::set<std::string> seen;
  const auto all = directory_.Replicas(sharded.database, sharded.shards);
  for (size_t k = 0; k < all.size(); ++k) {
    if (shard >= 0 && static_cast<int>(k) != shard) continue;
    for (const auto& replica : all[k]) {
      if (!replica.local && seen.insert(replica.member).second) holders.push_back(replica);
    }
  }
  if (!affinity.empty()) SortByAffinity(holders, affinity);
  std::string last_error = "no member holds a ready shard of '" + sharded.database + "'";
  for (const auto& holder : holders) {
    if (Remaining(deadline).count() <= 0) return DeadlineExceeded("no member holding a shard answered in time");
    store::HttpCall call;
    call.url = "http://" + holder.api + request.path + (request.query.empty() ? "" : "?" + request.query);
    call.method = request.method == "HEAD" ? "GET" : request.method;
    for (const char* name : {"authorization", "x-api-key", "accept", "if-none-match"}) {
      if (auto value = request.Header(name); !value.empty()) call.headers.emplace_back(name, std::string(value));
    }
    call.headers.emplace_back("X-Dram-Hop", "1");
    call.timeout = std::max(std::chrono::milliseconds(1), Remaining(deadline));
    auto reply = transport_.Perform(call);
    if (!reply.ok()) {
      last_error = "member " + holder.member + ": " + reply.status().ToString();
      continue;  // another holder
    }
    http::Response response;
    response.status = static_cast<int>(reply->status);
    const std::string* type = reply->Header("content-type");
    response.content_type = type ? *type : "";
    for (const char* name : {"etag", "cache-control", "x-snapshot-id", "x-cache", "x-row-count", "x-total-count", "retry-after"}) {
      if (const std::string* value = reply->Header(name)) response.SetHeader(name, *value);
    }
    response.tail = std::move(reply->body);
    return response;
  }
  return Unavailable(last_error);
}

std::string ShardCoordinator::ExpectedSnapshotId(const PinnedShards& pinned) {
  if (!pinned.one_version) return "";
  common::Fnv1a64 id;
  for (const auto& replicas : pinned.replicas) {
    if (replicas.empty()) return "";
    id.Add(replicas.front().snapshot);
  }
  return "shards-" + id.hex();
}

bool ShardCoordinator::Authorized(const http::Request& request) const {
  const std::string& secret = directory_.secret();
  return !secret.empty() && auth::ConstantTimeEquals(request.Header("x-dram-cluster-secret"), secret);
}

ShardCoordinator::GroupResult ShardCoordinator::RunLocal(const ShardedRoute& sharded, const std::vector<Pick>& picks,
                                                         const MapStep& map, std::chrono::steady_clock::time_point deadline) const {
  GroupResult result;
  // Pinned: the snapshot the shard map named, or another replica.
  std::vector<std::pair<int, std::string>> named, missing;
  for (const Pick& pick : picks) named.emplace_back(pick.shard, pick.replica.snapshot);
  Status mapped = MapHeldShards(sharded.database, sharded.shards, named, map, deadline, result.partials, missing);
  if (!mapped.ok()) {
    // A map step that fails on one copy fails on every copy (same SQL, same data): no retry.
    result.error = mapped.ToString();
    result.partials.clear();
    result.failed = {-1};
    return result;
  }
  for (const auto& [k, reason] : missing) {
    result.failed.push_back(k);
    result.error = "shard " + std::to_string(k) + ": " + reason;
  }
  return result;
}

ShardCoordinator::GroupResult ShardCoordinator::RunRemote(const ShardedRoute& sharded, const std::vector<Pick>& picks,
                                                          const MapRequest& map, std::chrono::steady_clock::time_point deadline) const {
  GroupResult result;
  auto fail_all = [&](std::string why) {
    for (const Pick& pick : picks) result.failed.push_back(pick.shard);
    result.error = std::move(why);
    return result;
  };
  json::array shards;
  for (const Pick& pick : picks) shards.push_back(json::object{{"shard", pick.shard}, {"snapshot", pick.replica.snapshot}});
  json::object request = map.remote;
  if (!map.combine.empty() && picks.size() > 1 && picks.front().replica.zone != directory_.zone()) request["combine"] = map.combine;
  request["database"] = sharded.database;
  request["shards_total"] = sharded.shards;
  request["shards"] = std::move(shards);
  request["timeout_ms"] = Remaining(deadline).count();
  const std::string body = json::serialize(request);
  store::HttpCall call;
  call.method = "POST";
  call.url = "http://" + picks.front().replica.api + std::string(kMapPath);
  call.headers = {{"Content-Type", "application/json"}, {"X-Dram-Cluster-Secret", directory_.secret()}, {"X-Dram-Hop", "1"}};
  call.body = body;
  call.timeout = std::max(std::chrono::milliseconds(1), Remaining(deadline));
  auto reply = transport_.Perform(call);
  if (!reply.ok()) return fail_all("member " + picks.front().replica.member + ": " + reply.status().ToString());
  if (reply->status != 200) {
    return fail_all("member " + picks.front().replica.member + " answered HTTP " + std::to_string(reply->status));
  }
  auto decoded = DecodeMapReply(reply->body);
  if (!decoded.ok()) return fail_all("member " + picks.front().replica.member + ": " + decoded.status().ToString());
  if (const auto* error = decoded->envelope.if_contains("map_error"); error && error->is_string()) {
    result.error = std::string(error->as_string());
    result.failed = {-1};
    return result;
  }
  std::set<int> answered;
  for (auto& partial : decoded->partials) {
    if (partial.combined.empty()) answered.insert(partial.shard);
    for (const auto& [shard, snapshot] : partial.combined) answered.insert(shard);
    result.partials.push_back(std::move(partial));
  }
  for (const Pick& pick : picks) {
    if (!answered.contains(pick.shard)) {
      result.failed.push_back(pick.shard);
      result.error = "member " + pick.replica.member + " no longer holds shard " + std::to_string(pick.shard) + " at that snapshot";
    }
  }
  return result;
}

Result<ShardedAnswer> ShardCoordinator::Run(const Route& route, const RequestArgs& args, const PinnedShards& pinned,
                                            engine::Format format, std::chrono::steady_clock::time_point deadline) {
  ASSIGN_OR_RETURN(ShardPlan plan, route.endpoint->PlanShards(args, route.sharded->shard_column));
  return RunPlan(*route.sharded, plan,
                 {.shards = NeededShards(route, args), .allow_partial = args.allow_partial, .map_failure = StatusCode::kInternal},
                 pinned, format, deadline);
}

ShardCoordinator::MapStep ShardCoordinator::SqlStep(const QueryPlan& map) {
  return {.run = [&map](engine::Connection& connection) { return RunMap(connection, map); }};
}

ShardCoordinator::MapRequest ShardCoordinator::SqlMap(const QueryPlan& map, const std::string& combine) {
  json::array values;
  for (const auto& value : map.values) values.push_back(EncodeValue(value));
  MapRequest request{.local = SqlStep(map),
                     .remote = json::object{{"sql", map.sql},
                                            {"count_sql", map.count_sql},
                                            {"filter_value_count", map.filter_value_count},
                                            {"values", std::move(values)}}};
  request.combine = combine;
  return request;
}

ShardCoordinator::MapStep ShardCoordinator::CodeMap(const Route& route, const RequestArgs& args) {
  return MapStep{.run = [&route, &args](engine::Connection& connection) -> Result<PartialResult> {
                   // The handler is the embedder's code: what it throws becomes this shard's error
                   // (a map step runs on threads of its own, where nothing else would catch it).
                   try {
                     RequestParams params(*route.endpoint, args);
                     ConnectionSession session(connection);
                     ASSIGN_OR_RETURN(Rows rows, route.code->handler(params, session));
                     return PartialOf(rows.impl().result);
                   } catch (const std::exception& e) {
                     return Internal(std::string("the analysis's map step threw: ") + e.what());
                   } catch (...) {
                     return Internal("the analysis's map step threw");
                   }
                 },
                 .may_leave_state = true};
}

Result<ShardedAnswer> ShardCoordinator::RunCode(const Route& route, const RequestArgs& args, std::string_view query,
                                                const PinnedShards& pinned, engine::Format format,
                                                std::chrono::steady_clock::time_point deadline) {
  const MapRequest map{.local = CodeMap(route, args),
                       .remote = json::object{{"route", route.endpoint->route()}, {"query", query}, {"tenant", args.tenant}}};
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Gathered gathered, Gather(*route.sharded, map,
                                             {.shards = NeededShards(route, args), .allow_partial = args.allow_partial}, pinned,
                                             deadline));
  ShardedAnswer answer;
  const auto gathered_at = std::chrono::steady_clock::now();
  answer.gather_ms = MillisecondsBetween(start, gathered_at);
  const auto timeout = std::max(std::chrono::milliseconds(1), Remaining(deadline));
  if (route.code->reduce) {
    RequestParams params(*route.endpoint, args);
    auto reduce = [&](QuerySession& partials) { return route.code->reduce(params, partials); };
    ASSIGN_OR_RETURN(answer.reduced, reducer_->ReduceWith(reduce, gathered.partials, format, answer.rows, timeout));
  } else {
    ShardPlan every_row;
    every_row.reduce_sql = "SELECT * FROM partials";
    ASSIGN_OR_RETURN(answer.reduced, reducer_->Reduce(every_row, gathered.partials, format, answer.rows, timeout));
  }
  answer.reduce_ms = MillisecondsBetween(gathered_at, std::chrono::steady_clock::now());
  Describe(gathered, pinned, answer);
  return answer;
}

Result<ShardedAnswer> ShardCoordinator::RunPlan(const ShardedRoute& sharded, const ShardPlan& plan, const ShardRun& run,
                                                const PinnedShards& pinned, engine::Format format,
                                                std::chrono::steady_clock::time_point deadline) {
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Gathered gathered, Gather(sharded, SqlMap(plan.map, plan.combine_sql), run, pinned, deadline));
  ShardedAnswer answer;
  const auto gathered_at = std::chrono::steady_clock::now();
  answer.gather_ms = MillisecondsBetween(start, gathered_at);
  ASSIGN_OR_RETURN(answer.reduced, reducer_->Reduce(plan, gathered.partials, format, answer.rows,
                                                    std::max(std::chrono::milliseconds(1), Remaining(deadline))));
  answer.reduce_ms = MillisecondsBetween(gathered_at, std::chrono::steady_clock::now());
  Describe(gathered, pinned, answer);
  return answer;
}

Result<ShardCoordinator::Gathered> ShardCoordinator::Gather(const ShardedRoute& sharded, const MapRequest& map, const ShardRun& run,
                                                            const PinnedShards& pinned,
                                                            std::chrono::steady_clock::time_point deadline) {
  const auto& replicas = pinned.replicas;
  if (replicas.size() != static_cast<size_t>(sharded.shards)) return Internal("the shard map does not match the route");
  RETURN_IF_ERROR(CheckOneVersion(pinned, sharded.database, run.shards.size()));
  std::vector<size_t> next(static_cast<size_t>(sharded.shards), 0);  // per shard: its next replica to try
  std::vector<int> pending = run.shards;
  Gathered gathered;
  std::string last_error;
  // Each round sends every pending shard to its next replica, grouped by member; a shard that
  // fails goes to its next replica in the following round, until none is left.
  while (!pending.empty()) {
    std::vector<int> no_copy;
    std::map<std::string, std::vector<Pick>> by_member;
    for (int shard : pending) {
      const auto& options = replicas[static_cast<size_t>(shard)];
      size_t& index = next[static_cast<size_t>(shard)];
      if (index >= options.size()) {
        no_copy.push_back(shard);
        continue;
      }
      by_member[options[index].member].push_back(Pick{shard, options[index]});
      ++index;
    }
    if (!no_copy.empty() && run.allow_partial) {
      gathered.missing.insert(gathered.missing.end(), no_copy.begin(), no_copy.end());
      no_copy.clear();
    }
    if (!no_copy.empty()) {
      std::string message = "shard" + std::string(no_copy.size() > 1 ? "s " : " ") + ShardList(no_copy) + " of '" +
                            sharded.database + "' ha" + (no_copy.size() > 1 ? "ve" : "s") + " no ready copy";
      if (!last_error.empty()) message += " (last failure: " + last_error + ")";
      return Unavailable(message);
    }
    if (by_member.empty()) break;
    if (std::chrono::steady_clock::now() >= deadline) return DeadlineExceeded("the shards did not all answer in time");
    std::vector<std::future<GroupResult>> groups;
    for (auto& [member, picks] : by_member) {
      const bool local = picks.front().replica.local;
      groups.push_back(std::async(std::launch::async, [this, &sharded, &map, deadline, local, picks = picks] {
        const auto start = std::chrono::steady_clock::now();
        GroupResult result = local ? RunLocal(sharded, picks, map.local, deadline) : RunRemote(sharded, picks, map, deadline);
        result.ms = MillisecondsBetween(start, std::chrono::steady_clock::now());
        return result;
      }));
    }
    pending.clear();
    size_t group_index = 0;
    for (auto& [member, picks] : by_member) {
      GroupResult result = groups[group_index++].get();
      if (result.failed.size() == 1 && result.failed.front() == -1) return Status(run.map_failure, "the map step failed: " + result.error);
      for (auto& partial : result.partials) {
        if (partial.combined.empty()) {
          gathered.used.push_back({partial.shard, member, partial.snapshot, partial.watermark_ms, result.ms});
        } else {
          for (const auto& [shard, snapshot] : partial.combined) {
            gathered.used.push_back({shard, member, snapshot, partial.watermark_ms, result.ms});
          }
        }
        gathered.partials.push_back(std::move(partial));
      }
      pending.insert(pending.end(), result.failed.begin(), result.failed.end());
      if (!result.error.empty()) {
        last_error = result.error;
        common::Log(common::LogLevel::kWarn, "shard map step retried elsewhere", "\"database\":\"" + sharded.database +
                                                                                     "\",\"member\":\"" + member + "\"");
      }
    }
  }
  if (gathered.partials.empty()) return Unavailable("no shard of '" + sharded.database + "' has a ready copy");
  return gathered;
}

void ShardCoordinator::Describe(Gathered& gathered, const PinnedShards& pinned, ShardedAnswer& answer) {
  auto& used = gathered.used;
  std::sort(used.begin(), used.end(), [](const Gathered::Used& a, const Gathered::Used& b) { return a.shard < b.shard; });
  common::Fnv1a64 id;
  std::string& meta = answer.meta_json;
  meta = "\"shards\":[";
  for (size_t i = 0; i < used.size(); ++i) {
    id.Add(used[i].snapshot);
    if (i) meta += ",";
    AppendShardMeta(meta, used[i].shard, used[i].member, used[i].snapshot, used[i].ms);
  }
  meta += "]";
  if (pinned.stale) {
    std::vector<AnsweredShard> answered;
    for (const auto& shard : used) answered.push_back({shard.shard, shard.snapshot, shard.watermark_ms});
    meta += StaleMeta(answered, pinned.superseded, NowMs());
  }
  if (!gathered.missing.empty()) {
    std::sort(gathered.missing.begin(), gathered.missing.end());
    meta += ",\"partial\":true,\"missing_shards\":[" + ShardList(gathered.missing) + "]";
    answer.missing_shards = std::move(gathered.missing);
  }
  answer.snapshot_id = "shards-" + id.hex();
}

http::Response ShardCoordinator::ServeMap(const http::Request& request, const ServingState& state) const {
  boost::system::error_code ec;
  json::value parsed = json::parse(request.body, ec);
  auto bad = [](const std::string& why) { return JsonReply(400, json::object{{"error", why}}); };
  if (ec || !parsed.is_object()) return bad("the body must be a JSON object");
  const auto& object = parsed.as_object();
  const auto* database = object.if_contains("database");
  const auto* shards_total = object.if_contains("shards_total");
  const auto* shards = object.if_contains("shards");
  const auto* sql = object.if_contains("sql");
  const auto* values = object.if_contains("values");
  const auto* code_route = object.if_contains("route");
  const auto* code_query = object.if_contains("query");
  const bool code = code_route && code_route->is_string() && code_query && code_query->is_string();
  if (!database || !database->is_string() || !shards_total || !shards_total->is_int64() || !shards || !shards->is_array() ||
      (!code && (!sql || !sql->is_string() || !values || !values->is_array()))) {
    return bad("expected database, shards_total, shards, and sql and values or route and query");
  }
  int64_t timeout_ms = 30'000;
  if (const auto* timeout = object.if_contains("timeout_ms"); timeout && timeout->is_int64()) {
    timeout_ms = std::clamp<int64_t>(timeout->as_int64(), 1, 300'000);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<std::pair<int, std::string>> named;
  for (const auto& item : shards->as_array()) {
    const auto* shard = item.is_object() ? item.as_object().if_contains("shard") : nullptr;
    const auto* snapshot = item.is_object() ? item.as_object().if_contains("snapshot") : nullptr;
    if (!shard || !shard->is_int64() || !snapshot || !snapshot->is_string()) return bad("each shard is {shard, snapshot}");
    named.emplace_back(static_cast<int>(shard->as_int64()), std::string(snapshot->as_string()));
  }
  QueryPlan map;
  MapStep step;
  std::string combine_sql;
  RequestArgs args;
  const Route* route = nullptr;
  if (code) {
    // A C++ analysis: the handler registered here under that route (every member runs the same
    // binary), on the request's own query string, parsed as this member parses requests.
    auto found = state.routes.find(std::string(code_route->as_string()));
    if (found == state.routes.end() || !found->second.code || !found->second.endpoint) {
      json::array missing;
      for (const auto& [k, snapshot] : named) missing.push_back(json::object{{"shard", k}, {"reason", "no such analysis here"}});
      return JsonReply(200, json::object{{"partials", json::array()}, {"missing", std::move(missing)}});
    }
    route = &found->second;
    auto query = ParseQueryString(code_query->as_string());
    auto parsed_args = query.ok() ? route->endpoint->ParseRequest(*query, "") : Result<RequestArgs>(query.status());
    if (!parsed_args.ok()) return JsonReply(200, json::object{{"map_error", parsed_args.status().ToString()}});
    args = std::move(parsed_args).value();
    if (const auto* tenant = object.if_contains("tenant"); tenant && tenant->is_string()) {
      route->endpoint->SetTenant(args, tenant->as_string());
    }
    step = CodeMap(*route, args);
  } else {
    map.sql = std::string(sql->as_string());
    if (const auto* count = object.if_contains("count_sql"); count && count->is_string()) map.count_sql = std::string(count->as_string());
    for (const auto& value : values->as_array()) {
      auto decoded = DecodeValue(value);
      if (!decoded.ok()) return bad(decoded.status().message());
      map.values.push_back(std::move(decoded).value());
    }
    if (const auto* filters = object.if_contains("filter_value_count"); filters && filters->is_int64()) {
      map.filter_value_count = std::min<size_t>(static_cast<size_t>(std::max<int64_t>(0, filters->as_int64())), map.values.size());
    }
    step = SqlStep(map);
    if (const auto* combine = object.if_contains("combine"); combine && combine->is_string()) {
      combine_sql = std::string(combine->as_string());
    }
  }
  std::vector<PartialResult> done;
  std::vector<std::pair<int, std::string>> not_done;
  Status mapped = MapHeldShards(std::string(database->as_string()), static_cast<int>(shards_total->as_int64()), named, step,
                                deadline, done, not_done);
  if (!mapped.ok()) return JsonReply(200, json::object{{"map_error", mapped.ToString()}});
  if (done.size() > 1 && !combine_sql.empty()) {
    // Several shards here: one partial for them all (fewer bytes back, fewer rows to reduce).
    auto combined = reducer_->Combine(combine_sql, done, std::max(std::chrono::milliseconds(1), Remaining(deadline)));
    if (!combined.ok()) return JsonReply(200, json::object{{"map_error", combined.status().ToString()}});
    done.clear();
    done.push_back(std::move(combined).value());
  }
  json::array missing;
  for (const auto& [k, reason] : not_done) missing.push_back(json::object{{"shard", k}, {"reason", reason}});
  http::Response response;
  response.content_type = kMapReplyContentType;
  response.tail = EncodeMapReply(json::object{{"missing", std::move(missing)}}, done);
  return response;
}

Status ShardCoordinator::MapHeldShards(const std::string& database, int shards_total,
                                       const std::vector<std::pair<int, std::string>>& named, const MapStep& map,
                                       std::chrono::steady_clock::time_point deadline, std::vector<PartialResult>& partials,
                                       std::vector<std::pair<int, std::string>>& missing) const {
  struct Outcome {
    std::optional<Result<PartialResult>> partial;  // unset: missing, for `reason`
    std::string reason;
  };
  std::vector<Outcome> outcomes(named.size());
  auto run = [&](size_t i) {
    const auto& [k, snapshot] = named[i];
    auto copy = directory_.LocalCopy(database::CopyName(database, k, shards_total), snapshot);
    if (!copy) {
      outcomes[i].reason = "not held at that snapshot";
      return;
    }
    auto lease = copy->pool().Acquire(std::max(std::chrono::milliseconds(1), Remaining(deadline)));
    if (!lease.ok()) {
      outcomes[i].reason = "busy";
      return;
    }
    outcomes[i].partial = map.run(**lease);
    if (map.may_leave_state && (*lease)->HoldsSessionState({})) lease->Discard();
    if (outcomes[i].partial->ok()) {
      (*outcomes[i].partial)->shard = k;
      (*outcomes[i].partial)->snapshot = copy->id();
      (*outcomes[i].partial)->watermark_ms = copy->watermark_ms();
    }
  };
  // Every shard on its own copy's pool at once: a member holding several answers in the time of
  // its slowest, not of their sum.
  std::vector<std::future<void>> others;
  for (size_t i = 1; i < named.size(); ++i) others.push_back(std::async(std::launch::async, run, i));
  if (!named.empty()) run(0);
  for (auto& other : others) other.get();
  for (size_t i = 0; i < named.size(); ++i) {
    if (!outcomes[i].partial) {
      missing.emplace_back(named[i].first, std::move(outcomes[i].reason));
      continue;
    }
    RETURN_IF_ERROR(outcomes[i].partial->status());  // a map step that fails on one copy fails on every copy
    partials.push_back(std::move(*outcomes[i].partial).value());
  }
  return Status::Ok();
}

std::vector<int> ShardCoordinator::NeededShards(const Route& route, const RequestArgs& args) const {
  const ShardedRoute& sharded = *route.sharded;
  if (auto key = route.endpoint->ShardKeyOf(args, sharded.shard_column)) {
    if (auto shard = reducer_->ShardOf(key->value, key->column_type, sharded.shards); shard.ok()) return {*shard};
  }
  std::vector<int> all;
  for (int k = 0; k < sharded.shards; ++k) all.push_back(k);
  return all;
}

PinnedShards ShardCoordinator::PinnedReplicas(const ShardedRoute& sharded, bool stale) const {
  return PinForRequest(directory_.Replicas(sharded.database, sharded.shards), stale);
}

std::string ShardCoordinator::ShardMapJson(const ShardedRoute& sharded, const std::vector<int>& needed) const {
  json::array shards;
  for (const auto& replicas : directory_.Replicas(sharded.database, sharded.shards)) {
    json::array copies;
    for (const auto& replica : replicas) {
      copies.push_back(json::object{{"member", replica.member},
                                    {"api", replica.api},
                                    {"zone", replica.zone},
                                    {"snapshot", replica.snapshot},
                                    {"previous", replica.previous}});
    }
    shards.push_back(std::move(copies));
  }
  json::object map{{"database", sharded.database}, {"shards", sharded.shards}, {"replicas", std::move(shards)}};
  if (!needed.empty()) map["needed"] = json::value_from(needed);
  return json::serialize(map);
}

Result<std::string> ShardCoordinator::ServeClientMap(const Route& route, const RequestArgs& args, std::string_view shards,
                                                     std::chrono::steady_clock::time_point deadline) const {
  const ShardedRoute& sharded = *route.sharded;
  // "K@SNAPSHOT,…": snapshot ids are hex digests, never holding ',' or '@'.
  std::vector<std::pair<int, std::string>> named;
  std::vector<std::string> unknown;
  for (size_t start = 0; start <= shards.size();) {
    size_t end = std::min(shards.find(',', start), shards.size());
    std::string_view item = shards.substr(start, end - start);
    const size_t at = item.find('@');
    int k = -1;
    const bool number = at != std::string_view::npos && at > 0 && at <= 4 &&
                        std::all_of(item.begin(), item.begin() + static_cast<long>(at), [](char c) { return c >= '0' && c <= '9'; });
    if (number) k = std::stoi(std::string(item.substr(0, at)));
    if (!number || at + 1 >= item.size()) return InvalidArgument("X-Dram-Shards must list K@SNAPSHOT items, comma-separated");
    if (k >= sharded.shards) {
      unknown.push_back(std::to_string(k));
    } else if (std::any_of(named.begin(), named.end(), [k](const auto& n) { return n.first == k; })) {
      return InvalidArgument("X-Dram-Shards names shard " + std::to_string(k) + " twice");
    } else {
      named.emplace_back(k, std::string(item.substr(at + 1)));
    }
    if (unknown.size() > 64) break;  // enough to say what is wrong
    start = end + 1;
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& k : unknown) list += (list.empty() ? "" : ", ") + k;
    return InvalidArgument("'" + sharded.database + "' has shards 0.." + std::to_string(sharded.shards - 1) + ": no shard " + list);
  }
  ASSIGN_OR_RETURN(ShardPlan plan, route.endpoint->PlanShards(args, sharded.shard_column));
  std::vector<PartialResult> done;
  std::vector<std::pair<int, std::string>> not_done;
  RETURN_IF_ERROR(MapHeldShards(sharded.database, sharded.shards, named, SqlStep(plan.map), deadline, done, not_done));
  json::array missing;
  for (const auto& [k, reason] : not_done) missing.push_back(json::object{{"shard", k}, {"reason", reason}});
  return EncodeMapReply(json::object{{"missing", std::move(missing)}, {"reduce", EncodeReduce(plan)}, {"format", args.format}}, done);
}

}  // namespace dram::api
