#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/shared_slot.h"
#include "auth/principal.h"
#include "dram/status.h"

namespace dram::auth {

struct JwtOptions {
  std::string issuer;                 // required "iss"; empty: not checked
  std::string audience;               // must be in "aud"; empty: not checked
  int64_t leeway_s = 60;              // clock skew allowed on exp/nbf
  std::string tenant_claim = "tenant";
  std::string grants_claim = "endpoints";  // array of names/globs, or a space-separated string
};

namespace internal {
struct KeySet;
}

// Verifies JWTs offline against a JWKS (HS256 "oct", RS256 "RSA", ES256 "EC" P-256 keys).
// The algorithm must match the key's type (no HS/RS confusion) and "none" is never accepted.
// SetJwks() swaps the key set atomically; Verify() never blocks on it. Thread-safe.
class JwtVerifier {
 public:
  explicit JwtVerifier(JwtOptions options);
  ~JwtVerifier();

  // Parses a JWKS document ({"keys":[…]}). On error the current keys stay.
  Status SetJwks(std::string_view jwks_json);
  size_t key_count() const;

  // Unauthenticated for every failure, with a reason that never includes the token.
  Result<Principal> Verify(std::string_view token, int64_t now_s) const;

 private:
  JwtOptions options_;
  common::SharedSlot<const internal::KeySet> keys_;
};

}  // namespace dram::auth
