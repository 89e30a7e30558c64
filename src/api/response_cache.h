#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "http/message.h"

namespace dram::api {

// A response body computed once and served to many requests.
struct CachedResponse {
  std::shared_ptr<const http::SharedBytes> body;  // JSON: {"data":[…]  (the meta tail is per request)
  std::string dataset;
  int64_t row_count = 0;
  std::optional<int64_t> total;
  std::string generated_at;
  std::string snapshot_id;  // set when the rows came from several shards (ShardedAnswer)
  std::string shards_json;  // meta members saying which shard answered from where (ShardedAnswer::meta_json)
  size_t bytes() const { return body->bytes().size(); }
};

// A byte-bounded LRU of responses, sharded to keep lock hold times short. Keys already include
// the snapshot id, so a swap makes old entries unreachable; EraseDataset() frees them at once.
// Thread-safe.
class ResponseCache {
 public:
  explicit ResponseCache(size_t max_bytes);

  std::shared_ptr<const CachedResponse> Get(const std::string& key);
  // Entries larger than an eighth of the budget are not kept.
  void Put(const std::string& key, std::shared_ptr<const CachedResponse> value);
  void EraseDataset(const std::string& dataset);

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  size_t bytes() const;
  size_t entries() const;
  size_t max_bytes() const { return max_bytes_; }

 private:
  struct Shard {
    using Lru = std::list<std::pair<std::string, std::shared_ptr<const CachedResponse>>>;
    mutable common::Mutex mu;
    Lru lru GUARDED_BY(mu);  // front = most recent
    std::unordered_map<std::string_view, Lru::iterator> index GUARDED_BY(mu);
    size_t bytes GUARDED_BY(mu) = 0;
  };
  static constexpr size_t kShards = 16;
  static size_t Cost(const std::string& key, const CachedResponse& value) { return key.size() + value.bytes() + 128; }
  Shard& ShardFor(const std::string& key);

  const size_t max_bytes_;
  std::vector<Shard> shards_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace dram::api
