#include "api/api_service.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>

#include "api/audit.h"
#include "api/code_endpoint_support.h"
#include "api/error_response.h"
#include "api/query_string.h"
#include "api/response_meta.h"
#include "api/shard_wire.h"
#include "common/barrier.h"
#include "common/civil_time.h"
#include "common/hash.h"
#include "common/json_text.h"
#include "common/log.h"
#include "engine/result_encoder.h"

namespace dram::api {

namespace {

// A count of milliseconds from a header (≥ 1); nullopt when absent or not a number.
std::optional<std::chrono::milliseconds> PositiveMillis(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return std::chrono::milliseconds(std::max<int64_t>(1, value));
}

using Clock = std::chrono::steady_clock;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string IsoNow() {
  std::string out;
  common::AppendIsoTimestampMicros(out, NowMicros() / 1000 * 1000, true);
  return out;
}

// A duration as Server-Timing writes it: milliseconds, to the microsecond.
std::string FormatMs(double ms) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", ms);
  return text;
}

engine::Format FormatOf(const std::string& format) {
  if (format == "csv") return engine::Format::kCsv;
  if (format == "ndjson") return engine::Format::kNdjson;
  return engine::Format::kJson;
}

const char* ContentTypeOf(const std::string& format) {
  if (format == "csv") return "text/csv; charset=utf-8";
  if (format == "ndjson") return "application/x-ndjson";
  return "application/json";
}

// What a client is told when a query fails. The engine's message may quote request values
// (DuckDB's conversion messages do), so it never reaches the client. A compiled query's shapes
// were prepared at load, so a parse, bind or catalog error is not the caller's fault: 500
// `internal`, never a 422 that blames the request. A value that does not fit the column it is
// compared with (OutOfRange: an integer beyond an INTEGER column's range) is the caller's. A C++
// handler's own statuses keep their meaning (it may refuse a request with InvalidArgument).
// The engine's message is logged once: a 500 carries it to MakeErrorResponse, which logs it with
// the request id and answers "internal error"; any other answer is logged here.
Status QueryFailure(std::string_view route, std::string_view request_id, const Status& status, bool from_handler) {
  Status answer;
  const StatusCode code = status.code();
  if (code == StatusCode::kOutOfRange) {
    answer = InvalidArgument("a parameter value does not fit this endpoint's data");
  } else if (code == StatusCode::kInvalidArgument && from_handler) {
    answer = InvalidArgument("a parameter value cannot be used by this endpoint's query");
  } else if (code == StatusCode::kCancelled) {
    answer = Status(StatusCode::kDeadlineExceeded, "query was interrupted");
  } else if (code == StatusCode::kResourceExhausted) {
    answer = Unavailable("query exceeded its memory budget");
  } else {
    return Internal(std::string(route) + ": query failed (" + std::string(StatusCodeName(code)) + "): " + status.message());
  }
  std::string fields = "\"endpoint\":";
  common::AppendJsonString(fields, route);
  fields += ",\"code\":\"" + std::string(StatusCodeName(status.code())) + "\",\"request_id\":\"";
  fields += request_id;
  fields += "\",\"engine_message\":";
  common::AppendJsonString(fields, status.message());
  common::Log(status.code() == StatusCode::kCancelled ? common::LogLevel::kWarn : common::LogLevel::kError, "query failed", fields);
  return answer;
}

std::string CacheControl(const EndpointSpec& spec) {
  return spec.max_age_s > 0 ? "private, max-age=" + std::to_string(spec.max_age_s) : "no-cache";
}

bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match == "*") return true;
  // Weak comparison: W/"x" matches "x" and W/"x".
  std::string_view bare = etag.substr(2);
  return if_none_match.find(bare) != std::string_view::npos;
}

// Interrupts one query when its deadline passes, unless it finished first (the connection may be
// serving another query by then, which must not be interrupted).
class QueryDeadline {
 public:
  explicit QueryDeadline(engine::Connection& connection) : connection_(&connection) {}
  // Interrupts the query; false once the query has finished. DuckDB clears a pending interrupt
  // when a statement starts, so an interrupt that lands between our deadline and the start of
  // execution would be lost: the watchdog repeats it until Finish().
  bool Expire() {
    common::MutexLock lock(mu_);
    if (connection_) connection_->Interrupt();
    return connection_ != nullptr;
  }
  void Finish() {
    common::MutexLock lock(mu_);
    connection_ = nullptr;
  }

 private:
  common::Mutex mu_;
  engine::Connection* connection_ GUARDED_BY(mu_);  // null once finished
};

}  // namespace

struct ApiService::Call {
  http::Responder responder;
  std::string tenant_admitted;  // set when counted against a tenant's in-flight bound
  std::string tenant;           // the caller's (empty: none), for the usage log and refusal metrics
  bool cache_hit = false;       // answered without a query (the response cache, or a 304)
  // Another member's map step: counted under its own path in the metrics, never in the usage log
  // (it is part of a request already counted where it arrived).
  EndpointMetrics* internal_metrics = nullptr;
  bool ran_query = false;
  // Handed to another member, which counts it in its usage log: not counted here too.
  bool forwarded = false;
  int64_t rows = 0;
  std::shared_ptr<const ServingState> state;  // keeps *route alive
  const Route* route = nullptr;
  // A request over a sharded database that one local shard answers whole (ExecuteSharded): the
  // route pointed at that copy, and that shard as meta.shards names it.
  std::shared_ptr<const Route> one_shard_route;
  std::optional<ShardReplica> one_shard;
  int one_shard_index = 0;
  std::string one_shard_snapshot_id;
  std::string one_shard_stale_meta;  // ?consistency=stale: StaleMeta of that shard
  std::string_view route_path;  // the routing table's key (in *state)
  RequestArgs args;
  std::string request_id;
  std::string cache_key;
  std::string etag;
  Clock::time_point started;
  // A coordinated answer's phases (gather, reduce), for the Server-Timing header; empty otherwise.
  std::string server_timing;
  bool admitted = false;
  bool finished = false;  // answered: the barrier answers only a call that was not
};

ApiService::ApiService(ApiOptions options, ResponseCache& cache, MetricsRegistry& metrics, DocsPage* docs,
                       usage::UsageRecorder* usage)
    : options_(options), cache_(cache), metrics_(metrics), docs_(docs), usage_(usage), state_(std::make_shared<const ServingState>()),
      workers_(static_cast<size_t>(std::max(1, options.workers))),
      dispatcher_([this](std::function<void()> job) { boost::asio::post(workers_, std::move(job)); },
                  static_cast<size_t>(std::max<int64_t>(1, options.pool_size)),
                  static_cast<size_t>(options.tenant_pool_share > 0 ? options.tenant_pool_share : (options.pool_size + 1) / 2)),
      watchdog_work_(boost::asio::make_work_guard(watchdog_)) {
  watchdog_thread_ = std::thread([this] { common::RunLoopBarrier("query watchdog", [this] { watchdog_.run(); }); });
  std::random_device random;
  char prefix[16];
  std::snprintf(prefix, sizeof(prefix), "%08x-", static_cast<unsigned>(random()));
  request_id_prefix_ = prefix;
}

ApiService::~ApiService() {
  Drain();
  watchdog_work_.reset();
  watchdog_.stop();
  watchdog_thread_.join();
}

std::optional<int64_t> ApiService::OverRateLimit(const auth::Principal& principal) {
  auto burst = [&](int64_t rate) {
    return static_cast<double>(options_.rate_burst > 0 ? options_.rate_burst : std::max<int64_t>(10, rate / 10));
  };
  int64_t key_rate = principal.quota_per_minute > 0 ? principal.quota_per_minute : options_.rate_per_key;
  // Every caller has a limiter identity (Principal::limiter_id): no credential shape skips it.
  if (key_rate > 0 && !principal.limiter_id.empty()) {
    if (auto wait = rate_limiter_.Acquire(principal.limiter_id, static_cast<double>(key_rate), burst(key_rate))) {
      metrics_.refusals().Record(RefusalReason::kKeyRateLimit, principal.tenant);
      return wait;
    }
  }
  if (options_.rate_per_tenant > 0 && !principal.tenant.empty()) {
    auto wait = rate_limiter_.Acquire("t:" + principal.tenant, static_cast<double>(options_.rate_per_tenant),
                                      burst(options_.rate_per_tenant));
    if (wait) metrics_.refusals().Record(RefusalReason::kTenantRateLimit, principal.tenant);
    return wait;
  }
  return std::nullopt;
}

bool ApiService::AdmitTenant(const std::string& tenant) {
  if (options_.max_in_flight_per_tenant <= 0 || tenant.empty()) return true;
  common::MutexLock lock(tenant_mu_);
  int64_t& count = tenant_in_flight_[tenant];
  if (count >= options_.max_in_flight_per_tenant) return false;
  ++count;
  return true;
}

void ApiService::ReleaseTenant(const std::string& tenant) {
  common::MutexLock lock(tenant_mu_);
  auto found = tenant_in_flight_.find(tenant);
  if (found != tenant_in_flight_.end() && --found->second == 0) tenant_in_flight_.erase(found);
}

void ApiService::Drain() { workers_.join(); }

void ApiService::Publish(std::shared_ptr<const ServingState> state) { state_.store(std::move(state)); }

std::string ApiService::NextRequestId() {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t number = request_counter_.fetch_add(1, std::memory_order_relaxed);
  std::string id = request_id_prefix_;  // "xxxxxxxx-"
  size_t start = id.size();
  id.resize(start + 8);
  for (int i = 7; i >= 0; --i, number >>= 4) id[start + i] = kHex[number & 0xF];
  return id;
}

void ApiService::Finish(Call& call, http::Response response) {
  double seconds = std::chrono::duration<double>(Clock::now() - call.started).count();
  EndpointMetrics* metrics = call.internal_metrics          ? call.internal_metrics
                             : call.route && call.route->metrics ? call.route->metrics
                                                                 : &metrics_.unmatched();
  metrics->Record(response.status, seconds);
  if (usage_ && !call.internal_metrics && !call.forwarded) {
    const Route* route = call.route;
    usage_->Record({.endpoint = call.route_path,
                    .dataset = route ? std::string_view(route->dataset) : std::string_view(),
                    .tenant = call.tenant,
                    .status = response.status,
                    .cache_hit = call.cache_hit,
                    .ran_query = call.ran_query,
                    .rows = call.rows,
                    .bytes = static_cast<int64_t>(response.body_size()),
                    .dataset_bytes = route && route->snapshot ? route->snapshot->bytes() : 0,
                    .seconds = seconds});
  }
  if (call.admitted) in_flight_.fetch_sub(1, std::memory_order_relaxed);
  if (!call.tenant_admitted.empty()) ReleaseTenant(call.tenant_admitted);
  call.finished = true;
  call.responder(std::move(response));
}

// Refusals of a caller over its limits are answered after a short pause: a client looping as fast
// as it can (a flood) then spends its connections waiting instead of making dram refuse tens of
// thousands of requests a second, which would take the CPU from the other tenants' queries.
void ApiService::FinishLater(const std::shared_ptr<Call>& call, http::Response response) {
  auto timer = std::make_shared<boost::asio::steady_timer>(watchdog_, kRefusalDelay);
  timer->async_wait([this, timer, call, response = std::move(response)](const boost::system::error_code&) mutable {
    Finish(*call, std::move(response));
  });
}

void ApiService::Handle(http::Request request, http::Responder responder) {
  // The reference page is public by configuration: no credentials, and no endpoint's metrics.
  if (docs_ && DocsPage::Serves(request.path) && (request.method == "GET" || request.method == "HEAD")) {
    return docs_->Handle(request, state_.load(), DocsAudience::kPublic, std::move(responder));
  }
  auto call = std::make_shared<Call>();
  call->started = Clock::now();
  call->responder = std::move(responder);
  call->request_id = NextRequestId();
  auto fail = [&](const Status& status) { Finish(*call, MakeErrorResponse(status, call->request_id)); };

  // Another member's map step: proven by the cluster secret, not by API credentials. Without the
  // secret the path is like any unknown one (401/404 below).
  if (shards_ && request.path == ShardCoordinator::kMapPath && request.method == "POST" && shards_->Authorized(request)) {
    auto shared_request = std::make_shared<http::Request>(std::move(request));
    call->internal_metrics = &metrics_.ForRoute(std::string(ShardCoordinator::kMapPath));
    boost::asio::post(workers_, [this, call, shared_request] {
      Finish(*call, shards_->ServeMap(*shared_request, *state_.load()));
    });
    return;
  }

  if (request.method == "OPTIONS") {
    http::Response response;
    response.status = 204;
    response.content_type.clear();
    response.SetHeader("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
    std::shared_ptr<const ServingState> current = state_.load();
    const bool keys = current->authenticator && (current->authenticator->mode() == auth::AuthMode::kKeys ||
                                                 current->authenticator->mode() == auth::AuthMode::kHybrid);
    response.SetHeader("Access-Control-Allow-Headers",
                       keys ? "Authorization, X-API-Key, Content-Type, If-None-Match" : "Authorization, Content-Type, If-None-Match");
    response.SetHeader("Access-Control-Max-Age", "600");
    return Finish(*call, std::move(response));
  }
  // Authenticate before routing: without valid credentials every path answers the same 401, so
  // the set of endpoints cannot be probed.
  // The routing table and the authenticator are one published state: a reload that changes
  // keys and endpoints switches both at once.
  std::shared_ptr<const ServingState> state = state_.load();
  auth::Principal principal;
  auto found = state->routes.find(request.path);
  // A public endpoint takes a request without credentials as anonymous; credentials that are
  // given must still be valid (a bad key is never quietly served as anonymous).
  const bool anonymous_public = found != state->routes.end() && found->second.is_public &&
                                request.Header("authorization").empty() && request.Header("x-api-key").empty();
  if (state->authenticator && !anonymous_public) {
    auto authenticated = state->authenticator->Authenticate(request.Header("authorization"), request.Header("x-api-key"));
    if (!authenticated.ok()) {
      AuditFailure("auth_failure", request.path, request.remote_address, authenticated.status().message());
      return fail(authenticated.status());
    }
    principal = std::move(authenticated).value();
  }
  if (principal.limiter_id.empty()) principal.limiter_id = "addr:" + request.remote_address;
  // Forbidden and missing are the same answer.
  const bool granted = found != state->routes.end() && (found->second.is_public || principal.MayCall(found->second.name));
  if (!granted || (found->second.tenant_scoped && principal.tenant.empty())) return fail(NotFound("no such endpoint"));
  call->state = std::move(state);
  call->route = &found->second;
  call->route_path = found->first;
  call->tenant = principal.tenant;
  if (request.method != "GET" && request.method != "HEAD") {
    return Finish(*call, MethodNotAllowedResponse("GET, HEAD, OPTIONS", call->request_id));
  }
  if (auto wait = OverRateLimit(principal)) {
    return FinishLater(call, MakeErrorResponse(ResourceExhausted("rate limit exceeded"), call->request_id, *wait));
  }
  // The smart client (dram::Client) asks for the shard map, then for map steps on the members it
  // picks (ShardCoordinator::ServeClientMap). The plan is one per client request, so it is what
  // the usage log and the route's metrics count; map steps count under their own path.
  // (A C++ analysis is coordinated by the member, as if asked without the header: the client
  // could not run its reduce, which is code in the members' binary.)
  const std::string_view scatter =
      call->route->sharded && shards_ && !call->route->code ? request.Header(ShardCoordinator::kScatterHeader) : "";
  // Map steps carry more than the endpoint shows (order keys, partial aggregates, an analysis's
  // map rows, the reduce SQL): only the cluster's own clients, holding its secret, get them.
  if (!scatter.empty() && !shards_->Authorized(request)) {
    return fail(PermissionDenied("X-Dram-Scatter is for the cluster's own clients: it needs the cluster secret"));
  }
  if (scatter == "plan") {
    auto shared_request = std::make_shared<http::Request>(std::move(request));
    boost::asio::post(workers_, [this, call, shared_request] {
      if (!common::RunBarrier("shard map", call->request_id, [&] { AnswerShardMap(call, *shared_request); }) && !call->finished) {
        Finish(*call, MakeErrorResponse(Internal("an exception escaped the shard map"), call->request_id));
      }
    });
    return;
  }
  if (scatter == "map") {
    call->internal_metrics = &metrics_.ForRoute(std::string(ShardCoordinator::kClientMapPath));
  } else if (!scatter.empty()) {
    return fail(InvalidArgument("X-Dram-Scatter is plan or map"));
  }
  const bool map_step = scatter == "map";  // before any move: `scatter` points into the request
  // A database that is not split, in a cluster: a member without a copy hands the request to one
  // with a copy, and a tenant's requests go to the tenant's home member (its answers are cached
  // there, whichever member the tenant's requests arrive at). Once (the hop header); when the home
  // does not answer, a member with its own copy answers itself.
  if (call->route->replicated && shards_ && !map_step && request.Header("x-dram-hop").empty()) {
    const bool here = call->route->snapshot != nullptr;
    std::optional<ShardReplica> home;
    if (here && !call->tenant.empty()) home = shards_->HomeOf(*call->route->replicated, call->tenant);
    if (!here || (home && !home->local)) return ForwardOrServe(call, std::move(request));
  }
  // A dataset evicted for being idle (sharded: a copy of it that this member holds) loads first.
  if (!call->route->snapshot && call->route->cold && warm_) return WarmThenHandle(call, std::move(request), map_step);
  if (map_step && !call->route->snapshot) return fail(Unavailable("this member holds no shard of the endpoint's database"));
  // A member that holds no shard of a sharded database cannot plan its requests (no schema here):
  // it hands the request to one that does, once (the hop header stops a second hand-over).
  if (call->route->sharded && !call->route->snapshot && shards_ && request.Header("x-dram-hop").empty()) {
    auto shared_request = std::make_shared<http::Request>(std::move(request));
    boost::asio::post(workers_, [this, call, shared_request] {
      const auto deadline = call->started + std::chrono::milliseconds(options_.query_timeout_ms);
      auto forwarded = shards_->Forward(*call->route->sharded, *shared_request, deadline);
      Finish(*call, forwarded.ok() ? std::move(forwarded).value() : MakeErrorResponse(forwarded.status(), call->request_id));
    });
    return;
  }
  if (!call->route->snapshot) return fail(FailedPrecondition("the endpoint's dataset is not loaded yet"));
  HandleLoaded(call, std::move(request), map_step);
}

void ApiService::ForwardOrServe(const std::shared_ptr<Call>& call, http::Request request) {
  auto shared_request = std::make_shared<http::Request>(std::move(request));
  boost::asio::post(workers_, [this, call, shared_request] {
    const bool ran = common::RunBarrier("forward", call->request_id, [&] {
      const auto deadline = call->started + std::chrono::milliseconds(options_.query_timeout_ms);
      auto forwarded = shards_->Forward(*call->route->replicated, *shared_request, deadline, call->tenant);
      if (forwarded.ok()) {
        call->forwarded = true;
        return Finish(*call, std::move(forwarded).value());
      }
      // No other member answered: this one answers from its own copy, loading it first if cold.
      if (!call->route->snapshot && !(call->route->cold && WarmRoute(*call))) {
        return Finish(*call, MakeErrorResponse(forwarded.status(), call->request_id));
      }
      HandleLoaded(call, std::move(*shared_request), /*map_step=*/false);
    });
    if (!ran && !call->finished) Finish(*call, MakeErrorResponse(Internal("an exception escaped the hand-over"), call->request_id));
  });
}

// A cold dataset's first request loads it again, on a worker (a load takes seconds), and is then
// served from the new snapshot; requests that come meanwhile wait for the same load
// (DatasetManager::Warm).
void ApiService::WarmThenHandle(const std::shared_ptr<Call>& call, http::Request request, bool map_step) {
  auto shared_request = std::make_shared<http::Request>(std::move(request));
  boost::asio::post(workers_, [this, call, shared_request, map_step] {
    const bool ran = common::RunBarrier("warm", call->request_id, [&] {
      if (!WarmRoute(*call)) {
        // The cause (a store error, a path) is for the admin port's /status, not for API callers.
        return Finish(*call, MakeErrorResponse(Unavailable("the endpoint's dataset was idle and could not be loaded again"),
                                               call->request_id));
      }
      HandleLoaded(call, std::move(*shared_request), map_step);
    });
    if (!ran && !call->finished) Finish(*call, MakeErrorResponse(Internal("an exception escaped the warm-up"), call->request_id));
  });
}

bool ApiService::WarmRoute(Call& call) {
  if (!warm_ || !warm_(call.route->dataset).ok()) return false;
  std::shared_ptr<const ServingState> state = state_.load();
  auto found = state->routes.find(std::string(call.route_path));
  if (found == state->routes.end() || !found->second.snapshot) return false;
  call.route = &found->second;
  call.route_path = found->first;  // a view into the new state's key: the old state goes now
  call.state = std::move(state);
  return true;
}

void ApiService::HandleLoaded(const std::shared_ptr<Call>& call, http::Request request, bool map_step) {
  auto fail = [&](const Status& status) { Finish(*call, MakeErrorResponse(status, call->request_id)); };
  auto query = ParseQueryString(request.query);
  if (!query.ok()) return fail(query.status());
  auto args = call->route->endpoint->ParseRequest(*query, request.Header("accept"));
  if (!args.ok()) return fail(args.status());
  call->args = std::move(args).value();
  call->route->endpoint->SetTenant(call->args, call->tenant);

  if (map_step) {
    if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= options_.max_in_flight) {
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      metrics_.refusals().Record(RefusalReason::kInFlight, call->tenant);
      return fail(Unavailable("too many requests in flight"));
    }
    call->admitted = true;
    auto shared_request = std::make_shared<http::Request>(std::move(request));
    boost::asio::post(workers_, [this, call, shared_request] {
      if (!common::RunBarrier("map step", call->request_id, [&] { AnswerMapStep(call, *shared_request); }) && !call->finished) {
        Finish(*call, MakeErrorResponse(Internal("an exception escaped the map step"), call->request_id));
      }
    });
    return;
  }
  if (call->route->sharded) {
    // Split over the cluster's shards on a worker (the response cache is looked up there: its key
    // names every shard's snapshot, from the shard map).
    if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= options_.max_in_flight) {
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      metrics_.refusals().Record(RefusalReason::kInFlight, call->tenant);
      return fail(Unavailable("too many requests in flight"));
    }
    call->admitted = true;
    auto shared_request = std::make_shared<const http::Request>(std::move(request));
    boost::asio::post(workers_, [this, call, shared_request] {
      if (!common::RunBarrier("sharded query", call->request_id, [&] { ExecuteSharded(call, *shared_request); }) && !call->finished) {
        Finish(*call, MakeErrorResponse(Internal("an exception escaped the query"), call->request_id));
      }
    });
    return;
  }
  const std::string& snapshot_id = call->route->snapshot->id();
  call->cache_key.reserve(request.path.size() + snapshot_id.size() + call->args.canonical.size() + 2);
  call->cache_key.append(request.path).append("\n").append(snapshot_id).append("\n").append(call->args.canonical);
  call->etag = "W/\"" + common::Fnv1a64().Add(call->cache_key).hex() + "\"";

  const EndpointSpec& spec = call->route->endpoint->spec();
  // The snapshot is immutable, so the ETag alone decides: no query needed for a 304.
  if (EtagMatches(request.Header("if-none-match"), call->etag)) {
    http::Response response;
    response.status = 304;
    response.content_type.clear();
    response.SetHeader("ETag", call->etag);
    response.SetHeader("Cache-Control", CacheControl(spec));
    response.SetHeader("X-Request-Id", call->request_id);
    response.varies_by_accept = true;
    call->cache_hit = true;
    call->route->snapshot->RecordAccess();  // a revalidation is a use (idle eviction)
    return Finish(*call, std::move(response));
  }
  if (spec.cache) {
    if (auto entry = cache_.Get(call->cache_key)) return Reply(*call, *entry, "hit");
  }
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= options_.max_in_flight) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    metrics_.refusals().Record(RefusalReason::kInFlight, call->tenant);
    return fail(Unavailable("too many requests in flight"));
  }
  call->admitted = true;
  // Every caller with a tenant counts against its tenant's bound, whichever endpoint it calls.
  if (!AdmitTenant(call->tenant)) {
    metrics_.refusals().Record(RefusalReason::kTenantInFlight, call->tenant);
    return FinishLater(call, MakeErrorResponse(Unavailable("too many requests in flight for this tenant"), call->request_id));
  }
  if (options_.max_in_flight_per_tenant > 0 && !call->tenant.empty()) call->tenant_admitted = call->tenant;
  // The dispatcher starts the query when its tenant may take one of the pool's connections (at
  // most a share of them; waiting tenants in turn), so one tenant cannot hold the whole pool.
  const void* pool = &call->route->snapshot->pool();
  std::string fair_key = call->tenant;
  dispatcher_.Submit(pool, fair_key, [this, call, pool, fair_key] {
    // A C++ endpoint's handler may throw; an exception escaping a pool's job would end the process.
    if (!common::RunBarrier("query worker", call->request_id, [&] { Execute(call); }) && !call->finished) {
      Finish(*call, MakeErrorResponse(Internal("an exception escaped the query"), call->request_id));
    }
    dispatcher_.Done(pool, fair_key);
  });
}

void ApiService::Execute(std::shared_ptr<Call> call) {
  auto fail = [&](const Status& status) { Finish(*call, MakeErrorResponse(status, call->request_id)); };
  const Route& route = *call->route;
  // The queue has a deadline: time spent waiting for a worker counts against the same budget
  // as waiting for a connection, so a backlog turns into fast 503s instead of slow answers.
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - call->started);
  auto budget = std::chrono::milliseconds(options_.queue_timeout_ms) - waited;
  if (budget.count() <= 0) {
    metrics_.refusals().Record(RefusalReason::kQueueTimeout, call->tenant);
    return fail(Unavailable("request waited too long in the queue"));
  }
  auto lease = route.snapshot->pool().Acquire(budget);
  if (!lease.ok()) {
    // No connection came free within the same budget: the other half of the queue timeout.
    metrics_.refusals().Record(RefusalReason::kQueueTimeout, call->tenant);
    return fail(lease.status());
  }

  const std::string& format = call->args.format;
  std::string body = format == "json" ? "{\"data\":" : "";
  auto entry = std::make_shared<CachedResponse>();
  entry->dataset = route.dataset;
  entry->generated_at = IsoNow();

  auto deadline = std::make_shared<QueryDeadline>(**lease);
  auto timer = std::make_shared<boost::asio::steady_timer>(watchdog_, std::chrono::milliseconds(options_.query_timeout_ms));
  // After the deadline, interrupt every 20 ms until the query has stopped (see QueryDeadline).
  auto on_deadline = std::make_shared<std::function<void(const boost::system::error_code&)>>();
  *on_deadline = [deadline, weak_timer = std::weak_ptr(timer), weak_self = std::weak_ptr(on_deadline)](
                     const boost::system::error_code& ec) {
    if (ec || !deadline->Expire()) return;
    auto timer = weak_timer.lock();
    auto self = weak_self.lock();
    if (!timer || !self) return;
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([self](const boost::system::error_code& again) { (*self)(again); });
  };
  timer->async_wait([on_deadline](const boost::system::error_code& ec) { (*on_deadline)(ec); });
  struct StopTimer {
    std::shared_ptr<QueryDeadline> deadline;
    std::shared_ptr<boost::asio::steady_timer> timer;
    std::shared_ptr<std::function<void(const boost::system::error_code&)>> on_deadline;
    ~StopTimer() {
      deadline->Finish();
      // The handler holds itself only weakly: it lives until the cancelled wait completes.
      boost::asio::post(timer->get_executor(), [timer = timer, on_deadline = on_deadline] { timer->cancel(); });
    }
  } stop_timer{deadline, timer, on_deadline};

  // A lazy database: fetch and pin the files this request may read, and scope the connection's
  // view of the tables to them (released when this function returns, after encoding).
  std::vector<database::LazyScope> lazy_scopes;
  if (database::LazyFiles* lazy = route.snapshot->lazy()) {
    auto predicates = route.code ? std::map<std::string, std::vector<database::Predicate>>{}
                                 : route.endpoint->Predicates(call->args);
    auto scoped = database::ScopeLazyQuery(*lazy, **lease, predicates, /*others_read_all=*/predicates.empty());
    if (!scoped.ok()) {
      std::string detail;
      common::AppendJsonString(detail, scoped.status().ToString());
      common::Log(common::LogLevel::kError, "lazy fetch failed", "\"dataset\":\"" + route.dataset + "\",\"error\":" + detail);
      return fail(Unavailable("the data this request needs could not be fetched"));
    }
    lazy_scopes = std::move(scoped).value();
  }

  Result<size_t> rows = 0;
  call->ran_query = true;
  if (route.code) {
    // A C++ handler runs SQL of its own on a pooled connection: what it leaves behind (a temporary
    // view shadowing a served table, say) must never reach the next request on that connection,
    // so the connection is checked when the handler is done and replaced if it holds any.
    std::vector<std::string> scope_views;
    if (route.snapshot->lazy()) {
      for (const auto& table : route.snapshot->tables()) scope_views.push_back(table.name);
    }
    struct CheckOnReturn {
      engine::ConnectionPool::Lease& lease;
      const std::vector<std::string>& expected;
      ~CheckOnReturn() {
        if (lease->HoldsSessionState(expected)) lease.Discard();
      }
    } check_on_return{*lease, scope_views};
    RequestParams params(*route.endpoint, call->args);
    ConnectionSession session(**lease);
    Result<Rows> result = route.code->handler(params, session);
    if (!result.ok()) {
      return fail(QueryFailure(route.endpoint->route(), call->request_id, result.status(), /*from_handler=*/true));
    }
    if (!route.code->reduce) {
      rows = engine::EncodeResult(result->impl().result, FormatOf(format), body);
    } else {
      // An analysis on a database that is not split: its reduce over the handler's rows as one
      // shard's partial, so that it answers what the same analysis answers over shards.
      ShardReducer* reducer = CodeReducer();
      if (!reducer) return fail(code_reducer_.status());
      auto partial = PartialOf(result->impl().result);
      if (!partial.ok()) return fail(QueryFailure(route.endpoint->route(), call->request_id, partial.status(), /*from_handler=*/false));
      auto reduce = [&](QuerySession& partials) { return route.code->reduce(params, partials); };
      auto reduced = reducer->ReduceWith(reduce, {std::move(partial).value()}, FormatOf(format), body);
      if (!reduced.ok()) {
        return fail(QueryFailure(route.endpoint->route(), call->request_id, reduced.status(), /*from_handler=*/true));
      }
      rows = reduced->rows;
    }
  } else {
    QueryPlan plan = route.endpoint->Plan(call->args);
    auto result = (*lease)->Query(plan.sql, plan.values);
    if (!result.ok()) {
      return fail(QueryFailure(route.endpoint->route(), call->request_id, result.status(), /*from_handler=*/false));
    }
    rows = engine::EncodeResult(*result, FormatOf(format), body);
    if (rows.ok() && !plan.count_sql.empty()) {
      std::vector<Value> filter_values(plan.values.begin(), plan.values.begin() + plan.filter_value_count);
      auto counted = (*lease)->Query(plan.count_sql, filter_values);
      if (!counted.ok()) {
        return fail(QueryFailure(route.endpoint->route(), call->request_id, counted.status(), /*from_handler=*/false));
      }
      auto text = engine::ColumnText(*counted, 0);
      if (text.ok() && !text->empty()) entry->total = std::stoll(text->front());
    }
  }
  if (!rows.ok()) return fail(rows.status());
  entry->row_count = static_cast<int64_t>(*rows);
  entry->body = std::make_shared<const http::SharedBytes>(std::move(body));
  if (call->one_shard) {
    // Named as the coordinator names the shards it used (ShardCoordinator::Run).
    entry->snapshot_id = call->one_shard_snapshot_id;
    entry->shards_json = "\"shards\":[";
    AppendShardMeta(entry->shards_json, call->one_shard_index, call->one_shard->member, call->one_shard->snapshot,
                    std::chrono::duration<double, std::milli>(Clock::now() - call->started).count());
    entry->shards_json += "]" + call->one_shard_stale_meta;
  }
  bool cacheable = route.endpoint->spec().cache && !call->cache_key.empty();
  if (cacheable) cache_.Put(call->cache_key, entry);
  Reply(*call, *entry, cacheable ? "miss" : "off");
}

void ApiService::AnswerShardMap(const std::shared_ptr<Call>& call, const http::Request& request) {
  // The shards this request needs (one, when its params pin the shard column); a request that
  // does not parse needs them all here, and gets its 422 from the map step.
  std::vector<int> needed;
  if (call->route->snapshot) {
    auto query = ParseQueryString(request.query);
    auto args = query.ok() ? call->route->endpoint->ParseRequest(*query, request.Header("accept")) : Result<RequestArgs>(query.status());
    if (args.ok()) {
      call->route->endpoint->SetTenant(*args, call->tenant);
      needed = shards_->NeededShards(*call->route, *args);
    }
  }
  http::Response response;
  response.content_type = "application/json";
  response.tail = shards_->ShardMapJson(*call->route->sharded, needed);
  response.SetHeader("Cache-Control", "no-store");
  response.SetHeader("X-Dram-Scatter", "plan");  // (an endpoint that is not sharded answers as usual)
  response.SetHeader("X-Request-Id", call->request_id);
  Finish(*call, std::move(response));
}

void ApiService::AnswerMapStep(const std::shared_ptr<Call>& call, const http::Request& request) {
  // The client passes its deadline down: what is left of it, in ms.
  auto budget = std::chrono::milliseconds(options_.query_timeout_ms);
  if (auto left = PositiveMillis(request.Header("x-dram-deadline-ms"))) budget = std::min(budget, *left);
  auto body = shards_->ServeClientMap(*call->route, call->args, request.Header(ShardCoordinator::kShardsHeader), call->started + budget);
  if (!body.ok()) return Finish(*call, MakeErrorResponse(body.status(), call->request_id));
  http::Response response;
  response.content_type = kMapReplyContentType;
  response.tail = std::move(body).value();
  response.SetHeader("Cache-Control", "no-store");
  response.SetHeader("X-Request-Id", call->request_id);
  call->ran_query = true;
  Finish(*call, std::move(response));
}

void ApiService::ExecuteSharded(std::shared_ptr<Call> call, const http::Request& request) {
  auto fail = [&](const Status& status) { Finish(*call, MakeErrorResponse(status, call->request_id)); };
  if (!shards_) {
    return fail(Unavailable("this database is split into shards across the cluster, and this member cannot ask the others "
                            "(started without $DRAM_CLUSTER_SECRET)"));
  }
  const Route& route = *call->route;
  // Cached under the snapshots of every shard: a merged answer is as immutable as they are.
  const bool cacheable = route.endpoint->spec().cache;
  auto cache_key = [&](const std::string& snapshots) {
    return std::string(call->route_path) + "\n" + snapshots + "\n" + call->args.canonical;
  };
  // Read once: the key and the run agree.
  const auto replicas = shards_->PinnedReplicas(*route.sharded, call->args.stale);
  // Keyed by every shard's first-choice snapshot (a request asked of one shard too): it changes
  // when any shard's data does.
  const std::string expected = ShardCoordinator::ExpectedSnapshotId(replicas);
  if (cacheable && !expected.empty()) {
    if (auto entry = cache_.Get(cache_key(expected))) return Reply(*call, *entry, "hit");
  }
  // Every row this request can see is in one shard (its params pin the column the database is
  // split by) and this member holds that shard's first-choice copy: the whole query runs on it as
  // on a database that is not split, with no map step and no reduce. (The reduce, DuckDB reading
  // the partials back, was most of such a lookup's cost: bench/README.md.)
  // Held by another member: the request goes there whole, once (X-Dram-Hop), and is answered the
  // same way, rather than as a map step here and a reduce of its one partial.
  const auto deadline = call->started + std::chrono::milliseconds(options_.query_timeout_ms);
  if (const std::vector<int> needed = shards_->NeededShards(route, call->args); needed.size() == 1) {
    const auto& copies = replicas.replicas[static_cast<size_t>(needed.front())];
    if (!copies.empty() && !copies.front().local && request.Header("x-dram-hop").empty()) {
      auto forwarded = shards_->Forward(*route.sharded, request, deadline, "", needed.front());
      if (forwarded.ok()) {
        call->forwarded = true;
        return Finish(*call, std::move(forwarded).value());
      }
      // No holder answered: the map step below tries every copy in turn, and says what failed.
    }
    if (!copies.empty() && copies.front().local) {
      if (auto copy = shards_->LocalShardCopy(*route.sharded, needed.front(), copies.front().snapshot)) {
        auto one = std::make_shared<Route>(route);
        one->snapshot = std::move(copy);
        one->sharded = nullptr;
        call->one_shard_route = one;
        call->route = one.get();
        call->one_shard = copies.front();
        call->one_shard_index = needed.front();
        call->one_shard_snapshot_id = "shards-" + common::Fnv1a64().Add(copies.front().snapshot).hex();
        if (call->args.stale) {
          call->one_shard_stale_meta =
              StaleMeta({{needed.front(), copies.front().snapshot, one->snapshot->watermark_ms()}}, replicas.superseded, NowMicros() / 1000);
        }
        call->cache_key = cache_key(expected.empty() ? call->one_shard_snapshot_id : expected);
        if (!cacheable || expected.empty()) call->cache_key.clear();  // not kept (Execute: no key, no Put)
        return Execute(call);
      }
    }
  }
  call->ran_query = true;
  auto answer = route.code ? shards_->RunCode(route, call->args, request.query, replicas, FormatOf(call->args.format), deadline)
                           : shards_->Run(route, call->args, replicas, FormatOf(call->args.format), deadline);
  if (!answer.ok()) return fail(answer.status());
  // The reduce's description says which way it ran: merge steps (engine::MergePartials) or a query.
  call->server_timing = "gather;dur=" + FormatMs(answer->gather_ms) + ", reduce;dur=" + FormatMs(answer->reduce_ms) +
                        (answer->reduced.merged ? ";desc=\"merge\"" : ";desc=\"query\"");
  const bool partial = !answer->missing_shards.empty();
  auto entry = std::make_shared<CachedResponse>();
  entry->dataset = route.dataset;
  entry->generated_at = IsoNow();
  entry->row_count = static_cast<int64_t>(answer->reduced.rows);
  entry->total = answer->reduced.total;
  entry->snapshot_id = std::move(answer->snapshot_id);
  entry->shards_json = std::move(answer->meta_json);
  std::string body = call->args.format == "json" ? "{\"data\":" + answer->rows : std::move(answer->rows);
  entry->body = std::make_shared<const http::SharedBytes>(std::move(body));
  // A partial answer is never cached: the missing shards may be back on the next request.
  const bool kept = cacheable && !partial && !expected.empty();
  if (kept) cache_.Put(cache_key(expected), entry);
  Reply(*call, *entry, kept ? "miss" : "off");
}

ShardReducer* ApiService::CodeReducer() {
  std::call_once(code_reducer_once_, [this] { code_reducer_ = ShardReducer::Create(2); });
  return code_reducer_.ok() ? code_reducer_->get() : nullptr;
}

void ApiService::Reply(Call& call, const CachedResponse& entry, std::string_view cache_status) {
  const Route& route = *call.route;
  const EndpointSpec& spec = route.endpoint->spec();
  const database::Snapshot& snapshot = *route.snapshot;
  snapshot.RecordAccess();
  call.cache_hit = cache_status == "hit";
  call.rows = entry.row_count;
  http::Response response;
  response.content_type = ContentTypeOf(call.args.format);
  response.shared = entry.body;
  response.SetHeader("ETag", call.etag);
  response.SetHeader("Cache-Control", CacheControl(spec));
  response.varies_by_accept = true;  // ?format= or, without it, Accept chose the format
  response.SetHeader("X-Request-Id", call.request_id);
  response.SetHeader("X-Cache", cache_status);
  response.SetHeader("X-Snapshot-Id", entry.snapshot_id.empty() ? snapshot.id() : entry.snapshot_id);
  // Where a coordinated answer's time went (browsers' developer tools show it; bench/distributed.sh
  // splits the coordinator's overhead with it). total: from the request's arrival to this reply.
  if (!call.server_timing.empty()) {
    response.SetHeader("Server-Timing", call.server_timing + ", total;dur=" +
                                            FormatMs(std::chrono::duration<double, std::milli>(Clock::now() - call.started).count()));
  }
  if (call.args.format != "json") {
    response.SetHeader("X-Row-Count", std::to_string(entry.row_count));
    if (entry.total) response.SetHeader("X-Total-Count", std::to_string(*entry.total));
    return Finish(call, std::move(response));
  }
  AppendResponseMeta({.request_id = call.request_id,
                      .spec = spec,
                      .snapshot = snapshot,
                      .generated_at = entry.generated_at,
                      .row_count = entry.row_count,
                      .limit = call.args.limit,
                      .offset = call.args.offset,
                      .total = entry.total,
                      .cache = cache_status,
                      .max_age_ms = route.max_age_ms,
                      .now_ms = NowMicros() / 1000,
                      .snapshot_id = entry.snapshot_id,
                      .shards_json = entry.shards_json},
                     response.tail);
  Finish(call, std::move(response));
}

}  // namespace dram::api
