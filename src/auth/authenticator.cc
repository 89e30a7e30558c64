#include "auth/authenticator.h"

#include <curl/curl.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "common/barrier.h"
#include "common/log.h"

namespace dram::auth {

namespace {

constexpr std::string_view kBearer = "Bearer ";
constexpr long kFetchTimeoutSeconds = 10;
constexpr size_t kMaxJwksBytes = 1 << 20;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * count > kMaxJwksBytes) return 0;  // refuse oversized documents
  body->append(data, size * count);
  return size * count;
}

// GET `url` (http or https) with a timeout; the body, or Unavailable.
Result<std::string> FetchUrl(const std::string& url) {
  CURL* curl = curl_easy_init();
  if (!curl) return Unavailable("cannot start an HTTP client");
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, kFetchTimeoutSeconds);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) return Unavailable("JWKS fetch failed", curl_easy_strerror(code));
  if (status != 200) return Unavailable("JWKS fetch answered HTTP " + std::to_string(status));
  return body;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read file", path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Authenticator::Authenticator(AuthOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<Authenticator>> Authenticator::Create(AuthOptions options) {
  std::unique_ptr<Authenticator> auth(new Authenticator(std::move(options)));
  const AuthOptions& o = auth->options_;
  bool keys = o.mode == AuthMode::kKeys || o.mode == AuthMode::kHybrid;
  bool jwt = o.mode == AuthMode::kJwt || o.mode == AuthMode::kHybrid;
  if (keys) {
    auth->keys_ = std::make_unique<ApiKeyStore>(o.keys_file);
    RETURN_IF_ERROR(auth->keys_->Reload());
  }
  if (jwt) {
    auth->jwt_ = std::make_unique<JwtVerifier>(o.jwt);
    RETURN_IF_ERROR(auth->LoadJwks());
  }
  if (keys || jwt) {
    auth->reloader_ = std::thread([raw = auth.get()] { common::RunBarrier("credentials reload", "", [raw] { raw->ReloadLoop(); }); });
  }
  return auth;
}

Authenticator::~Authenticator() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
  }
  stop_cv_.NotifyAll();
  if (reloader_.joinable()) reloader_.join();
}

Status Authenticator::LoadJwks() {
  Result<std::string> document = options_.jwks_url.empty() ? ReadWholeFile(options_.jwks_file) : FetchUrl(options_.jwks_url);
  if (!document.ok()) return document.status();
  return jwt_->SetJwks(*document);
}

void Authenticator::ReloadLoop() {
  auto next_jwks = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.jwks_refresh_ms);
  common::MutexLock lock(mu_);
  while (!stop_cv_.WaitFor(mu_, std::chrono::milliseconds(options_.reload_interval_ms), [this]() REQUIRES(mu_) { return stopping_; })) {
    lock.Unlock();
    if (keys_) {
      Status status = keys_->Reload();
      if (!status.ok()) common::Log(common::LogLevel::kError, "keys file not reloaded; previous keys stay", "");
    }
    // A JWKS file is cheap to re-read every interval; a URL only every jwks_refresh_ms. Either
    // way a failure keeps the last good keys (the grace window while the issuer is down).
    bool url = !options_.jwks_url.empty();
    if (jwt_ && (!url || std::chrono::steady_clock::now() >= next_jwks)) {
      Status status = LoadJwks();
      if (!status.ok()) common::Log(common::LogLevel::kWarn, "JWKS not refreshed; previous keys stay", "");
      next_jwks = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.jwks_refresh_ms);
    }
    lock.Lock();
  }
}

Result<Principal> Authenticator::Authenticate(std::string_view authorization, std::string_view api_key) const {
  if (options_.mode == AuthMode::kNone) return Principal{};
  std::string_view token = api_key;
  if (token.empty() && authorization.substr(0, kBearer.size()) == kBearer) token = authorization.substr(kBearer.size());
  if (token.empty()) return Unauthenticated("missing credentials");
  bool looks_like_key = token.substr(0, 5) == "dram_";
  if (looks_like_key && keys_) return keys_->Authenticate(token, NowMs());
  if (!looks_like_key && jwt_) return jwt_->Verify(token, NowMs() / 1000);
  return Unauthenticated("invalid credentials");
}

}  // namespace dram::auth
