#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/refusal_metrics.h"
#include "common/mutex.h"

namespace dram::api {

// Request counters and a latency histogram for one endpoint (or for unmatched requests).
// Lock-free on the request path: relaxed atomic increments only.
class EndpointMetrics {
 public:
  static constexpr std::array<double, 14> kBucketsSeconds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                             0.1,    0.25,  0.5,    1,     2.5,   5,     10};
  // Status codes that get their own label value; everything else is counted as "other", which
  // keeps label cardinality fixed whatever clients send.
  static constexpr std::array<int, 19> kStatuses = {200, 204, 304, 400, 401, 403, 404, 405, 409, 413,
                                                    422, 429, 431, 500, 501, 502, 503, 504, 0};

  void Record(int status, double seconds);
  void RenderCounts(std::string& out, const std::string& label) const;
  void RenderHistogram(std::string& out, const std::string& label) const;

 private:
  std::array<std::atomic<uint64_t>, kStatuses.size()> by_status_{};
  std::array<std::atomic<uint64_t>, kBucketsSeconds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

// Owns every EndpointMetrics by route; entries are never removed, so handlers may keep the
// pointer. Thread-safe.
class MetricsRegistry {
 public:
  EndpointMetrics& ForRoute(const std::string& route);
  EndpointMetrics& unmatched() { return unmatched_; }
  RefusalMetrics& refusals() { return refusals_; }
  // Adds families another part of the server renders itself (whole families, Prometheus text);
  // `render` must stay callable for the registry's lifetime.
  void AddSource(std::function<void(std::string&)> render);
  // Appends dram_requests_total, dram_request_duration_seconds, dram_refusals_total and
  // dram_tenant_refusals_total, then each source's families, in Prometheus text format.
  void Render(std::string& out) const;

 private:
  mutable common::Mutex mu_;
  std::map<std::string, std::unique_ptr<EndpointMetrics>> routes_ GUARDED_BY(mu_);
  std::vector<std::function<void(std::string&)>> sources_ GUARDED_BY(mu_);
  EndpointMetrics unmatched_;  // not guarded: its counters are atomics
  RefusalMetrics refusals_;    // not guarded: locks itself
};

}  // namespace dram::api
