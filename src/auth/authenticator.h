#pragma once

#include <memory>
#include <string>
#include <thread>

#include "auth/api_key_store.h"
#include "auth/jwt_verifier.h"
#include "auth/principal.h"
#include "common/mutex.h"
#include "dram/status.h"

namespace dram::auth {

enum class AuthMode { kNone, kKeys, kJwt, kHybrid };

struct AuthOptions {
  AuthMode mode = AuthMode::kNone;
  std::string keys_file;         // keys.json (mode keys/hybrid)
  JwtOptions jwt;
  std::string jwks_file;         // a JWKS document on disk, or
  std::string jwks_url;          // fetched over HTTP(S) in the background
  int64_t reload_interval_ms = 1000;      // keys file check
  int64_t jwks_refresh_ms = 300'000;      // JWKS URL refresh; the last good set stays on failure
};

// Turns request credentials into a Principal, offline: API keys from the keys file, JWTs against
// a cached JWKS. Files and the JWKS URL are re-read by a background thread; the request path
// never does I/O. Thread-safe.
class Authenticator {
 public:
  // Errors: InvalidArgument/Unavailable when the keys file or the JWKS cannot be loaded at start.
  static Result<std::unique_ptr<Authenticator>> Create(AuthOptions options);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // From "Authorization: Bearer <token>" or "X-API-Key: <key>". Unauthenticated when missing or
  // invalid (mode none: always the anonymous principal).
  Result<Principal> Authenticate(std::string_view authorization, std::string_view api_key) const;
  AuthMode mode() const { return options_.mode; }

 private:
  explicit Authenticator(AuthOptions options);
  Status LoadJwks();
  void ReloadLoop();

  AuthOptions options_;
  std::unique_ptr<ApiKeyStore> keys_;
  std::unique_ptr<JwtVerifier> jwt_;
  common::Mutex mu_;
  common::CondVar stop_cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread reloader_;
};

}  // namespace dram::auth
