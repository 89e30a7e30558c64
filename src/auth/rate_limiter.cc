#include "auth/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace dram::auth {

std::optional<int64_t> RateLimiter::Acquire(const std::string& key, double per_minute, double burst,
                                            std::chrono::steady_clock::time_point now) {
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  double per_second = per_minute / 60.0;
  auto found = shard.buckets.find(key);
  if (found == shard.buckets.end()) {
    if (shard.buckets.size() >= max_buckets_ / kShards) {
      // Full: drop buckets that have refilled completely; they hold no state worth keeping.
      std::erase_if(shard.buckets, [&](const auto& entry) {
        double elapsed = std::chrono::duration<double>(now - entry.second.updated).count();
        return entry.second.tokens + elapsed * per_second >= burst;
      });
    }
    found = shard.buckets.emplace(key, Bucket{burst, now}).first;
  }
  Bucket& bucket = found->second;
  double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.tokens = std::min(burst, bucket.tokens + elapsed * per_second);
  bucket.updated = now;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return std::nullopt;
  }
  return static_cast<int64_t>(std::ceil((1.0 - bucket.tokens) / per_second));
}

}  // namespace dram::auth
