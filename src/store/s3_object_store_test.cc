// Unit tests of the S3 store's pure parts: XML parsing, URI and environment handling, backoff.
// The store itself is tested against a real radosgw in tests/integration/s3_store_test.cc.
#include "store/s3_object_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "store/store_uri.h"

namespace dram::store {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ListObjectsV2, ParsesObjectsPrefixesAndContinuation) {
  const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>db/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
  <NextContinuationToken>tok+/=</NextContinuationToken>
  <Contents><Key>db/a&amp;b.parquet</Key><LastModified>2026-11-23T10:00:01.500Z</LastModified>
    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1234</Size></Contents>
  <Contents><Key>db/c.csv</Key><LastModified>2026-11-23T10:00:00.000Z</LastModified><ETag>"e-2"</ETag><Size>7</Size></Contents>
  <CommonPrefixes><Prefix>db/events/</Prefix></CommonPrefixes>
</ListBucketResult>)";
  auto result = ParseListObjectsV2(xml);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->objects.size(), 2u);
  EXPECT_EQ(result->objects[0].key, "db/a&b.parquet");
  EXPECT_EQ(result->objects[0].size, 1234);
  EXPECT_EQ(result->objects[0].etag, "9b2cf535f27731c974343645a3985328");
  EXPECT_EQ(result->objects[0].modified_ms, 1795428001500);
  EXPECT_EQ(result->objects[1].etag, "e-2");
  EXPECT_EQ(result->prefixes, std::vector<std::string>{"db/events/"});
  EXPECT_EQ(result->continuation, "tok+/=");
}

TEST(ListObjectsV2, RejectsGarbageAndTruncationWithoutToken) {
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>").ok());
  EXPECT_EQ(ParseS3ErrorCode("<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>"),
            "SignatureDoesNotMatch");
  EXPECT_EQ(ParseS3ErrorCode("not xml"), "");
}

TEST(StoreUri, S3FromEnvironmentWithCustomEndpoint) {
  auto config = S3ConfigFromUri("s3://bucket/some/prefix/", FakeEnv({{"AWS_ACCESS_KEY_ID", "AK"},
                                                                      {"AWS_SECRET_ACCESS_KEY", "SK"},
                                                                      {"AWS_SESSION_TOKEN", "ST"},
                                                                      {"AWS_REGION", "eu-west-3"},
                                                                      {"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"},
                                                                      {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9001"}}));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->bucket, "bucket");
  EXPECT_EQ(config->prefix, "some/prefix/");
  EXPECT_EQ(config->region, "eu-west-3");
  EXPECT_EQ(config->endpoint, "http://127.0.0.1:9001");  // the S3-specific variable wins
  EXPECT_TRUE(config->path_style);
  EXPECT_EQ(config->credentials.session_token, "ST");
}

TEST(StoreUri, AwsDefaultsAndSharedCredentialsFile) {
  auto path = std::filesystem::temp_directory_path() / ("dram-creds-" + std::to_string(::getpid()));
  std::ofstream(path) << "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n"
                         "[ci]\n aws_access_key_id=C \naws_secret_access_key=CS\naws_session_token=CT\n";
  auto config = S3ConfigFromUri("s3://b", FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", path.string()},
                                                   {"AWS_PROFILE", "ci"}, {"AWS_DEFAULT_REGION", "us-west-2"}}));
  std::filesystem::remove(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->credentials.access_key_id, "C");
  EXPECT_EQ(config->credentials.secret_access_key, "CS");
  EXPECT_EQ(config->credentials.session_token, "CT");
  EXPECT_EQ(config->endpoint, "https://s3.us-west-2.amazonaws.com");
  EXPECT_FALSE(config->path_style);  // AWS itself: virtual-hosted
  EXPECT_EQ(config->prefix, "");
}

TEST(StoreUri, GcsUsesItsOwnKeysAndEndpoint) {
  auto config = S3ConfigFromUri("gs://g/x", FakeEnv({{"GCS_ACCESS_KEY_ID", "GOOG1"}, {"GCS_SECRET_ACCESS_KEY", "G"},
                                                     {"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->flavor, S3Config::Flavor::kGcs);
  EXPECT_EQ(config->endpoint, "https://storage.googleapis.com");
  EXPECT_EQ(config->credentials.access_key_id, "GOOG1");
  EXPECT_EQ(config->region, "auto");
}

TEST(StoreUri, ErrorsNameTheProblemWithoutSecrets) {
  auto missing = S3ConfigFromUri("s3://b/p", FakeEnv({}));
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_FALSE(S3ConfigFromUri("s3:///p", FakeEnv({{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "S"}})).ok());
  EXPECT_FALSE(S3ConfigFromUri("s3://b/../x", FakeEnv({{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "S"}})).ok());
  EXPECT_FALSE(OpenStore("ftp://x/y", FakeEnv({})).ok());
  EXPECT_TRUE(OpenStore("/tmp/somewhere", FakeEnv({})).ok());
  EXPECT_TRUE(OpenStore("https://example.com/data", FakeEnv({})).ok());
  EXPECT_TRUE(IsLocalUri("file:///x"));
  EXPECT_FALSE(IsLocalUri("s3://x"));
}

TEST(Retry, BackoffIsBoundedJitterAndOnlyUnavailableRetries) {
  RetryPolicy policy{.max_attempts = 4, .base_delay = std::chrono::milliseconds(1), .max_delay = std::chrono::milliseconds(3)};
  for (int attempt = 1; attempt < 30; ++attempt) {
    EXPECT_LE(BackoffDelay(policy, attempt).count(), 3);
    EXPECT_GE(BackoffDelay(policy, attempt).count(), 0);
  }
  int calls = 0;
  Status outcome = WithRetries(policy, [&] {
    ++calls;
    return Unavailable("flaky");
  });
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(outcome.code(), StatusCode::kUnavailable);
  calls = 0;
  auto result = WithRetries(policy, [&]() -> Result<int> {
    if (++calls < 3) return Unavailable("flaky");
    return 7;
  });
  EXPECT_EQ(*result, 7);
  calls = 0;
  outcome = WithRetries(policy, [&] {
    ++calls;
    return NotFound("gone");
  });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace dram::store
