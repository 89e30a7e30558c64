#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/mutex.h"
#include "common/shared_slot.h"
#include "api/docs_page.h"
#include "api/fair_dispatcher.h"
#include "api/metrics.h"
#include "api/response_cache.h"
#include "api/serving_state.h"
#include "api/shard_coordinator.h"
#include "auth/authenticator.h"
#include "auth/rate_limiter.h"
#include "http/server.h"
#include "usage/usage_recorder.h"

namespace dram::api {

struct ApiOptions {
  int workers = 4;                       // threads running queries
  int64_t queue_timeout_ms = 5'000;      // wait for a pooled connection before answering overloaded
  int64_t max_in_flight = 256;           // requests admitted at once; beyond it: overloaded
  int64_t max_in_flight_per_tenant = 0;  // 0: no per-tenant bound
  int64_t rate_per_key = 0;              // requests per minute; 0: unlimited
  int64_t rate_per_tenant = 0;
  int64_t rate_burst = 0;                // 0: a tenth of the rate, at least 10
  int64_t query_timeout_ms = 30'000;     // interrupt a query running longer (504)
  int64_t pool_size = 4;                 // connections per snapshot pool
  int64_t tenant_pool_share = 0;         // most of a pool one tenant may hold; 0: ⌈pool_size/2⌉
};

// The API port's handler: routes /v{n}/{name}, validates params, answers from the response
// cache on the IO thread, and runs queries on its worker threads; with `docs` (server.public_docs,
// borrowed), also the API reference page at /docs for anyone; with `usage` (borrowed), counts every
// answered request in it for the usage log. Thread-safe.
class ApiService : public http::Handler {
 public:
  ApiService(ApiOptions options, ResponseCache& cache, MetricsRegistry& metrics, DocsPage* docs = nullptr,
             usage::UsageRecorder* usage = nullptr);
  ~ApiService() override;

  void Handle(http::Request request, http::Responder responder) override;
  // Makes `state` the routing table for every request that starts after this call.
  void Publish(std::shared_ptr<const ServingState> state);
  // Serves routes over sharded databases by splitting them over the cluster, and answers other
  // members' map steps (borrowed; set before the port opens). Without one, such routes answer 503.
  void SetShardCoordinator(ShardCoordinator* coordinator) { shards_ = coordinator; }
  // Loads a dataset evicted for being idle (Route::cold) and returns once it serves; set before
  // the port opens. Without one, a cold route answers not_ready.
  using Warmer = std::function<Status(const std::string& dataset)>;
  void SetWarmer(Warmer warm) { warm_ = std::move(warm); }
  std::shared_ptr<const ServingState> state() const { return state_.load(); }
  // Requests admitted and not answered yet (queued or running), and the bound on them.
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  int64_t max_in_flight() const { return options_.max_in_flight; }
  // Waits for queued queries to finish; call after the HTTP server stopped.
  void Drain();

 private:
  struct Call;
  void Execute(std::shared_ptr<Call> call);
  // The part of Handle after routing, for a route whose snapshot is loaded.
  void HandleLoaded(const std::shared_ptr<Call>& call, http::Request request, bool map_step);
  void WarmThenHandle(const std::shared_ptr<Call>& call, http::Request request, bool map_step);
  // Hands a request on a replicated route to another member (Route::replicated), or serves it
  // here when none answers and this member has a copy.
  void ForwardOrServe(const std::shared_ptr<Call>& call, http::Request request);
  // Loads the call's cold dataset (warm_) and points the call at the route as published after;
  // false when that failed or the route still has no snapshot.
  bool WarmRoute(Call& call);
  // The smart client's two requests (X-Dram-Scatter: plan, map), on a worker.
  void AnswerShardMap(const std::shared_ptr<Call>& call, const http::Request& request);
  void AnswerMapStep(const std::shared_ptr<Call>& call, const http::Request& request);
  void ExecuteSharded(std::shared_ptr<Call> call, const http::Request& request);
  void Finish(Call& call, http::Response response);
  void FinishLater(const std::shared_ptr<Call>& call, http::Response response);
  static constexpr std::chrono::milliseconds kRefusalDelay{50};
  void Reply(Call& call, const CachedResponse& entry, std::string_view cache_status);
  std::string NextRequestId();
  // Rate limits for this principal; a Status with the Retry-After seconds when over a limit.
  std::optional<int64_t> OverRateLimit(const auth::Principal& principal);
  bool AdmitTenant(const std::string& tenant);
  void ReleaseTenant(const std::string& tenant);

  ApiOptions options_;
  ResponseCache& cache_;
  MetricsRegistry& metrics_;
  DocsPage* docs_;  // null: no page on this port
  usage::UsageRecorder* usage_;  // null: no usage log
  ShardCoordinator* shards_ = nullptr;
  // Reduces C++ analyses over databases that are not split (CodeEndpoint::reduce over the
  // handler's rows): made at the first such request.
  ShardReducer* CodeReducer();
  std::once_flag code_reducer_once_;
  Result<std::unique_ptr<ShardReducer>> code_reducer_ = Unavailable("not made yet");
  Warmer warm_;
  common::SharedSlot<const ServingState> state_;
  boost::asio::thread_pool workers_;
  FairDispatcher dispatcher_;  // hands queries to workers_ when their tenant may take a connection
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> request_counter_{0};
  std::string request_id_prefix_;
  auth::RateLimiter rate_limiter_;
  common::Mutex tenant_mu_;
  std::unordered_map<std::string, int64_t> tenant_in_flight_ GUARDED_BY(tenant_mu_);
  // Query deadlines: timers on their own thread interrupt queries that run too long.
  boost::asio::io_context watchdog_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> watchdog_work_;
  std::thread watchdog_thread_;
};

}  // namespace dram::api
