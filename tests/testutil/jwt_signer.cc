#include "testutil/jwt_signer.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace dram::testing {

namespace {

// Deliberately not auth::Base64UrlEncode: an issuer written independently of the verifier, so a
// bug in dram's encoding cannot cancel out in the tests.
std::string B64Url(const std::string& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
  return out;
}

std::string BignumBytes(const BIGNUM* bn, int width = 0) {
  int size = width > 0 ? width : BN_num_bytes(bn);
  std::string out(size, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
  return out;
}

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &length);
  return std::string(reinterpret_cast<char*>(mac), length);
}

// `digest` null for Ed25519 (one-shot, no separate hash).
std::string DigestSign(EVP_PKEY* key, const std::string& data, const EVP_MD* digest = EVP_sha256()) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t length = 0;
  EVP_DigestSignInit(ctx, nullptr, digest, nullptr, key);
  EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string signature(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  signature.resize(length);
  EVP_MD_CTX_free(ctx);
  return signature;
}

}  // namespace

struct JwtSigner::Keys {
  std::string secret;
  EVP_PKEY* rsa = nullptr;
  EVP_PKEY* ec = nullptr;
  EVP_PKEY* ed = nullptr;
  ~Keys() {
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ed);
  }
};

JwtSigner::JwtSigner() : keys_(std::make_unique<Keys>()) {
  keys_->secret.resize(32);
  RAND_bytes(reinterpret_cast<unsigned char*>(keys_->secret.data()), 32);
  keys_->rsa = EVP_RSA_gen(2048);
  keys_->ec = EVP_EC_gen("P-256");
  keys_->ed = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!keys_->rsa || !keys_->ec || !keys_->ed) throw std::runtime_error("key generation failed");
}

JwtSigner::~JwtSigner() = default;

std::string JwtSigner::Jwks() const {
  BIGNUM *n = nullptr, *e = nullptr, *x = nullptr, *y = nullptr;
  EVP_PKEY_get_bn_param(keys_->rsa, OSSL_PKEY_PARAM_RSA_N, &n);
  EVP_PKEY_get_bn_param(keys_->rsa, OSSL_PKEY_PARAM_RSA_E, &e);
  EVP_PKEY_get_bn_param(keys_->ec, OSSL_PKEY_PARAM_EC_PUB_X, &x);
  EVP_PKEY_get_bn_param(keys_->ec, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
  std::string jwks = R"({"keys":[{"kty":"oct","kid":"hs","alg":"HS256","k":")" + B64Url(keys_->secret) +
                     R"("},{"kty":"RSA","kid":"rs","alg":"RS256","n":")" + B64Url(BignumBytes(n)) + R"(","e":")" +
                     B64Url(BignumBytes(e)) + R"("},{"kty":"EC","kid":"es","crv":"P-256","x":")" + B64Url(BignumBytes(x, 32)) +
                     R"(","y":")" + B64Url(BignumBytes(y, 32)) + R"("},{"kty":"OKP","kid":"ed","crv":"Ed25519","x":")" +
                     B64Url(Ed25519PublicKey()) + R"("}]})";
  BN_free(n);
  BN_free(e);
  BN_free(x);
  BN_free(y);
  return jwks;
}

std::string JwtSigner::Ed25519PublicKey() const {
  std::string raw(32, '\0');
  size_t length = raw.size();
  EVP_PKEY_get_raw_public_key(keys_->ed, reinterpret_cast<unsigned char*>(raw.data()), &length);
  return raw;
}

std::string JwtSigner::Sign(const std::string& alg, const std::string& claims, const std::string& kid) const {
  std::string key_id = !kid.empty() ? kid : alg == "HS256" ? "hs" : alg == "RS256" ? "rs" : alg == "EdDSA" ? "ed" : "es";
  return SignWithHeader(alg, R"({"alg":")" + alg + R"(","typ":"JWT","kid":")" + key_id + R"("})", claims);
}

std::string JwtSigner::SignWithHeader(const std::string& alg, const std::string& header_json, const std::string& claims) const {
  std::string signing_input = B64Url(header_json) + "." + B64Url(claims);
  std::string signature;
  if (alg == "EdDSA") {
    signature = DigestSign(keys_->ed, signing_input, nullptr);
  } else if (alg == "HS256") {
    signature = Hmac(keys_->secret, signing_input);
  } else if (alg == "RS256") {
    signature = DigestSign(keys_->rsa, signing_input);
  } else {
    // DER ECDSA → raw r||s, as JWS wants.
    std::string der = DigestSign(keys_->ec, signing_input);
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    signature = BignumBytes(ECDSA_SIG_get0_r(sig), 32) + BignumBytes(ECDSA_SIG_get0_s(sig), 32);
    ECDSA_SIG_free(sig);
  }
  return signing_input + "." + B64Url(signature);
}

std::string JwtSigner::Unsigned(const std::string& claims) const {
  return B64Url(R"({"alg":"none","typ":"JWT"})") + "." + B64Url(claims) + ".";
}

std::string JwtSigner::SignHs256WithRsaPublicKey(const std::string& claims) const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, keys_->rsa);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, length);
  BIO_free(bio);
  std::string signing_input = B64Url(R"({"alg":"HS256","typ":"JWT","kid":"rs"})") + "." + B64Url(claims);
  return signing_input + "." + B64Url(Hmac(pem, signing_input));
}

}  // namespace dram::testing
