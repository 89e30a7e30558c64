#include "http/server.h"

#include <utility>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>
#include <atomic>
#include <thread>

#include "common/barrier.h"
#include "common/json_text.h"
#include "common/log.h"
#include "http/gzip.h"

namespace dram::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// Request smuggling: a proxy in front and dram must agree on where a request ends. RFC 9112
// §6.1: a Transfer-Encoding other than exactly `chunked` (gzip, xchunked, "chunked, identity")
// must be answered 400 and the connection closed, not read as a body-less request whose body is
// then taken for a second request. An HTTP/1.1 request names exactly one Host (§3.2).
std::string_view FramingError(const bhttp::request<bhttp::string_body>& message) {
  size_t encodings = 0;
  auto [first, last] = message.base().equal_range(bhttp::field::transfer_encoding);
  for (auto field = first; field != last; ++field) {
    ++encodings;
    std::string_view value = field->value();
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (!beast::iequals(value, "chunked")) return "unsupported transfer encoding";
  }
  if (encodings > 1) return "unsupported transfer encoding";
  auto hosts = message.base().equal_range(bhttp::field::host);
  size_t host_count = static_cast<size_t>(std::distance(hosts.first, hosts.second));
  if (message.version() >= 11 ? host_count != 1 : host_count > 1) return "a request needs exactly one Host header";
  return {};
}

bool AcceptsGzip(std::string_view accept_encoding) {
  // Enough for real clients: "gzip" listed and not explicitly refused with q=0.
  size_t pos = accept_encoding.find("gzip");
  if (pos == std::string_view::npos) return false;
  std::string_view rest = accept_encoding.substr(pos + 4);
  size_t comma = rest.find(',');
  std::string_view params = rest.substr(0, comma);
  return params.find("q=0") == std::string_view::npos || params.find("q=0.") != std::string_view::npos;
}

std::string_view CorsOrigin(const std::vector<std::string>& allowed, std::string_view origin) {
  if (origin.empty()) return {};
  for (const auto& entry : allowed) {
    if (entry == "*") return "*";
    if (entry == origin) return origin;
  }
  return {};
}

// Out of file descriptors (EMFILE/ENFILE) the pending connection stays in the backlog and an
// immediate retry fails again: without a pause the accept loop spins a core and starves the
// requests in progress. 100 ms is long against a retry loop, short against a client's connect.
constexpr std::chrono::milliseconds kAcceptBackoff{100};
constexpr std::chrono::milliseconds kDrainPoll{10};

}  // namespace

size_t DefaultMaxConnections() {
  constexpr size_t kMinReserve = 64;
  constexpr size_t kMinConnections = 16;
  constexpr size_t kUnlimited = 100'000;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return kUnlimited;
  const auto soft = static_cast<size_t>(limit.rlim_cur);
  const size_t reserve = std::max(kMinReserve, soft / 4);
  return std::min(kUnlimited, soft > reserve + kMinConnections ? soft - reserve : kMinConnections);
}

namespace internal {

class ServerImpl {
 public:
  ServerImpl(const ServerOptions& options, Handler& handler)
      : options_(options), handler_(handler),
        max_connections_(options.max_connections > 0 ? options.max_connections : DefaultMaxConnections()) {}

  Status Listen() {
    if (!options_.tls_cert_file.empty()) {
      ssl_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      ssl_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      beast::error_code ec;
      ssl_->use_certificate_chain_file(options_.tls_cert_file, ec);
      if (ec) return InvalidArgument("cannot load TLS certificate", options_.tls_cert_file);
      ssl_->use_private_key_file(options_.tls_key_file, asio::ssl::context::pem, ec);
      if (ec) return InvalidArgument("cannot load TLS private key", options_.tls_key_file);
    }
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
    }
    beast::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return InvalidArgument("bad listen address", options_.host);
    acceptor_ = std::make_unique<tcp::acceptor>(*contexts_[0]);
    tcp::endpoint endpoint(address, options_.port);
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port), ec.message());
    port_ = acceptor_->local_endpoint().port();
    accept_timer_ = std::make_unique<asio::steady_timer>(*contexts_[0]);
    Accept();
    for (auto& context : contexts_) {
      threads_.emplace_back([&context] { common::RunLoopBarrier("io thread", [&context] { context->run(); }); });
    }
    return Status::Ok();
  }

  // Stops accepting, waits (up to drain_timeout) until every request handed to the handler has
  // its response written, then stops the IO threads, which closes idle keep-alive connections.
  void Stop() {
    if (stopped_.exchange(true)) return;
    if (acceptor_) {
      asio::post(*contexts_[0], [this] {
        beast::error_code ec;
        acceptor_->close(ec);
        accept_timer_->cancel();
      });
    }
    const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
    while (!threads_.empty() && in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(kDrainPoll);
    }
    if (int64_t left = in_flight_.load(); left > 0) {
      common::Log(common::LogLevel::kWarn, "stopping with requests unanswered after the drain timeout",
                  "\"requests\":" + std::to_string(left));
    }
    for (auto& guard : guards_) guard.reset();
    for (auto& context : contexts_) context->stop();
    for (auto& thread : threads_) thread.join();
  }

  ~ServerImpl() { Stop(); }

  uint16_t port() const { return port_; }
  const ServerOptions& options() const { return options_; }
  Handler& handler() { return handler_; }
  bool stopping() const { return stopped_.load(); }

  // Bookkeeping of the sessions: connections open, and requests handed to the handler whose
  // response is not written yet (what Stop() drains).
  void ConnectionOpened() { connections_.fetch_add(1); }
  void ConnectionClosed();
  void RequestStarted() { in_flight_.fetch_add(1); }
  void RequestDone() { in_flight_.fetch_sub(1); }

 private:
  void Accept();
  void AcceptLater(const beast::error_code& ec);

  // First: destroyed last, after the sessions that the io_contexts' destruction releases.
  std::atomic<size_t> connections_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> accept_paused_{false};  // at max_connections: resumed when one closes
  std::atomic<bool> stopped_{false};
  ServerOptions options_;
  Handler& handler_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<asio::ssl::context> ssl_;  // set when the server speaks TLS
  std::unique_ptr<asio::steady_timer> accept_timer_;  // the backoff; on contexts_[0]
  std::chrono::steady_clock::time_point last_accept_error_log_;  // contexts_[0]'s thread only
  const size_t max_connections_;
  size_t next_context_ = 0;
  uint16_t port_ = 0;
};

// A connection's socket and timer on its own io_context's executor type, not beast::tcp_stream's
// type-erased any_io_executor: copying, moving and destroying that executor in every operation
// was ~1.7% of a cached request's CPU (perf).
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using PlainStream = beast::basic_stream<tcp, asio::io_context::executor_type>;

// One connection. Stream is PlainStream, or an ssl_stream over one for TLS.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Socket socket, ServerImpl& server) : stream_(std::move(socket)), server_(server) { server_.ConnectionOpened(); }
  Session(Socket socket, asio::ssl::context& ssl, ServerImpl& server) : stream_(std::move(socket), ssl), server_(server) {
    server_.ConnectionOpened();
  }
  ~Session() {
    EndRequest();  // a handler that never answered
    server_.ConnectionClosed();
  }

  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(server_.options().read_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->Close();
        self->Read(false);
      });
    } else {
      Read(false);
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, PlainStream>;
  PlainStream& Lowest() { return beast::get_lowest_layer(stream_); }
  auto shared_from_this() { return std::enable_shared_from_this<Session<Stream>>::shared_from_this(); }

  void Read(bool keep_alive_wait) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options().max_header_bytes));
    parser_->body_limit(server_.options().max_body_bytes);
    Lowest().expires_after(keep_alive_wait ? server_.options().idle_timeout : server_.options().read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) return SendError(431, "request headers too large");
    if (ec == bhttp::error::body_limit) return SendError(413, "request body too large");
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted) {
      return Close();
    }
    if (ec) return SendError(400, "malformed request");
    Lowest().expires_never();
    auto& message = parser_->get();
    if (std::string_view framing = FramingError(message); !framing.empty()) return SendError(400, framing);
    keep_alive_ = message.keep_alive();
    Request request;
    request.method = std::string(message.method_string());
    std::string_view target = message.target();
    size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
    request.headers.reserve(8);
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;  // ASCII (tolower asks the locale per char)
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.body = std::move(message.body());
    // The peer of a connection never changes: asked once (getpeername was one of the three
    // syscalls of every cached request, measured with strace -c).
    if (!remote_known_) {
      beast::error_code endpoint_ec;
      auto remote = Lowest().socket().remote_endpoint(endpoint_ec);
      if (!endpoint_ec) remote_address_ = remote.address().to_string();
      remote_known_ = true;
    }
    request.remote_address = remote_address_;
    accept_gzip_ = AcceptsGzip(request.Header("accept-encoding"));
    origin_ = std::string(request.Header("origin"));
    head_ = request.method == "HEAD";

    auto self = shared_from_this();
    request_open_ = true;
    server_.RequestStarted();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Responder responder = [self, answered](Response response) {
      if (answered->exchange(true)) return;  // after the barrier's 500: the connection has its answer
      asio::dispatch(self->stream_.get_executor(),
                     [self, response = std::move(response)]() mutable { self->Write(std::move(response)); });
    };
    // Last resort: a handler bug must not take the server down.
    if (common::RunBarrier("http handler", "", [&] { server_.handler().Handle(std::move(request), std::move(responder)); })) return;
    if (!answered->exchange(true)) SendError(500, "internal error");
  }

  void SendError(int status, std::string_view message) {
    Response response;
    response.status = status;
    response.tail = "{\"error\":{\"code\":\"" + std::string(status == 500 ? "internal" : "bad_request") +
                    "\",\"message\":\"" + std::string(message) + "\"}}";
    keep_alive_ = false;
    Write(std::move(response));
  }

  // Serializes the status line and headers ourselves and sends them with the body segments in
  // one gathered write: Beast's generic serializer cost ~10% of a cached request's CPU.
  void Write(Response response) {
    const ServerOptions& options = server_.options();
    std::string& head = head_text_;
    head.clear();
    head += "HTTP/1.1 ";
    AppendNumber(head, response.status);
    head += ' ';
    head += bhttp::obsolete_reason(static_cast<bhttp::status>(response.status));
    head += "\r\nServer: dram\r\n";
    if (!response.content_type.empty()) AppendHeader(head, "Content-Type", response.content_type);
    head += response.header_lines;
    std::string_view cors = CorsOrigin(options.cors_origins, origin_);
    if (!cors.empty()) {
      AppendHeader(head, "Access-Control-Allow-Origin", cors);
      AppendHeader(head, "Access-Control-Expose-Headers", "ETag, X-Request-Id, X-Cache, X-Snapshot-Id");
    }
    // Caches in front must key on every request header the body depended on: the format
    // (Accept), the encoding (Accept-Encoding, also when this client got the identity body) and a
    // CORS origin echoed back.
    const bool varies_by_encoding = response.compressible && response.body_size() >= options.gzip_min_bytes;
    const bool varies_by_origin = !cors.empty() && cors != "*";
    if (response.varies_by_accept || varies_by_encoding || varies_by_origin) {
      head += "Vary: ";
      const char* separator = "";
      if (response.varies_by_accept) head += std::exchange(separator, ", "), head += "Accept";
      if (varies_by_encoding) head += std::exchange(separator, ", "), head += "Accept-Encoding";
      if (varies_by_origin) head += std::exchange(separator, ", "), head += "Origin";
      head += "\r\n";
    }
    if (varies_by_encoding && accept_gzip_) {
      body_tail_ = GzipBody(response);
      body_shared_.reset();
      AppendHeader(head, "Content-Encoding", "gzip");
    } else {
      body_shared_ = std::move(response.shared);
      body_tail_ = std::move(response.tail);
    }
    size_t body_size = (body_shared_ ? body_shared_->bytes().size() : 0) + body_tail_.size();
    bool bodiless_status = response.status == 204 || response.status == 304;
    if (!bodiless_status) {
      head += "Content-Length: ";
      AppendNumber(head, body_size);
      head += "\r\n";
    }
    // Stopping: this response is the connection's last, so the drain is not extended by new requests.
    if (server_.stopping()) keep_alive_ = false;
    if (!keep_alive_) head += "Connection: close\r\n";
    head += "\r\n";
    std::array<asio::const_buffer, 3> buffers = {asio::buffer(head), asio::const_buffer(), asio::const_buffer()};
    if (!head_ && !bodiless_status) {
      if (body_shared_) buffers[1] = asio::buffer(body_shared_->bytes());
      buffers[2] = asio::buffer(body_tail_);
    }
    Lowest().expires_after(options.idle_timeout);  // a client that stops reading cannot hold us forever
    asio::async_write(stream_, buffers, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->body_shared_.reset();
      self->EndRequest();
      if (ec) return self->Close();
      if (!self->keep_alive_) return self->LingerClose();
      self->Read(true);
    });
  }

  void EndRequest() {
    if (!request_open_) return;
    request_open_ = false;
    server_.RequestDone();
  }

  static void AppendNumber(std::string& out, size_t value) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
    out.append(digits, end);
  }
  static void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }

  // Stops sending. Over TLS this skips close_notify: every response is length-delimited, so a
  // client cannot mistake the end of the connection for the end of a body.
  void Close() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // Closing a socket with unread input makes the kernel send a reset, which can destroy the
  // response still in flight (a 413/431 sent mid-request). So: stop sending, then read and drop
  // what the client still sends, for a bounded time, before the socket closes (nginx's
  // lingering close).
  void LingerClose() {
    Close();
    Lowest().expires_after(kLingerTime);
    Drain();
  }
  void Drain() {
    Lowest().async_read_some(asio::buffer(linger_buffer_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->Drain();
    });
  }
  static constexpr std::chrono::seconds kLingerTime{2};
  std::array<char, 4096> linger_buffer_;

  Stream stream_;
  ServerImpl& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string head_text_;                           // status line and headers of the response being sent
  std::shared_ptr<const SharedBytes> body_shared_;  // kept alive until the write completes
  std::string body_tail_;
  bool keep_alive_ = false;
  bool request_open_ = false;  // handed to the handler, response not yet written
  bool accept_gzip_ = false;
  bool head_ = false;
  std::string origin_;
  std::string remote_address_;  // the peer's address, asked once per connection
  bool remote_known_ = false;
};

// Runs on contexts_[0]'s thread (the acceptor's).
void ServerImpl::Accept() {
  if (stopped_ || !acceptor_->is_open()) return;
  if (connections_.load() >= max_connections_) {
    // At the cap: further connections wait in the listen backlog until one closes.
    accept_paused_ = true;
    // A connection may have closed between the check and the flag, and seen no pause: look again.
    if (connections_.load() >= max_connections_ || !accept_paused_.exchange(false)) return;
  }
  auto& context = *contexts_[next_context_++ % contexts_.size()];
  acceptor_->async_accept(context, [this](beast::error_code ec, Socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
    if (ec) return AcceptLater(ec);
    {
      socket.set_option(tcp::no_delay(true), ec);
      if (ssl_) {
        std::make_shared<Session<beast::ssl_stream<PlainStream>>>(std::move(socket), *ssl_, *this)->Start();
      } else {
        std::make_shared<Session<PlainStream>>(std::move(socket), *this)->Start();
      }
    }
    Accept();
  });
}

void ServerImpl::AcceptLater(const beast::error_code& ec) {
  constexpr std::chrono::seconds kLogEvery{10};
  const auto now = std::chrono::steady_clock::now();
  if (now - last_accept_error_log_ >= kLogEvery) {
    last_accept_error_log_ = now;
    std::string fields = "\"error\":";
    common::AppendJsonString(fields, ec.message());
    common::Log(common::LogLevel::kError, "cannot accept connections (backing off)", fields);
  }
  accept_timer_->expires_after(kAcceptBackoff);
  accept_timer_->async_wait([this](const beast::error_code& wait_ec) {
    if (!wait_ec) Accept();
  });
}

void ServerImpl::ConnectionClosed() {
  connections_.fetch_sub(1);
  if (stopped_ || !accept_paused_.load() || !accept_paused_.exchange(false)) return;
  asio::post(*contexts_[0], [this] { Accept(); });
}

}  // namespace internal

Server::Server(std::unique_ptr<internal::ServerImpl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, Handler& handler) {
  auto impl = std::make_unique<internal::ServerImpl>(options, handler);
  RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->port(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace dram::http
