#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "dram/status.h"
#include "http/message.h"

namespace dram::http {

// Delivers the response to a request. Call exactly once, from any thread.
using Responder = std::function<void(Response)>;

// What a server serves. Handle() runs on an IO thread and must not block: answer at once, or
// hand the work to another thread and call the responder from there.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void Handle(Request request, Responder responder) = 0;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  int io_threads = 1;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds read_timeout{10'000};  // to receive a whole request
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
  size_t gzip_min_bytes = 1024;
  std::vector<std::string> cors_origins;           // "*" allows any origin
  std::string tls_cert_file;                       // PEM chain; set both to serve HTTPS only
  std::string tls_key_file;                        // PEM private key
  // Connections open at once; more wait in the listen backlog. 0: DefaultMaxConnections().
  size_t max_connections = 0;
  // Stop() lets requests already being handled finish for at most this long.
  std::chrono::milliseconds drain_timeout{10'000};
};

// Below the process's file descriptor limit (RLIMIT_NOFILE), leaving a quarter of it (at least
// 64) for snapshot files, downloads and the other port.
size_t DefaultMaxConnections();

namespace internal {
class ServerImpl;
}

// An HTTP/1.1 server (Boost.Beast) on its own IO threads, one io_context per thread; accepted
// connections are spread round-robin. Keep-alive, header/body limits (431/413), read and idle
// timeouts, gzip when the client accepts it and the body is at least gzip_min_bytes, CORS.
// At most max_connections connections; out of file descriptors, accepting backs off.
// Stop() (or the destructor) closes the listener, lets the requests being handled get their
// responses (up to drain_timeout), then closes every connection and joins the threads.
class Server {
 public:
  // Binds and starts serving. Errors: Unavailable when the address cannot be bound.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;
  void Stop();

 private:
  explicit Server(std::unique_ptr<internal::ServerImpl> impl);
  std::unique_ptr<internal::ServerImpl> impl_;
};

}  // namespace dram::http
