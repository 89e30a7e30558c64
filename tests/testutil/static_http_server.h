#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace dram::testing {

// A one-thread HTTP server on 127.0.0.1 that answers every request with the current body (e.g. a
// JWKS document), for tests of clients that fetch over HTTP. SetBody swaps what it serves;
// Stop() closes the port (clients then fail to connect).
class StaticHttpServer {
 public:
  explicit StaticHttpServer(std::string body);
  ~StaticHttpServer();
  StaticHttpServer(const StaticHttpServer&) = delete;
  StaticHttpServer& operator=(const StaticHttpServer&) = delete;

  int port() const { return port_; }
  void SetBody(std::string body);
  void Stop();
  int requests() const { return requests_.load(); }

 private:
  void Serve();
  int listen_fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::string body_;  // GUARDED_BY(mu_)
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace dram::testing
