#pragma once

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "api/metrics.h"
#include "api/response_cache.h"
#include "api/serving_state.h"
#include "http/server.h"

namespace dram::api {

struct ApiOptions {
  int workers = 4;                       // threads running queries
  int64_t queue_timeout_ms = 5'000;      // wait for a pooled connection before answering overloaded
  int64_t max_in_flight = 256;           // requests admitted at once; beyond it: overloaded
};

// The API port's handler: routes /v{n}/{name}, validates params, answers from the response
// cache on the IO thread, and runs queries on its worker threads. Thread-safe.
class ApiService : public http::Handler {
 public:
  ApiService(ApiOptions options, ResponseCache& cache, MetricsRegistry& metrics);
  ~ApiService() override;

  void Handle(http::Request request, http::Responder responder) override;
  // Makes `state` the routing table for every request that starts after this call.
  void Publish(std::shared_ptr<const ServingState> state);
  std::shared_ptr<const ServingState> state() const { return state_.load(); }
  // Waits for queued queries to finish; call after the HTTP server stopped.
  void Drain();

 private:
  struct Call;
  void Execute(std::shared_ptr<Call> call);
  void Finish(Call& call, http::Response response);
  void Reply(Call& call, const CachedResponse& entry, std::string_view cache_status);
  std::string NextRequestId();

  ApiOptions options_;
  ResponseCache& cache_;
  MetricsRegistry& metrics_;
  std::atomic<std::shared_ptr<const ServingState>> state_;
  boost::asio::thread_pool workers_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> request_counter_{0};
  std::string request_id_prefix_;
};

}  // namespace dram::api
