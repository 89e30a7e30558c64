#include "auth/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace dram::auth {

RateLimiter::RateLimiter(size_t max_buckets, size_t shards)
    : per_shard_(std::max<size_t>(1, max_buckets / std::max<size_t>(1, shards))), shards_(std::max<size_t>(1, shards)) {}

bool RateLimiter::Bucket::FullAt(Clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - updated).count();
  return tokens + elapsed * per_second >= burst;
}

// Dropping a full bucket loses nothing (a new one starts full). When none is full, the least
// recently used bucket goes: its caller regains at most what its refill had not reached yet, and
// to evict a given caller's bucket an attacker must cycle a whole shard of other identities
// (valid keys or tenants) faster than that caller calls.
void RateLimiter::Evict(Shard& shard, Clock::time_point now) const {
  std::erase_if(shard.buckets, [&](const auto& entry) { return entry.second.FullAt(now); });
  if (shard.buckets.size() < per_shard_) return;
  auto oldest = std::min_element(shard.buckets.begin(), shard.buckets.end(),
                                 [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
  shard.buckets.erase(oldest);
}

std::optional<int64_t> RateLimiter::Acquire(const std::string& key, double per_minute, double burst, Clock::time_point now) {
  Shard& shard = shards_[std::hash<std::string>{}(key) % shards_.size()];
  common::MutexLock lock(shard.mu);
  double per_second = per_minute / 60.0;
  auto found = shard.buckets.find(key);
  if (found == shard.buckets.end()) {
    if (shard.buckets.size() >= per_shard_) Evict(shard, now);
    found = shard.buckets.emplace(key, Bucket{burst, now, per_second, burst}).first;
  }
  Bucket& bucket = found->second;
  double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.tokens = std::min(burst, bucket.tokens + elapsed * per_second);
  bucket.updated = now;
  bucket.per_second = per_second;
  bucket.burst = burst;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return std::nullopt;
  }
  return static_cast<int64_t>(std::ceil((1.0 - bucket.tokens) / per_second));
}

size_t RateLimiter::size() const {
  size_t total = 0;
  for (const auto& shard : shards_) {
    common::MutexLock lock(shard.mu);
    total += shard.buckets.size();
  }
  return total;
}

}  // namespace dram::auth
