#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"

namespace dram::auth {

// Token buckets keyed by caller (key id, tenant, …): `per_minute` tokens refill continuously,
// up to a burst of `burst` tokens. Sharded. Memory is bounded: at most `max_buckets` buckets
// (split evenly over the shards). A shard at its bound first drops buckets that have refilled
// (they hold no state), then the least recently used one, whose refill is the furthest along;
// a new caller is never refused or let through for lack of room. Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(size_t max_buckets = 100'000, size_t shards = kDefaultShards);

  // Takes one token for `key`; nullopt when allowed, else the seconds until one is available.
  std::optional<int64_t> Acquire(const std::string& key, double per_minute, double burst,
                                 std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  // Buckets held now (for tests and metrics).
  size_t size() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Bucket {
    double tokens;
    Clock::time_point updated;
    double per_second;  // the rate and burst it was last used with: decide when it is full
    double burst;
    bool FullAt(Clock::time_point now) const;
  };
  struct Shard {
    mutable common::Mutex mu;
    std::unordered_map<std::string, Bucket> buckets GUARDED_BY(mu);
  };
  static constexpr size_t kDefaultShards = 16;
  // Makes room for one more bucket in a shard at its bound.
  void Evict(Shard& shard, Clock::time_point now) const REQUIRES(shard.mu);

  const size_t per_shard_;
  std::vector<Shard> shards_;
};

}  // namespace dram::auth
