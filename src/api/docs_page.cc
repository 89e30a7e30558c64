#include "api/docs_page.h"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <cctype>

#include "api/error_response.h"
#include "api/guarded_job.h"
#include "api/internal/docs_assets.h"
#include "api/openapi.h"
#include "common/barrier.h"
#include "common/hash.h"

namespace dram::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kPagePath = "/docs";
constexpr std::string_view kAssetsPrefix = "/docs/assets/";

// Starts Redoc on the document the page carries, so the page makes no request for it (and the
// admin port's rules on tokens and origins apply to the page request alone).
constexpr std::string_view kInitJs = R"js((function () {
  var spec = JSON.parse(document.getElementById('openapi').textContent);
  Redoc.init(spec, {
    expandResponses: '200',
    jsonSampleExpandLevel: 3,
    pathInMiddlePanel: true,
    requiredPropsFirst: true
  }, document.getElementById('redoc'));
})();
)js";

std::shared_ptr<const http::SharedBytes> Bytes(std::string_view text) {
  return std::make_shared<const http::SharedBytes>(std::string(text));
}

// "/docs/assets/<stem>-<content hash>.js": a new build's asset is a new name, so a browser may
// keep one for a year.
std::string AssetPath(std::string_view stem, std::string_view bytes) {
  return std::string(kAssetsPrefix) + std::string(stem) + "-" + common::Fnv1a64().Add(bytes).hex() + ".js";
}

http::Response Asset(const std::shared_ptr<const http::SharedBytes>& bytes) {
  http::Response response;
  response.content_type = "text/javascript; charset=utf-8";
  response.shared = bytes;
  response.SetHeader("Cache-Control", "public, max-age=31536000, immutable");
  response.SetHeader("X-Content-Type-Options", "nosniff");
  return response;
}

// The host part of a Host header, when it is a plain name or address; empty otherwise (it is
// written into the page's example commands, so nothing else is taken from it).
std::string HostName(std::string_view host_header) {
  std::string_view host = host_header;
  if (host.starts_with('[')) {
    size_t end = host.find(']');
    host = end == std::string_view::npos ? std::string_view() : host.substr(0, end + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '[' && c != ']' && c != ':') return "";
  }
  return std::string(host);
}

bool IsWildcard(std::string_view host) { return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]"; }

}  // namespace

std::string DocsHtml(std::string_view openapi_json, std::string_view redoc_src, std::string_view init_src) {
  std::string html =
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>dram API reference</title>\n<link rel=\"icon\" href=\"data:,\">\n"
      "<style>body{margin:0;padding:0}</style>\n</head>\n<body>\n<div id=\"redoc\"></div>\n"
      "<script type=\"application/json\" id=\"openapi\">";
  html.reserve(html.size() + openapi_json.size() + 256);
  // '<' only occurs inside JSON strings, where \u003c means the same character.
  for (char c : openapi_json) {
    if (c == '<') {
      html += "\\u003c";
    } else {
      html += c;
    }
  }
  html += "</script>\n<script src=\"";
  html += redoc_src;
  html += "\"></script>\n<script src=\"";
  html += init_src;
  html += "\"></script>\n</body>\n</html>\n";
  return html;
}

DocsPage::DocsPage(std::chrono::milliseconds example_timeout, bool https)
    : https_(https), redoc_(Bytes(internal::RedocStandaloneJs())), init_(Bytes(kInitJs)),
      redoc_path_(AssetPath("redoc", internal::RedocStandaloneJs())), init_path_(AssetPath("init", kInitJs)),
      examples_(example_timeout) {}

DocsPage::~DocsPage() { Drain(); }

void DocsPage::Drain() { worker_.join(); }

void DocsPage::SetApiAddress(std::string host, uint16_t port) {
  common::MutexLock lock(mu_);
  api_host_ = std::move(host);
  api_port_ = port;
}

void DocsPage::Prepare(std::shared_ptr<const ServingState> state) {
  boost::asio::post(worker_, [this, state = std::move(state)] {
    common::RunBarrier("docs examples", "", [&] { examples_.Update(*state); });
  });
}

bool DocsPage::Serves(std::string_view path) { return path == kPagePath || path.starts_with("/docs/"); }

void DocsPage::Handle(const http::Request& request, std::shared_ptr<const ServingState> state, DocsAudience audience,
                      http::Responder responder) {
  if (request.path == redoc_path_) return responder(Asset(redoc_));
  if (request.path == init_path_) return responder(Asset(init_));
  if (request.path != kPagePath) return responder(MakeErrorResponse(NotFound("no such page"), "docs"));
  boost::asio::post(worker_, GuardedJob("docs page", "docs", std::move(responder),
                                        [this, state = std::move(state), audience, host = std::string(request.Header("host"))](
                                            http::Responder responder) { responder(Page(*state, audience, host)); }));
}

http::Response DocsPage::Page(const ServingState& state, DocsAudience audience, std::string_view request_host) {
  examples_.Update(state);
  json::object document = OpenApiDocument(state);
  examples_.Annotate(state, audience, ApiBaseUrl(request_host), document);
  http::Response response;
  response.content_type = "text/html; charset=utf-8";
  // Relative to /docs, so the page also works behind a proxy that serves it under a prefix.
  response.tail = DocsHtml(json::serialize(document), redoc_path_.substr(1), init_path_.substr(1));
  response.SetHeader("Content-Security-Policy", kDocsContentSecurityPolicy);
  response.SetHeader("Cache-Control", "no-store");
  response.SetHeader("X-Content-Type-Options", "nosniff");
  response.SetHeader("Referrer-Policy", "no-referrer");
  return response;
}

std::string DocsPage::ApiBaseUrl(std::string_view request_host) {
  std::string host;
  uint16_t port = 0;
  {
    common::MutexLock lock(mu_);
    host = api_host_;
    port = api_port_;
  }
  if (IsWildcard(host)) host = HostName(request_host);
  if (host.empty()) host = "localhost";
  if (host.find(':') != std::string::npos && !host.starts_with('[')) host = "[" + host + "]";
  return (https_ ? "https://" : "http://") + host + ":" + std::to_string(port);
}

}  // namespace dram::api
