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
};

namespace internal {
class ServerImpl;
}

// An HTTP/1.1 server (Boost.Beast) on its own IO threads, one io_context per thread; accepted
// connections are spread round-robin. Keep-alive, header/body limits (431/413), read and idle
// timeouts, gzip when the client accepts it and the body is at least gzip_min_bytes, CORS.
// Stop() (or the destructor) closes the listener and joins the threads.
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
