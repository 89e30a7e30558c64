#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dram::auth {

// Token buckets keyed by caller (key id, tenant, …): `per_minute` tokens refill continuously,
// up to a burst of `burst` tokens. Sharded; memory bounded by evicting idle buckets. Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(size_t max_buckets = 100'000) : max_buckets_(max_buckets), shards_(kShards) {}

  // Takes one token for `key`; nullopt when allowed, else the seconds until one is available.
  std::optional<int64_t> Acquire(const std::string& key, double per_minute, double burst,
                                 std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
  };
  static constexpr size_t kShards = 16;
  const size_t max_buckets_;
  std::vector<Shard> shards_;
};

}  // namespace dram::auth
