#include "engine/connection_pool.h"

namespace dram::engine {

ConnectionPool::ConnectionPool(std::vector<std::unique_ptr<Connection>> connections)
    : size_(connections.size()), free_(std::move(connections)) {}

Result<std::unique_ptr<ConnectionPool>> ConnectionPool::Create(Database& database, size_t size) {
  std::vector<std::unique_ptr<Connection>> connections;
  for (size_t i = 0; i < size; ++i) {
    ASSIGN_OR_RETURN(auto connection, database.Connect());
    connections.push_back(std::move(connection));
  }
  return std::unique_ptr<ConnectionPool>(new ConnectionPool(std::move(connections)));
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

void ConnectionPool::Release(std::unique_ptr<Connection> connection) {
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
