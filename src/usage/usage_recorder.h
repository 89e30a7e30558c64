#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"

namespace dram::usage {

// Upper bounds of the latency buckets, in seconds; one more bucket counts everything slower.
// The same bounds as the Prometheus histogram, so the two agree.
inline constexpr std::array<double, 14> kLatencyBoundsSeconds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                 0.1,    0.25,  0.5,    1,     2.5,   5,     10};
inline constexpr size_t kLatencyBuckets = kLatencyBoundsSeconds.size() + 1;

// What one answered request did, as the usage log counts it. Views: valid for the call only.
struct RequestUsage {
  std::string_view endpoint;  // the route ("/v1/orders"); empty for a request that matched none
  std::string_view dataset;
  std::string_view tenant;    // empty: no tenant
  int status = 0;
  bool cache_hit = false;     // answered without a query: from the response cache, or a 304
  bool ran_query = false;
  int64_t rows = 0;
  int64_t bytes = 0;          // body bytes sent
  int64_t dataset_bytes = 0;  // size of the snapshot that answered (a scan-size estimate)
  double seconds = 0;
};

// Sums over the requests of one (endpoint, dataset, tenant) in one interval.
struct UsageCounts {
  int64_t requests = 0;
  int64_t errors = 0;         // status >= 400
  int64_t server_errors = 0;  // status >= 500
  int64_t cache_hits = 0;
  int64_t queries = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
  int64_t dataset_bytes = 0;  // the largest seen in the interval
  double latency_sum_seconds = 0;
  double latency_max_seconds = 0;
  std::array<int64_t, kLatencyBuckets> latency{};

  void Add(const RequestUsage& usage);
};

struct UsageRow {
  std::string endpoint;
  std::string dataset;
  std::string tenant;
  UsageCounts counts;
};

// Everything recorded between two flushes: [start_ms, end_ms) of wall-clock time.
struct UsageInterval {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::vector<UsageRow> rows;
};

// Counts requests per (endpoint, dataset, tenant) for the usage log. Record() is on the request
// path: one of a few striped mutexes, a hash lookup without allocating once the key exists.
// The number of keys per interval is bounded (`max_keys`): past it, new tenants are counted under
// kOtherTenant, so a flood of distinct tenants cannot grow memory. Thread-safe.
class UsageRecorder {
 public:
  static constexpr std::string_view kOtherTenant = "(other)";

  UsageRecorder(int64_t start_ms, size_t max_keys = 10'000);
  UsageRecorder(const UsageRecorder&) = delete;
  UsageRecorder& operator=(const UsageRecorder&) = delete;

  void Record(const RequestUsage& usage);
  // Hands over what was recorded since the previous call (or construction) as [start, now_ms) and
  // starts the next interval at now_ms. Rows come sorted by endpoint, dataset, tenant.
  UsageInterval TakeInterval(int64_t now_ms);

 private:
  struct Key {
    std::string endpoint, dataset, tenant;
  };
  struct KeyView {
    std::string_view endpoint, dataset, tenant;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const KeyView& key) const;
    size_t operator()(const Key& key) const { return (*this)(KeyView{key.endpoint, key.dataset, key.tenant}); }
  };
  struct KeyEqual {
    using is_transparent = void;
    static KeyView View(const Key& key) { return {key.endpoint, key.dataset, key.tenant}; }
    static KeyView View(const KeyView& key) { return key; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      KeyView x = View(a), y = View(b);
      return x.endpoint == y.endpoint && x.dataset == y.dataset && x.tenant == y.tenant;
    }
  };
  using CountsMap = std::unordered_map<Key, UsageCounts, KeyHash, KeyEqual>;
  struct Stripe {
    common::Mutex mu;
    CountsMap counts GUARDED_BY(mu);
  };
  static constexpr size_t kStripes = 8;

  const size_t max_keys_;
  std::atomic<size_t> keys_{0};  // in all stripes, this interval
  std::array<Stripe, kStripes> stripes_;
  common::Mutex take_mu_;        // one TakeInterval at a time
  int64_t interval_start_ms_ GUARDED_BY(take_mu_);
};

}  // namespace dram::usage
