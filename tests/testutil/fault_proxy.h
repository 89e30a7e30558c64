#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dram::testing {

// What the proxy does to a matching exchange.
enum class Fault {
  kNone,
  kStatus503,    // answers 503 without asking the server
  kStatus500,
  kReset,        // closes the connection without an answer
  kTruncate,     // sends the headers and half the body, then closes
  kCorrupt,      // flips one byte in the middle of the body (same length)
  kWrongEtag,    // rewrites every ETag (headers and listing XML) to a different value
  kSlow,         // waits `delay` before answering
};

// A fault-injecting HTTP proxy on 127.0.0.1 in front of an S3 server, for tests of retries and
// integrity checks. It forwards each request unchanged (SigV4 stays valid: the client signed
// the proxy's Host) on a fresh upstream connection, reads the whole reply, and applies the
// current fault to matching exchanges: `method` ("" = any) and a substring of the target ("" =
// any), for the next `times` matches (-1 = until changed). One thread per connection, bounded by
// the tests' own request counts.
class FaultProxy {
 public:
  FaultProxy(std::string upstream_host, int upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Set(Fault fault, int times = -1, std::string method = "", std::string target_contains = "",
           std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  void Clear() { Set(Fault::kNone); }
  int faults_injected() const { return injected_.load(); }
  int requests() const { return requests_.load(); }

 private:
  void Accept();
  void Serve(int client);
  const std::string upstream_host_;
  const int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  Fault fault_ = Fault::kNone;
  int times_ = 0;
  std::string method_, target_contains_;
  std::chrono::milliseconds delay_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int> injected_{0}, requests_{0};
  std::thread acceptor_;
  std::mutex threads_mu_;
  std::vector<std::thread> threads_;
};

}  // namespace dram::testing
