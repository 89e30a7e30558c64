#include "api/metrics.h"

#include <cstdio>

namespace dram::api {

void EndpointMetrics::Record(int status, double seconds) {
  size_t index = kStatuses.size() - 1;
  for (size_t i = 0; i + 1 < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) {
      index = i;
      break;
    }
  }
  by_status_[index].fetch_add(1, std::memory_order_relaxed);
  size_t bucket = 0;
  while (bucket < kBucketsSeconds.size() && seconds > kBucketsSeconds[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void EndpointMetrics::RenderCounts(std::string& out, const std::string& label) const {
  char line[256];
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    uint64_t value = by_status_[i].load(std::memory_order_relaxed);
    if (value == 0) continue;
    std::string status = kStatuses[i] == 0 ? "other" : std::to_string(kStatuses[i]);
    std::snprintf(line, sizeof(line), "dram_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n", label.c_str(),
                  status.c_str(), static_cast<unsigned long long>(value));
    out += line;
  }
}

void EndpointMetrics::RenderHistogram(std::string& out, const std::string& label) const {
  char line[256];
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= kBucketsSeconds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < kBucketsSeconds.size()) {
      std::snprintf(line, sizeof(line), "dram_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n",
                    label.c_str(), kBucketsSeconds[i], static_cast<unsigned long long>(cumulative));
    } else {
      std::snprintf(line, sizeof(line), "dram_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n",
                    label.c_str(), static_cast<unsigned long long>(cumulative));
    }
    out += line;
  }
  std::snprintf(line, sizeof(line), "dram_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n", label.c_str(),
                static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  out += line;
  std::snprintf(line, sizeof(line), "dram_request_duration_seconds_count{endpoint=\"%s\"} %llu\n", label.c_str(),
                static_cast<unsigned long long>(count_.load(std::memory_order_relaxed)));
  out += line;
}

EndpointMetrics& MetricsRegistry::ForRoute(const std::string& route) {
  common::MutexLock lock(mu_);
  auto& slot = routes_[route];
  if (!slot) slot = std::make_unique<EndpointMetrics>();
  return *slot;
}

void MetricsRegistry::Render(std::string& out) const {
  // Prometheus wants every sample of a family in one group, so render family by family.
  common::MutexLock lock(mu_);
  out += "# HELP dram_requests_total API requests by endpoint and HTTP status.\n";
  out += "# TYPE dram_requests_total counter\n";
  for (const auto& [route, metrics] : routes_) metrics->RenderCounts(out, route);
  unmatched_.RenderCounts(out, "_unmatched");
  out += "# HELP dram_request_duration_seconds API request latency by endpoint.\n";
  out += "# TYPE dram_request_duration_seconds histogram\n";
  for (const auto& [route, metrics] : routes_) metrics->RenderHistogram(out, route);
  unmatched_.RenderHistogram(out, "_unmatched");
  refusals_.Render(out);
  for (const auto& render : sources_) render(out);
}

void MetricsRegistry::AddSource(std::function<void(std::string&)> render) {
  common::MutexLock lock(mu_);
  sources_.push_back(std::move(render));
}

}  // namespace dram::api
