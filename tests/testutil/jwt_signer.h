#pragma once

#include <memory>
#include <string>

namespace dram::testing {

// Test-only token issuer: an HS256 secret, an RSA-2048 and a P-256 key generated at start, their
// JWKS, and JWTs signed with them (plus the forgeries the security tests need).
class JwtSigner {
 public:
  JwtSigner();
  ~JwtSigner();
  JwtSigner(const JwtSigner&) = delete;
  JwtSigner& operator=(const JwtSigner&) = delete;

  // {"keys":[oct "hs", RSA "rs", EC "es"]}
  std::string Jwks() const;
  // A JWT with header {"alg":alg,"kid":kid} (kid defaults to the key of that algorithm).
  std::string Sign(const std::string& alg, const std::string& claims_json, const std::string& kid = "") const;
  // {"alg":"none"} and an empty signature.
  std::string Unsigned(const std::string& claims_json) const;
  // The classic confusion attack: HS256 with the RSA public key (PEM) as the HMAC secret.
  std::string SignHs256WithRsaPublicKey(const std::string& claims_json) const;

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

}  // namespace dram::testing
