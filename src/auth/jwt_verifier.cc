#include "auth/jwt_verifier.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <boost/json.hpp>

#include "auth/crypto.h"
#include "common/json_text.h"
#include "common/log.h"

namespace dram::auth {

namespace json = boost::json;

namespace internal {

enum class KeyType { kOct, kRsa, kEc, kEd25519 };

struct Jwk {
  std::string kid;
  std::string alg;  // may be empty
  KeyType type;
  std::string secret;        // oct
  EVP_PKEY* pkey = nullptr;  // RSA / EC / Ed25519
  Jwk() = default;
  Jwk(const Jwk&) = delete;
  Jwk& operator=(const Jwk&) = delete;
  ~Jwk() { EVP_PKEY_free(pkey); }
};

struct KeySet {
  std::vector<std::unique_ptr<Jwk>> keys;
};

}  // namespace internal

namespace {

using internal::Jwk;
using internal::KeyType;

struct BignumDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bignum = std::unique_ptr<BIGNUM, BignumDeleter>;

Bignum BignumFrom(std::string_view bytes) {
  return Bignum(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

std::string Field(const json::object& o, const char* name) {
  auto* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Builds an EVP_PKEY from OSSL params for `type` ("RSA" or "EC"); null on failure.
EVP_PKEY* KeyFromParams(const char* type, OSSL_PARAM_BLD* builder) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  if (ctx && params && EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey;
}

Result<std::unique_ptr<Jwk>> ParseJwk(const json::object& o) {
  auto key = std::make_unique<Jwk>();
  key->kid = Field(o, "kid");
  key->alg = Field(o, "alg");
  std::string kty = Field(o, "kty");
  auto decoded = [&](const char* name) { return Base64UrlDecode(Field(o, name)); };
  if (kty == "oct") {
    auto k = decoded("k");
    if (!k || k->size() < 32) return InvalidArgument("oct key needs 'k' of at least 32 bytes");
    key->type = KeyType::kOct;
    key->secret = std::move(*k);
    return key;
  }
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  if (kty == "RSA") {
    auto n = decoded("n");
    auto e = decoded("e");
    if (!n || !e || n->size() < 256) {
      OSSL_PARAM_BLD_free(builder);
      return InvalidArgument("RSA key needs 'n' (at least 2048 bits) and 'e'");
    }
    Bignum bn_n = BignumFrom(*n), bn_e = BignumFrom(*e);
    OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, bn_n.get());
    OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, bn_e.get());
    key->type = KeyType::kRsa;
    key->pkey = KeyFromParams("RSA", builder);
  } else if (kty == "EC") {
    auto x = decoded("x");
    auto y = decoded("y");
    if (Field(o, "crv") != "P-256" || !x || !y || x->size() != 32 || y->size() != 32) {
      OSSL_PARAM_BLD_free(builder);
      return InvalidArgument("EC key must be P-256 with 32-byte 'x' and 'y'");
    }
    std::string point = "\x04" + *x + *y;
    OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    key->type = KeyType::kEc;
    key->pkey = KeyFromParams("EC", builder);
  } else if (kty == "OKP") {
    auto x = decoded("x");
    if (Field(o, "crv") != "Ed25519" || !x || x->size() != 32) {
      OSSL_PARAM_BLD_free(builder);
      return Unimplemented("OKP key other than Ed25519 with a 32-byte 'x'", Field(o, "crv"));
    }
    key->type = KeyType::kEd25519;
    key->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size());
  } else {
    OSSL_PARAM_BLD_free(builder);
    return Unimplemented("unsupported key type", kty);
  }
  OSSL_PARAM_BLD_free(builder);
  if (!key->pkey) return InvalidArgument("key material is not valid");
  return key;
}

// `digest`: SHA-256 for RS256/ES256; null for EdDSA, which hashes inside the signature scheme.
bool VerifyWithKey(const EVP_PKEY* pkey, std::string_view data, std::string_view signature, const EVP_MD* digest = EVP_sha256()) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, digest, nullptr, const_cast<EVP_PKEY*>(pkey)) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// JWS ES256 signatures are r||s (32 bytes each); OpenSSL wants DER.
std::optional<std::string> EcdsaRawToDer(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BignumFrom(raw.substr(0, 32)).release(), BignumFrom(raw.substr(32)).release());
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), length);
  OPENSSL_free(der);
  return out;
}

bool SignatureMatches(const Jwk& key, std::string_view alg, std::string_view data, std::string_view signature) {
  if (alg == "HS256") return key.type == KeyType::kOct && ConstantTimeEquals(HmacSha256(key.secret, data), signature);
  if (alg == "RS256") return key.type == KeyType::kRsa && VerifyWithKey(key.pkey, data, signature);
  if (alg == "ES256") {
    if (key.type != KeyType::kEc) return false;
    auto der = EcdsaRawToDer(signature);
    return der && VerifyWithKey(key.pkey, data, *der);
  }
  if (alg == "EdDSA") return key.type == KeyType::kEd25519 && VerifyWithKey(key.pkey, data, signature, nullptr);
  return false;
}

std::optional<int64_t> NumericClaim(const json::object& claims, const char* name) {
  auto* v = claims.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  return std::nullopt;
}

}  // namespace

JwtVerifier::JwtVerifier(JwtOptions options) : options_(std::move(options)), keys_(std::make_shared<const internal::KeySet>()) {}
JwtVerifier::~JwtVerifier() = default;

size_t JwtVerifier::key_count() const { return keys_.load()->keys.size(); }

Status JwtVerifier::SetJwks(std::string_view jwks_json) {
  boost::system::error_code ec;
  json::value root = json::parse(jwks_json, ec);
  if (ec || !root.is_object() || !root.as_object().contains("keys") || !root.at("keys").is_array()) {
    return InvalidArgument("JWKS must be {\"keys\": [...]}");
  }
  auto set = std::make_shared<internal::KeySet>();
  std::string skipped;
  for (const auto& entry : root.at("keys").as_array()) {
    if (!entry.is_object()) return InvalidArgument("JWKS key must be an object");
    auto key = ParseJwk(entry.as_object());
    if (key.ok()) {
      set->keys.push_back(std::move(key).value());
    } else if (key.status().code() == StatusCode::kUnimplemented) {
      // An issuer may publish key types dram does not verify with (a rotation adds one, say):
      // they are skipped, and the keys dram understands keep working.
      std::string kid = Field(entry.as_object(), "kid");
      skipped += (skipped.empty() ? "" : ", ") + (kid.empty() ? std::string("(no kid)") : kid) + ": " + key.status().message();
    } else {
      return key.status();  // a key of a known type with bad material: the set is wrong
    }
  }
  if (!skipped.empty()) {
    std::string fields = "\"skipped\":";
    common::AppendJsonString(fields, skipped);
    common::Log(common::LogLevel::kWarn, "JWKS keys of unsupported types skipped", fields);
  }
  if (set->keys.empty()) return InvalidArgument("JWKS has no usable keys");
  keys_.store(std::move(set));
  return Status::Ok();
}

Result<Principal> JwtVerifier::Verify(std::string_view token, int64_t now_s) const {
  auto reject = [](std::string_view why) { return Unauthenticated(std::string("invalid token: ") + std::string(why)); };
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) return reject("malformed");
  auto header_text = Base64UrlDecode(token.substr(0, first));
  auto payload_text = Base64UrlDecode(token.substr(first + 1, second - first - 1));
  auto signature = Base64UrlDecode(token.substr(second + 1));
  if (!header_text || !payload_text || !signature) return reject("malformed");
  boost::system::error_code ec;
  json::value header = json::parse(*header_text, ec);
  if (ec || !header.is_object()) return reject("malformed");
  json::value payload = json::parse(*payload_text, ec);
  if (ec || !payload.is_object()) return reject("malformed");
  std::string alg = Field(header.as_object(), "alg");
  if (alg != "HS256" && alg != "RS256" && alg != "ES256" && alg != "EdDSA") return reject("unsupported algorithm");
  // RFC 7515 4.1.11: a token whose `crit` names extensions the verifier does not understand must
  // be rejected; dram understands none.
  if (header.as_object().contains("crit")) return reject("critical header extension not understood");
  std::string kid = Field(header.as_object(), "kid");

  std::string_view signed_part = token.substr(0, second);
  std::shared_ptr<const internal::KeySet> keys = keys_.load();
  bool verified = false;
  for (const auto& key : keys->keys) {
    if (!kid.empty() && key->kid != kid) continue;
    if (!key->alg.empty() && key->alg != alg) continue;
    if (SignatureMatches(*key, alg, signed_part, *signature)) {
      verified = true;
      break;
    }
  }
  if (!verified) return reject("bad signature");

  const json::object& claims = payload.as_object();
  auto exp = NumericClaim(claims, "exp");
  if (!exp || now_s > *exp + options_.leeway_s) return reject("expired");
  if (auto nbf = NumericClaim(claims, "nbf"); nbf && now_s + options_.leeway_s < *nbf) return reject("not yet valid");
  if (!options_.issuer.empty() && Field(claims, "iss") != options_.issuer) return reject("wrong issuer");
  if (!options_.audience.empty()) {
    bool audience_ok = false;
    if (auto* aud = claims.if_contains("aud")) {
      if (aud->is_string()) audience_ok = aud->as_string() == options_.audience;
      if (aud->is_array()) {
        for (const auto& a : aud->as_array()) audience_ok = audience_ok || (a.is_string() && a.as_string() == options_.audience);
      }
    }
    if (!audience_ok) return reject("wrong audience");
  }
  Principal principal;
  principal.kind = Principal::Kind::kJwt;
  principal.id = Field(claims, "sub");
  if (const json::value* tenant = claims.if_contains(options_.tenant_claim)) {
    // A tenant claim that is there but not a string would otherwise read as "no tenant".
    if (!tenant->is_string()) return reject("tenant claim is not a string");
    principal.tenant = std::string(tenant->as_string());
  }
  // Rate limits count per issuer and subject, in a namespace of their own (a subject equal to an
  // API key's id shares nothing with it); a token without a subject counts as itself.
  principal.limiter_id = principal.id.empty() ? "jwt-token:" + Sha256Hex(token).substr(0, 32)
                                              : "jwt:" + Field(claims, "iss") + "/" + principal.id;
  if (auto* grants = claims.if_contains(options_.grants_claim)) {
    if (grants->is_array()) {
      for (const auto& g : grants->as_array()) {
        if (g.is_string()) principal.grants.emplace_back(g.as_string());
      }
    } else if (grants->is_string()) {
      std::string_view text = grants->as_string();
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find_first_of(" ,", start);
        if (end == std::string_view::npos) end = text.size();
        if (end > start) principal.grants.emplace_back(text.substr(start, end - start));
        start = end + 1;
      }
    }
  }
  return principal;
}

}  // namespace dram::auth
