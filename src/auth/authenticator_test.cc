#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "testutil/jwt_signer.h"
#include "testutil/static_http_server.h"

namespace dram::auth {
namespace {

TEST(AuthenticatorTest, FetchesJwksOverHttpAndKeepsItWhenTheIssuerIsDown) {
  testing::JwtSigner first;
  testing::StaticHttpServer issuer(first.Jwks());
  AuthOptions options;
  options.mode = AuthMode::kJwt;
  options.jwks_url = "http://127.0.0.1:" + std::to_string(issuer.port()) + "/jwks.json";
  options.reload_interval_ms = 20;
  options.jwks_refresh_ms = 50;
  auto authenticator = Authenticator::Create(options);
  ASSERT_TRUE(authenticator.ok()) << authenticator.status().ToString();
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string claims = R"({"sub":"u","tenant":"t1","endpoints":["*"],"exp":)" + std::to_string(now + 600) + "}";
  std::string token = first.Sign("ES256", claims);
  EXPECT_TRUE((*authenticator)->Authenticate("Bearer " + token, "").ok());

  // The issuer rotates its keys: new tokens verify once the refresh has run, old ones stop.
  testing::JwtSigner second;
  issuer.SetBody(second.Jwks());
  std::string new_token = second.Sign("RS256", claims);
  bool rotated = false;
  for (int i = 0; i < 100 && !rotated; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    rotated = (*authenticator)->Authenticate("Bearer " + new_token, "").ok();
  }
  EXPECT_TRUE(rotated);
  EXPECT_FALSE((*authenticator)->Authenticate("Bearer " + token, "").ok());

  // The issuer goes down: the last good keys stay (grace), no request blocks on the network.
  issuer.Stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE((*authenticator)->Authenticate("Bearer " + new_token, "").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(50));
}

TEST(AuthenticatorTest, ModesAndMissingCredentials) {
  auto none = Authenticator::Create(AuthOptions{});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)->Authenticate("", "")->kind, Principal::Kind::kAnonymous);
  AuthOptions keys;
  keys.mode = AuthMode::kKeys;
  keys.keys_file = "/nonexistent/keys.json";
  auto keyed = Authenticator::Create(keys);
  ASSERT_TRUE(keyed.ok());
  EXPECT_EQ((*keyed)->Authenticate("", "").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ((*keyed)->Authenticate("Basic abc", "").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ((*keyed)->Authenticate("Bearer a.b.c", "").status().code(), StatusCode::kUnauthenticated);  // no JWT in keys mode
  AuthOptions jwt;
  jwt.mode = AuthMode::kJwt;
  jwt.jwks_file = "/nonexistent/jwks.json";
  EXPECT_FALSE(Authenticator::Create(jwt).ok());  // no keys to verify with: refuse to start
}

}  // namespace
}  // namespace dram::auth
