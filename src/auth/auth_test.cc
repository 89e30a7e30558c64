#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "auth/api_key_store.h"
#include "auth/crypto.h"
#include "auth/jwt_verifier.h"
#include "auth/principal.h"
#include "auth/rate_limiter.h"
#include "testutil/jwt_signer.h"

namespace dram::auth {
namespace {

TEST(CryptoTest, Sha256AndHmacMatchKnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  std::string mac = HmacSha256("Jefe", "what do ya want for nothing?");
  std::string hex;
  for (unsigned char c : mac) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 0xF]);
  }
  EXPECT_EQ(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoTest, Base64UrlRoundTripsAndRejectsNoise) {
  for (std::string bytes : {std::string(""), std::string("f"), std::string("fo"), std::string("foo"), std::string("\xff\xfe\x00\x01", 4)}) {
    auto decoded = Base64UrlDecode(Base64UrlEncode(bytes));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, bytes);
  }
  EXPECT_FALSE(Base64UrlDecode("ab+c").has_value());
  EXPECT_FALSE(Base64UrlDecode("a").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());  // non-zero leftover bits: not canonical
}

TEST(PrincipalTest, GlobGrants) {
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("daily_*", "daily_revenue"));
  EXPECT_FALSE(GlobMatch("daily_*", "weekly_revenue"));
  EXPECT_TRUE(GlobMatch("t?p_*s", "top_products"));
  EXPECT_FALSE(GlobMatch("top", "top_products"));
  Principal key{.kind = Principal::Kind::kApiKey, .grants = {"events", "daily_*"}};
  EXPECT_TRUE(key.MayCall("events"));
  EXPECT_TRUE(key.MayCall("daily_revenue"));
  EXPECT_FALSE(key.MayCall("regions"));
  EXPECT_FALSE(Principal{.kind = Principal::Kind::kJwt}.MayCall("events"));  // no grants, no access
}

class ApiKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = (std::filesystem::temp_directory_path() / ("dram-keys-" + std::to_string(::getpid()) + ".json")).string(); }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_;
};

TEST_F(ApiKeyStoreTest, AuthenticatesOnlyLiveKeysAndStoresNoSecret) {
  int64_t now = 1'700'000'000'000;
  NewApiKey live = ApiKeyStore::Generate("live", "t01", {"*"}, 0, 600, now);
  NewApiKey expired = ApiKeyStore::Generate("old", "t02", {"*"}, now - 1, 0, now);
  NewApiKey revoked = ApiKeyStore::Generate("gone", "t03", {"*"}, 0, 0, now);
  revoked.record.revoked = true;
  ASSERT_TRUE(ApiKeyStore::WriteFile(path_, {live.record, expired.record, revoked.record}).ok());
  std::ifstream in(path_);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.find(live.token.substr(18)), std::string::npos) << "the secret must not be stored";

  ApiKeyStore store(path_);
  ASSERT_TRUE(store.Reload().ok());
  auto principal = store.Authenticate(live.token, now);
  ASSERT_TRUE(principal.ok());
  EXPECT_EQ(principal->tenant, "t01");
  EXPECT_EQ(principal->quota_per_minute, 600);
  EXPECT_EQ(principal->id, live.record.id);
  for (const std::string& bad : {expired.token, revoked.token, live.token + "x", live.token.substr(0, live.token.size() - 1),
                                 std::string("dram_"), std::string("dram_000000000000_abc"), std::string("nonsense")}) {
    auto result = store.Authenticate(bad, now);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.status().message(), "invalid API key");  // one message for every failure
  }
}

TEST_F(ApiKeyStoreTest, ReloadPicksUpChangesAndKeepsOldKeysOnBadFile) {
  int64_t now = 1'700'000'000'000;
  NewApiKey first = ApiKeyStore::Generate("a", "t01", {"*"}, 0, 0, now);
  ASSERT_TRUE(ApiKeyStore::WriteFile(path_, {first.record}).ok());
  ApiKeyStore store(path_);
  ASSERT_TRUE(store.Reload().ok());
  NewApiKey rotated = ApiKeyStore::Rotate(first.record);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a distinct mtime
  ASSERT_TRUE(ApiKeyStore::WriteFile(path_, {rotated.record}).ok());
  ASSERT_TRUE(store.Reload().ok());
  EXPECT_FALSE(store.Authenticate(first.token, now).ok());
  EXPECT_TRUE(store.Authenticate(rotated.token, now).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ofstream(path_) << "{not json";
  EXPECT_FALSE(store.Reload().ok());
  EXPECT_TRUE(store.Authenticate(rotated.token, now).ok());
}

// Opens /dev/null until no descriptor is free (under a lowered soft limit); closes them and
// restores the limit when it dies.
class NoFreeDescriptors {
 public:
  NoFreeDescriptors() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, 256);
    ::setrlimit(RLIMIT_NOFILE, &lowered);
    for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) held_.push_back(fd);
  }
  ~NoFreeDescriptors() {
    for (int fd : held_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  rlimit saved_{};
  std::vector<int> held_;
};

// A keys file that cannot be read at the moment (EMFILE) is not "no keys": the last good keys
// keep answering, and the next check reads the file again.
TEST_F(ApiKeyStoreTest, UnreadableFileKeepsKeysAndIsRetried) {
  int64_t now = 1'700'000'000'000;
  NewApiKey first = ApiKeyStore::Generate("a", "t01", {"*"}, 0, 0, now);
  ASSERT_TRUE(ApiKeyStore::WriteFile(path_, {first.record}).ok());
  ApiKeyStore store(path_);
  ASSERT_TRUE(store.Reload().ok());
  NewApiKey added = ApiKeyStore::Generate("b", "t02", {"*"}, 0, 0, now);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a distinct mtime
  ASSERT_TRUE(ApiKeyStore::WriteFile(path_, {first.record, added.record}).ok());
  {
    NoFreeDescriptors exhausted;
    EXPECT_FALSE(store.Reload().ok());
  }
  EXPECT_TRUE(store.Authenticate(first.token, now).ok()) << "the last good keys stay";
  ASSERT_TRUE(store.Reload().ok()) << "the file is read again although its mtime was seen";
  EXPECT_TRUE(store.Authenticate(first.token, now).ok());
  EXPECT_TRUE(store.Authenticate(added.token, now).ok());
}

class JwtVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signer_ = std::make_unique<testing::JwtSigner>();
    verifier_ = std::make_unique<JwtVerifier>(JwtOptions{.issuer = "https://issuer.test", .audience = "dram"});
    ASSERT_TRUE(verifier_->SetJwks(signer_->Jwks()).ok()) << signer_->Jwks();
  }
  std::string Claims(int64_t exp_offset = 300, const std::string& extra = "") const {
    return R"({"iss":"https://issuer.test","aud":["dram","other"],"sub":"user-1","tenant":"t07","endpoints":["events","daily_*"],"exp":)" +
           std::to_string(now_ + exp_offset) + extra + "}";
  }
  int64_t now_ = 1'700'000'000;
  std::unique_ptr<testing::JwtSigner> signer_;
  std::unique_ptr<JwtVerifier> verifier_;
};

TEST_F(JwtVerifierTest, AcceptsEachAlgorithmWithItsKey) {
  for (const char* alg : {"HS256", "RS256", "ES256", "EdDSA"}) {
    auto principal = verifier_->Verify(signer_->Sign(alg, Claims()), now_);
    ASSERT_TRUE(principal.ok()) << alg << ": " << principal.status().message();
    EXPECT_EQ(principal->tenant, "t07");
    EXPECT_EQ(principal->id, "user-1");
    EXPECT_EQ(principal->grants, (std::vector<std::string>{"events", "daily_*"}));
  }
}

TEST_F(JwtVerifierTest, RejectsEveryForgery) {
  std::string good = signer_->Sign("RS256", Claims());
  std::string tampered = good;
  tampered[good.find('.') + 5] ^= 1;  // payload changed after signing
  struct Case {
    std::string name;
    std::string token;
  };
  const Case cases[] = {
      {"alg none", signer_->Unsigned(Claims())},
      {"bad signature", good.substr(0, good.size() - 4) + "AAAA"},
      {"tampered payload", tampered},
      {"expired", signer_->Sign("ES256", Claims(-3600))},
      {"not yet valid", signer_->Sign("ES256", Claims(3600, R"(,"nbf":)" + std::to_string(now_ + 3000)))},
      {"wrong issuer", signer_->Sign("HS256", R"({"iss":"https://evil.test","aud":"dram","exp":)" + std::to_string(now_ + 60) + "}")},
      {"wrong audience", signer_->Sign("HS256", R"({"iss":"https://issuer.test","aud":"x","exp":)" + std::to_string(now_ + 60) + "}")},
      {"no exp", signer_->Sign("HS256", R"({"iss":"https://issuer.test","aud":"dram"})")},
      {"HS256 signed with the RSA public key", signer_->SignHs256WithRsaPublicKey(Claims())},
      {"unknown kid", signer_->Sign("RS256", Claims(), "other-kid")},
      {"garbage", "a.b.c"},
      {"two parts", "abc.def"},
      {"crit names an extension", signer_->SignWithHeader("RS256", R"({"alg":"RS256","kid":"rs","crit":["exp-ext"],"exp-ext":1})", Claims())},
      {"EdDSA with the RSA key's kid", signer_->Sign("EdDSA", Claims(), "rs")},
      {"tenant claim is not a string", signer_->Sign("ES256", R"({"iss":"https://issuer.test","aud":"dram","sub":"u","tenant":["t01","t02"],"exp":)" +
                                                                  std::to_string(now_ + 60) + "}")},
      {"tenant claim is a number", signer_->Sign("ES256", R"({"iss":"https://issuer.test","aud":"dram","sub":"u","tenant":7,"exp":)" +
                                                              std::to_string(now_ + 60) + "}")},
  };
  for (const Case& c : cases) {
    auto result = verifier_->Verify(c.token, now_);
    EXPECT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated) << c.name;
    EXPECT_EQ(result.status().message().find(c.token), std::string::npos);
  }
  // Within the leeway an expired token still passes.
  EXPECT_TRUE(verifier_->Verify(signer_->Sign("ES256", Claims(-30)), now_).ok());
}

TEST_F(JwtVerifierTest, KeysOfUnsupportedTypesAreSkippedNotFatal) {
  // A rotation publishes a key type dram cannot use next to the ones it can.
  std::string jwks = signer_->Jwks();
  jwks.insert(jwks.find("[") + 1, R"({"kty":"OKP","crv":"X448","kid":"x448","x":"AAAA"},{"kty":"PQC","kid":"future"},)");
  JwtVerifier verifier(JwtOptions{.issuer = "https://issuer.test", .audience = "dram"});
  ASSERT_TRUE(verifier.SetJwks(jwks).ok());
  EXPECT_EQ(verifier.key_count(), 4u);
  for (const char* alg : {"RS256", "ES256", "EdDSA"}) EXPECT_TRUE(verifier.Verify(signer_->Sign(alg, Claims()), now_).ok()) << alg;
  // Only unusable keys, or a known type with bad material: refused, the old keys stay.
  EXPECT_FALSE(verifier.SetJwks(R"({"keys":[{"kty":"PQC","kid":"future"}]})").ok());
  EXPECT_FALSE(verifier.SetJwks(R"({"keys":[{"kty":"RSA","kid":"short","n":"AQAB","e":"AQAB"}]})").ok());
  EXPECT_TRUE(verifier.Verify(signer_->Sign("RS256", Claims()), now_).ok());
}

TEST_F(JwtVerifierTest, EveryTokenHasALimiterIdentityOfItsOwnKind) {
  auto with_sub = verifier_->Verify(signer_->Sign("ES256", Claims()), now_);
  ASSERT_TRUE(with_sub.ok());
  EXPECT_EQ(with_sub->limiter_id, "jwt:https://issuer.test/user-1");
  const std::string no_sub = R"({"iss":"https://issuer.test","aud":"dram","exp":)" + std::to_string(now_ + 60);
  auto first = verifier_->Verify(signer_->Sign("ES256", no_sub + "}"), now_);
  auto second = verifier_->Verify(signer_->Sign("ES256", no_sub + R"(,"jti":"2"})"), now_);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->limiter_id.rfind("jwt-token:", 0), 0u);
  EXPECT_NE(first->limiter_id, second->limiter_id);
  // A subject that looks like an API key id still lives in the JWT namespace.
  auto lookalike = verifier_->Verify(signer_->Sign("ES256", R"({"iss":"https://issuer.test","aud":"dram","sub":"key:3f9c1a2b7d4e","exp":)" +
                                                                std::to_string(now_ + 60) + "}"), now_);
  ASSERT_TRUE(lookalike.ok());
  EXPECT_EQ(lookalike->limiter_id.rfind("jwt:", 0), 0u);
}

TEST(RateLimiterTest, RefillsAtTheRateUpToTheBurst) {
  RateLimiter limiter;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.Acquire("k", 60, 5, start).has_value()) << i;
  auto wait = limiter.Acquire("k", 60, 5, start);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, 1);  // one token per second
  EXPECT_FALSE(limiter.Acquire("k", 60, 5, start + std::chrono::milliseconds(1001)).has_value());
  EXPECT_TRUE(limiter.Acquire("k", 60, 5, start + std::chrono::milliseconds(1002)).has_value());
  EXPECT_FALSE(limiter.Acquire("other", 60, 5, start).has_value());  // keys are independent
}

// Many identities (valid keys or tenants) cannot grow the limiter without bound.
TEST(RateLimiterTest, BucketCountIsBounded) {
  RateLimiter limiter(/*max_buckets=*/4, /*shards=*/1);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(limiter.Acquire("k" + std::to_string(i), 1, 1, start + std::chrono::milliseconds(i)).has_value());
    ASSERT_LE(limiter.size(), 4u) << i;
  }
}

// At the bound a newcomer evicts a refilled bucket before a limited one, and a limited caller
// that keeps calling is never the one evicted: newcomers cannot reset its bucket.
TEST(RateLimiterTest, EvictionAtTheBoundDoesNotFreeALimitedCaller) {
  RateLimiter limiter(/*max_buckets=*/2, /*shards=*/1);
  auto t0 = std::chrono::steady_clock::now();
  auto at = [&](int ms) { return t0 + std::chrono::milliseconds(ms); };
  EXPECT_FALSE(limiter.Acquire("slow", 1, 1, at(0)).has_value());     // one token a minute: spent
  EXPECT_FALSE(limiter.Acquire("fast", 60, 1, at(1000)).has_value());  // one a second: full again at 2 s
  EXPECT_FALSE(limiter.Acquire("new", 60, 1, at(2500)).has_value());   // evicts the full "fast", not "slow"
  EXPECT_TRUE(limiter.Acquire("slow", 1, 1, at(2600)).has_value());
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(limiter.Acquire("n" + std::to_string(i), 1, 1, at(3000 + 2 * i)).has_value());
    EXPECT_TRUE(limiter.Acquire("slow", 1, 1, at(3001 + 2 * i)).has_value()) << i;
  }
  EXPECT_LE(limiter.size(), 2u);
}

}  // namespace
}  // namespace dram::auth
