// Fuzzes JWT parsing and verification against a fixed JWKS with one key of each type.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "auth/jwt_verifier.h"

namespace {
// Public keys only (an oct secret, an RSA-2048 modulus, a P-256 point): enough to reach every
// verification path; nothing here can sign.
constexpr const char* kJwks = R"({"keys":[
 {"kty":"oct","kid":"hs","alg":"HS256","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0"},
 {"kty":"RSA","kid":"rs","alg":"RS256","e":"AQAB","n":"u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw"},
 {"kty":"EC","kid":"es","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})";

dram::auth::JwtVerifier& Verifier() {
  static auto* verifier = [] {
    auto* v = new dram::auth::JwtVerifier(dram::auth::JwtOptions{.issuer = "iss", .audience = "aud"});
    if (!v->SetJwks(kJwks).ok()) __builtin_trap();
    return v;
  }();
  return *verifier;
}
}  // namespace

// Fixtures are built before the first input, so libFuzzer's per-input leak check does not count
// objects that live for the whole run.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Verifier();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view token(reinterpret_cast<const char*>(data), size);
  auto result = Verifier().Verify(token, 1'700'000'000);
  // Nothing unsigned can pass; and every rejection is one of the fixed reasons (never the token).
  if (result.ok()) __builtin_trap();
  static const std::string_view kReasons[] = {"malformed", "unsupported algorithm", "bad signature", "expired",
                                              "not yet valid", "wrong issuer", "wrong audience"};
  bool known = false;
  for (std::string_view reason : kReasons) known = known || result.status().message() == "invalid token: " + std::string(reason);
  if (!known) __builtin_trap();
  // The JWKS parser too: the same bytes as a key set.
  dram::auth::JwtVerifier scratch({});
  (void)scratch.SetJwks(token);
  return 0;
}
