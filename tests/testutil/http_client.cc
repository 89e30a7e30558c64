#include "testutil/http_client.h"

#include <zlib.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace dram::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

struct HttpClient::Impl {
  std::string host;
  int port;
  asio::io_context context;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::string bearer;  // sent as Authorization unless a request gives its own
};

HttpClient::HttpClient(std::string host, int port, std::string bearer)
    : impl_(new Impl{std::move(host), port, {}, {}, {}, std::move(bearer)}) {}
HttpClient::~HttpClient() { delete impl_; }

HttpResult HttpClient::Request(const std::string& method, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  HttpResult result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!impl_->stream) {
        impl_->stream.emplace(impl_->context);
        impl_->stream->expires_after(std::chrono::seconds(30));
        impl_->stream->connect(asio::ip::tcp::endpoint(asio::ip::make_address(impl_->host), static_cast<uint16_t>(impl_->port)));
        impl_->buffer.clear();
      }
      bhttp::request<bhttp::string_body> request(bhttp::string_to_verb(method), target, 11);
      request.set(bhttp::field::host, impl_->host);
      if (!impl_->bearer.empty()) request.set(bhttp::field::authorization, "Bearer " + impl_->bearer);
      for (const auto& [name, value] : headers) request.set(name, value);
      request.body() = body;
      request.prepare_payload();
      bhttp::write(*impl_->stream, request);
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(1 << 30);
      parser.skip(method == "HEAD");
      bhttp::read(*impl_->stream, impl_->buffer, parser);
      auto& response = parser.get();
      result.status = response.result_int();
      for (const auto& field : response) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        result.headers[name] = std::string(field.value());
      }
      result.body = std::move(response.body());
      if (!response.keep_alive()) impl_->stream.reset();
      return result;
    } catch (const std::exception& e) {
      // A kept-alive connection the server closed: reconnect once.
      impl_->stream.reset();
      result.error = e.what();
    }
  }
  result.status = 0;
  return result;
}

std::string Gunzip(const std::string& compressed) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return "";
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char chunk[16384];
  int status;
  do {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) {
      inflateEnd(&stream);
      return "";
    }
    out.append(chunk, sizeof(chunk) - stream.avail_out);
  } while (status != Z_STREAM_END);
  bool trailing = stream.avail_in != 0;
  inflateEnd(&stream);
  return trailing ? "" : out;
}

}  // namespace dram::testing
