#pragma once

#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/docs_examples.h"
#include "api/serving_state.h"
#include "common/mutex.h"
#include "http/message.h"
#include "http/server.h"

namespace dram::api {

// The Content-Security-Policy of the page: its own scripts only (Redoc and the script that starts
// it), no request to any other origin (Redoc's footer logo on a CDN is blocked), Redoc's styles
// (styled-components injects them), its search index in a blob: worker, and no framing.
inline constexpr std::string_view kDocsContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The page's HTML: the OpenAPI document `openapi_json` embedded as data (every '<' escaped, so
// no text in it can end the element) and the scripts at `redoc_src` and `init_src`.
std::string DocsHtml(std::string_view openapi_json, std::string_view redoc_src, std::string_view init_src);

// The API reference page: GET /docs (the OpenAPI document with examples, rendered in the browser
// by Redoc, which the binary carries) and its scripts under /docs/assets/ (content-addressed
// names, cached for a year). Pages are built on a thread of the page's own, which also takes
// the examples (queries), so a port's IO thread never waits for them. Thread-safe. Owned by the
// server; the ports that serve it borrow it.
class DocsPage {
 public:
  // `example_timeout` bounds each example call; `https`: the API port speaks TLS.
  DocsPage(std::chrono::milliseconds example_timeout, bool https);
  ~DocsPage();
  DocsPage(const DocsPage&) = delete;
  DocsPage& operator=(const DocsPage&) = delete;

  // Where the API port listens (its port once bound), for the example requests' URLs. A
  // wildcard host (0.0.0.0, ::) is replaced by the host the reader asked for.
  void SetApiAddress(std::string host, uint16_t port);

  // Takes the examples of `state`'s routes in the background, so the page is ready before it
  // is first asked for (the server calls it at start).
  void Prepare(std::shared_ptr<const ServingState> state);

  // Whether `path` is the page or under its assets.
  static bool Serves(std::string_view path);

  // Answers a GET or HEAD of a path Serves(): the page for `state` as `audience` may see it, an
  // asset, or 404 for an unknown asset.
  void Handle(const http::Request& request, std::shared_ptr<const ServingState> state, DocsAudience audience,
              http::Responder responder);

  // Waits for the pages and examples being built; call after the ports stopped.
  void Drain();

 private:
  http::Response Page(const ServingState& state, DocsAudience audience, std::string_view request_host);
  std::string ApiBaseUrl(std::string_view request_host);

  const bool https_;
  const std::shared_ptr<const http::SharedBytes> redoc_;
  const std::shared_ptr<const http::SharedBytes> init_;
  const std::string redoc_path_;  // "/docs/assets/redoc-<hash>.js"
  const std::string init_path_;
  common::Mutex mu_;
  std::string api_host_ GUARDED_BY(mu_);
  uint16_t api_port_ GUARDED_BY(mu_) = 0;
  DocsExamples examples_;  // used on worker_'s thread only
  boost::asio::thread_pool worker_{1};
};

}  // namespace dram::api
