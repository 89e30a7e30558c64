#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dram::testing {

struct HttpResult {
  int status = 0;  // 0: the request failed at the transport level
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string error;
  std::string Header(const std::string& name) const {
    auto found = headers.find(name);
    return found == headers.end() ? "" : found->second;
  }
};

// A blocking HTTP/1.1 client over loopback for tests, one connection kept alive. Not thread-safe:
// one per thread.
class HttpClient {
 public:
  // `bearer`: a token sent as `Authorization: Bearer …` with every request (e.g. the admin
  // token), unless a request sets its own Authorization.
  HttpClient(std::string host, int port, std::string bearer = "");
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult Request(const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {}, const std::string& body = "");
  HttpResult Get(const std::string& target, const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return Request("GET", target, headers);
  }

 private:
  struct Impl;
  Impl* impl_;
};

// Inflates a gzip body; empty on error.
std::string Gunzip(const std::string& compressed);

}  // namespace dram::testing
