#include "api/fair_dispatcher.h"

#include <utility>

namespace dram::api {

FairDispatcher::FairDispatcher(Runner run, size_t slots, size_t share)
    : run_(std::move(run)), slots_(slots == 0 ? 1 : slots), share_(share == 0 || share >= slots ? slots : share) {}

bool FairDispatcher::MayStart(const Pool& pool, const std::string& key, const Tenant& tenant) const {
  return pool.running < slots_ && (key.empty() || tenant.running < share_);
}

void FairDispatcher::Submit(const void* pool_id, const std::string& key, std::function<void()> job) {
  {
    common::MutexLock lock(mu_);
    Pool& pool = pools_[pool_id];
    Tenant& tenant = pool.tenants[key];
    // Nobody jumps a tenant's own queue; other tenants' waiting jobs cannot start anyway (or
    // they would have been started when the connection they wait for was freed).
    if (!tenant.waiting.empty() || !MayStart(pool, key, tenant)) {
      tenant.waiting.push_back(std::move(job));
      return;
    }
    ++pool.running;
    ++tenant.running;
  }
  run_(std::move(job));
}

void FairDispatcher::Done(const void* pool_id, const std::string& key) {
  std::vector<std::function<void()>> ready;
  {
    common::MutexLock lock(mu_);
    auto found = pools_.find(pool_id);
    if (found == pools_.end()) return;
    Pool& pool = found->second;
    --pool.running;
    if (auto tenant = pool.tenants.find(key); tenant != pool.tenants.end()) --tenant->second.running;
    while (auto next = NextLocked(pool)) ready.push_back(std::move(next));
    // Forget idle tenants and pools (snapshots come and go; tenants are unbounded).
    for (auto it = pool.tenants.begin(); it != pool.tenants.end();) {
      it = it->second.running == 0 && it->second.waiting.empty() ? pool.tenants.erase(it) : std::next(it);
    }
    if (pool.running == 0 && pool.tenants.empty()) pools_.erase(found);
  }
  for (auto& job : ready) run_(std::move(job));
}

std::function<void()> FairDispatcher::NextLocked(Pool& pool) {
  if (pool.running >= slots_ || pool.tenants.empty()) return nullptr;
  // Round-robin: the first tenant after the one served last, wrapping around.
  auto start = pool.tenants.upper_bound(pool.last_served);
  for (size_t step = 0; step < pool.tenants.size(); ++step) {
    if (start == pool.tenants.end()) start = pool.tenants.begin();
    Tenant& tenant = start->second;
    if (!tenant.waiting.empty() && MayStart(pool, start->first, tenant)) {
      std::function<void()> job = std::move(tenant.waiting.front());
      tenant.waiting.pop_front();
      ++tenant.running;
      ++pool.running;
      pool.last_served = start->first;
      return job;
    }
    ++start;
  }
  return nullptr;
}

size_t FairDispatcher::running(const void* pool) const {
  common::MutexLock lock(mu_);
  auto found = pools_.find(pool);
  return found == pools_.end() ? 0 : found->second.running;
}

size_t FairDispatcher::waiting(const void* pool) const {
  common::MutexLock lock(mu_);
  auto found = pools_.find(pool);
  size_t count = 0;
  if (found != pools_.end()) {
    for (const auto& [key, tenant] : found->second.tenants) count += tenant.waiting.size();
  }
  return count;
}

}  // namespace dram::api
