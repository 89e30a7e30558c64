#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "common/mutex.h"
#include "dram/status.h"
#include "engine/connection.h"
#include "engine/database.h"

namespace dram::engine {

// A fixed set of connections to one Database, lent out one request at a time. Thread-safe.
// The pool owns its connections; the Database must outlive the pool.
class ConnectionPool {
 public:
  // A borrowed connection, returned to the pool when the lease dies.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) noexcept = delete;
    ~Lease() {
      if (connection_) pool_->Release(std::move(connection_), discard_);
    }
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }
    // The connection is not given back: a fresh one takes its place (it holds session state).
    void Discard() { discard_ = true; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
    bool discard_ = false;
  };

  // Errors: whatever Database::Connect returns.
  static Result<std::unique_ptr<ConnectionPool>> Create(Database& database, size_t size);

  // Waits up to `timeout` for a free connection. Unavailable when none frees up in time.
  Result<Lease> Acquire(std::chrono::milliseconds timeout);

  size_t size() const { return size_; }
  size_t in_use() const;

 private:
  ConnectionPool(Database& database, std::vector<std::unique_ptr<Connection>> connections);
  // `replace`: close `connection` and put a new one in its place (the pool shrinks by one, with
  // a log line, if connecting fails).
  void Release(std::unique_ptr<Connection> connection, bool replace);

  Database& database_;
  const size_t size_;
  mutable common::Mutex mu_;
  common::CondVar freed_;
  std::vector<std::unique_ptr<Connection>> free_ GUARDED_BY(mu_);
};

}  // namespace dram::engine
