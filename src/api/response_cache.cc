#include "api/response_cache.h"

#include <functional>

namespace dram::api {

ResponseCache::ResponseCache(size_t max_bytes) : max_bytes_(max_bytes), shards_(kShards) {}

ResponseCache::Shard& ResponseCache::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

std::shared_ptr<const CachedResponse> ResponseCache::Get(const std::string& key) {
  Shard& shard = ShardFor(key);
  common::MutexLock lock(shard.mu);
  auto found = shard.index.find(key);
  if (found == shard.index.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return found->second->second;
}

void ResponseCache::Put(const std::string& key, std::shared_ptr<const CachedResponse> value) {
  size_t cost = Cost(key, *value);
  const size_t shard_budget = max_bytes_ / kShards;
  if (cost > max_bytes_ / 8 || cost > shard_budget) return;
  Shard& shard = ShardFor(key);
  common::MutexLock lock(shard.mu);
  if (auto found = shard.index.find(key); found != shard.index.end()) {
    auto entry = found->second;
    shard.index.erase(found);  // before the list node that owns the key's bytes
    shard.bytes -= Cost(entry->first, *entry->second);
    shard.lru.erase(entry);
  }
  shard.lru.emplace_front(key, std::move(value));
  shard.index.emplace(shard.lru.front().first, shard.lru.begin());
  shard.bytes += cost;
  while (shard.bytes > shard_budget && shard.lru.size() > 1) {
    auto& victim = shard.lru.back();
    shard.bytes -= Cost(victim.first, *victim.second);
    shard.index.erase(victim.first);
    shard.lru.pop_back();
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
}

void ResponseCache::EraseDataset(const std::string& dataset) {
  for (Shard& shard : shards_) {
    common::MutexLock lock(shard.mu);
    for (auto it = shard.lru.begin(); it != shard.lru.end();) {
      if (it->second->dataset == dataset) {
        shard.bytes -= Cost(it->first, *it->second);
        shard.index.erase(it->first);
        it = shard.lru.erase(it);
      } else {
        ++it;
      }
    }
  }
}

size_t ResponseCache::bytes() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    common::MutexLock lock(shard.mu);
    total += shard.bytes;
  }
  return total;
}

size_t ResponseCache::entries() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    common::MutexLock lock(shard.mu);
    total += shard.lru.size();
  }
  return total;
}

}  // namespace dram::api
