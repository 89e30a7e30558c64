#pragma once

#include <zlib.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dram::http {

// A request as handlers see it: owned strings, no Beast types.
struct Request {
  std::string method;   // "GET", "POST", …
  std::string path;     // decoded path without the query
  std::string query;    // raw query string (after '?'), still percent-encoded
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // lowercase names
  std::string remote_address;

  // The first header named `name` (lowercase), or empty.
  std::string_view Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return {};
  }
};

// Bytes shared by many responses (a cached body). Its gzip form is computed once, on first need,
// as a deflate stream ending at a byte boundary, so a per-response tail can be appended
// compressed without recompressing the shared part.
class SharedBytes {
 public:
  explicit SharedBytes(std::string bytes) : bytes_(std::move(bytes)) {}
  const std::string& bytes() const { return bytes_; }

  struct Deflated {
    std::string data;   // raw deflate blocks, not final, flushed to a byte boundary
    uLong crc = 0;      // crc32 of bytes()
  };
  const Deflated& deflated() const;

 private:
  std::string bytes_;
  mutable std::once_flag deflate_once_;
  mutable Deflated deflated_;
};

// A response: status, headers and a body made of an optional shared prefix plus an owned tail,
// written with one gathered write and never copied into one buffer.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  // Extra header lines, already serialized ("Name: value\r\n" each): one buffer, no per-header
  // allocations on the request path. Names and values must not contain CR or LF.
  std::string header_lines;
  std::shared_ptr<const SharedBytes> shared;  // may be null
  std::string tail;
  bool compressible = true;  // may be gzipped when the client accepts it and it is large enough
  bool varies_by_accept = false;  // the body's format was chosen from the Accept header

  size_t body_size() const { return (shared ? shared->bytes().size() : 0) + tail.size(); }
  void SetHeader(std::string_view name, std::string_view value) {
    header_lines.append(name).append(": ").append(value).append("\r\n");
  }
};

}  // namespace dram::http
