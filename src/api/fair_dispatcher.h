#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/mutex.h"

namespace dram::api {

// Decides when a query may take one of a pool's connections, so that one tenant cannot hold them
// all: a tenant runs at most `share` queries on a pool at once, and when a connection frees up the
// waiting tenants are served round-robin (in arrival order within a tenant), not in arrival order
// overall. Callers without a tenant (key "") form one class with no share limit.
//
// Jobs are handed to `run` (e.g. a post to the worker pool) only when a connection is free for
// them, so a worker never waits on the pool. Each job must call Done(pool, key) exactly once when
// it has released its connection. Thread-safe.
class FairDispatcher {
 public:
  using Runner = std::function<void(std::function<void()>)>;
  // `slots`: connections per pool; `share`: per-tenant bound (0 or ≥ slots: none).
  FairDispatcher(Runner run, size_t slots, size_t share);
  FairDispatcher(const FairDispatcher&) = delete;
  FairDispatcher& operator=(const FairDispatcher&) = delete;

  // `pool` identifies the pool (a snapshot's), `key` the tenant.
  void Submit(const void* pool, const std::string& key, std::function<void()> job);
  void Done(const void* pool, const std::string& key);

  // Queries running and waiting on `pool`, for tests and status.
  size_t running(const void* pool) const;
  size_t waiting(const void* pool) const;

 private:
  struct Tenant {
    size_t running = 0;
    std::deque<std::function<void()>> waiting;
  };
  struct Pool {
    size_t running = 0;
    std::map<std::string, Tenant> tenants;
    std::string last_served;  // the round-robin cursor: the tenant served last
  };
  bool MayStart(const Pool& pool, const std::string& key, const Tenant& tenant) const;
  // Pops the next waiting job that may start (round-robin after the cursor), counting it.
  std::function<void()> NextLocked(Pool& pool) REQUIRES(mu_);

  Runner run_;
  const size_t slots_;
  const size_t share_;
  mutable common::Mutex mu_;
  std::map<const void*, Pool> pools_ GUARDED_BY(mu_);
};

}  // namespace dram::api
