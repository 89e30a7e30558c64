#pragma once

#include <memory>
#include <string>

namespace dram::testing {

// Test-only token issuer: an HS256 secret, an RSA-2048, a P-256 and an Ed25519 key generated at start, their
// JWKS, and JWTs signed with them (plus the forgeries the security tests need).
class JwtSigner {
 public:
  JwtSigner();
  ~JwtSigner();
  JwtSigner(const JwtSigner&) = delete;
  JwtSigner& operator=(const JwtSigner&) = delete;

  // {"keys":[oct "hs", RSA "rs", EC "es", OKP Ed25519 "ed"]}
  std::string Jwks() const;
  // A JWT with header {"alg":alg,"kid":kid} (kid defaults to the key of that algorithm).
  std::string Sign(const std::string& alg, const std::string& claims_json, const std::string& kid = "") const;
  // A JWT signed with the key for `alg` under the given header (for headers such as `crit`).
  std::string SignWithHeader(const std::string& alg, const std::string& header_json, const std::string& claims_json) const;
  // {"alg":"none"} and an empty signature.
  std::string Unsigned(const std::string& claims_json) const;
  // The classic confusion attack: HS256 with the RSA public key (PEM) as the HMAC secret.
  std::string SignHs256WithRsaPublicKey(const std::string& claims_json) const;

 private:
  std::string Ed25519PublicKey() const;
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

}  // namespace dram::testing
