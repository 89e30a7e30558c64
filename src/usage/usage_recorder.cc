#include "usage/usage_recorder.h"

#include <algorithm>
#include <tuple>

namespace dram::usage {

void UsageCounts::Add(const RequestUsage& usage) {
  ++requests;
  if (usage.status >= 400) ++errors;
  if (usage.status >= 500) ++server_errors;
  if (usage.cache_hit) ++cache_hits;
  if (usage.ran_query) ++queries;
  rows += usage.rows;
  bytes += usage.bytes;
  dataset_bytes = std::max(dataset_bytes, usage.dataset_bytes);
  latency_sum_seconds += usage.seconds;
  latency_max_seconds = std::max(latency_max_seconds, usage.seconds);
  size_t bucket = std::lower_bound(kLatencyBoundsSeconds.begin(), kLatencyBoundsSeconds.end(), usage.seconds) -
                  kLatencyBoundsSeconds.begin();
  ++latency[bucket];
}

size_t UsageRecorder::KeyHash::operator()(const KeyView& key) const {
  std::hash<std::string_view> hash;
  size_t h = hash(key.endpoint);
  h ^= hash(key.dataset) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= hash(key.tenant) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

UsageRecorder::UsageRecorder(int64_t start_ms, size_t max_keys) : max_keys_(max_keys), interval_start_ms_(start_ms) {}

void UsageRecorder::Record(const RequestUsage& usage) {
  KeyView key{usage.endpoint, usage.dataset, usage.tenant};
  size_t hash = KeyHash()(key);
  Stripe& stripe = stripes_[(hash >> 7) % kStripes];
  common::MutexLock lock(stripe.mu);
  auto found = stripe.counts.find(key);
  if (found == stripe.counts.end()) {
    // Past the bound, a new key becomes its endpoint's "(other)" tenant (itself one key, allowed
    // past the bound: at most one per endpoint and dataset, and those are configured, not sent).
    if (keys_.load(std::memory_order_relaxed) >= max_keys_ && usage.tenant != kOtherTenant) {
      lock.Unlock();
      RequestUsage other = usage;
      other.tenant = kOtherTenant;
      return Record(other);
    }
    keys_.fetch_add(1, std::memory_order_relaxed);
    found = stripe.counts.emplace(Key{std::string(usage.endpoint), std::string(usage.dataset), std::string(usage.tenant)},
                                  UsageCounts{}).first;
  }
  found->second.Add(usage);
}

UsageInterval UsageRecorder::TakeInterval(int64_t now_ms) {
  common::MutexLock take(take_mu_);
  UsageInterval interval;
  interval.start_ms = interval_start_ms_;
  interval.end_ms = now_ms;
  interval_start_ms_ = now_ms;
  for (Stripe& stripe : stripes_) {
    CountsMap taken;
    {
      common::MutexLock lock(stripe.mu);
      taken.swap(stripe.counts);
      keys_.fetch_sub(taken.size(), std::memory_order_relaxed);
    }
    while (!taken.empty()) {
      auto node = taken.extract(taken.begin());  // a node's key may be moved from
      interval.rows.push_back(UsageRow{std::move(node.key().endpoint), std::move(node.key().dataset),
                                       std::move(node.key().tenant), node.mapped()});
    }
  }
  std::sort(interval.rows.begin(), interval.rows.end(), [](const UsageRow& a, const UsageRow& b) {
    return std::tie(a.endpoint, a.dataset, a.tenant) < std::tie(b.endpoint, b.dataset, b.tenant);
  });
  return interval;
}

}  // namespace dram::usage
