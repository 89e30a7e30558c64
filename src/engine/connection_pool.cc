#include "engine/connection_pool.h"

#include "common/log.h"

namespace dram::engine {

ConnectionPool::ConnectionPool(Database& database, std::vector<std::unique_ptr<Connection>> connections)
    : database_(database), size_(connections.size()), free_(std::move(connections)) {}

Result<std::unique_ptr<ConnectionPool>> ConnectionPool::Create(Database& database, size_t size) {
  std::vector<std::unique_ptr<Connection>> connections;
  for (size_t i = 0; i < size; ++i) {
    ASSIGN_OR_RETURN(auto connection, database.Connect());
    connections.push_back(std::move(connection));
  }
  return std::unique_ptr<ConnectionPool>(new ConnectionPool(database, std::move(connections)));
}

Result<ConnectionPool::Lease> ConnectionPool::Acquire(std::chrono::milliseconds timeout) {
  common::MutexLock lock(mu_);
  if (!freed_.WaitFor(mu_, timeout, [this]() REQUIRES(mu_) { return !free_.empty(); })) {
    return Unavailable("no free database connection");
  }
  std::unique_ptr<Connection> connection = std::move(free_.back());
  free_.pop_back();
  return Lease(this, std::move(connection));
}

void ConnectionPool::Release(std::unique_ptr<Connection> connection, bool replace) {
  if (replace) {
    connection.reset();
    auto fresh = database_.Connect();
    if (!fresh.ok()) {
      common::Log(common::LogLevel::kError, "a pooled connection could not be replaced; the pool is one smaller", "");
      return;
    }
    connection = std::move(fresh).value();
  }
  {
    common::MutexLock lock(mu_);
    free_.push_back(std::move(connection));
  }
  freed_.NotifyOne();
}

size_t ConnectionPool::in_use() const {
  common::MutexLock lock(mu_);
  return size_ - free_.size();
}

}  // namespace dram::engine
