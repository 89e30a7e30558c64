#include "store/sigv4.h"

#include <gtest/gtest.h>

#include "common/sha256.h"

namespace dram::store {
namespace {

// Credentials and date of AWS's published SigV4 examples and test suite.
const SigV4Credentials kCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr const char* kDate = "20150830T123600Z";
const std::string kEmptyHash = common::Sha256Hex("");

TEST(SigV4Test, IamListUsersExampleMatchesTheDocumentation) {
  SigV4Request request{.method = "GET",
                       .path = "/",
                       .query = {{"Action", "ListUsers"}, {"Version", "2010-05-08"}},
                       .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                                   {"Host", "iam.amazonaws.com"},
                                   {"X-Amz-Date", kDate}},
                       .payload_sha256 = kEmptyHash};
  SigV4Signature signature = SignV4(request, kCredentials, "us-east-1", "iam", kDate);
  EXPECT_EQ(common::Sha256Hex(signature.canonical_request), "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(signature.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(signature.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  EXPECT_EQ(common::HexOf(SigV4SigningKey(kCredentials.secret_access_key, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST(SigV4Test, TestSuiteGetVanilla) {
  SigV4Request request{.method = "GET", .path = "/", .headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kDate}},
                       .payload_sha256 = kEmptyHash};
  SigV4Signature signature = SignV4(request, kCredentials, "us-east-1", "service", kDate);
  EXPECT_EQ(signature.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, CanonicalFormsSortEncodeAndTrim) {
  EXPECT_EQ(UriEncode("a b/c~d*e", false), "a%20b%2Fc~d%2Ae");
  EXPECT_EQ(UriEncode("dir/file name.parquet", true), "dir/file%20name.parquet");
  EXPECT_EQ(UriEncode("\xC3\xA9", false), "%C3%A9");
  SigV4Request request{.method = "GET",
                       .path = "/bucket",
                       .query = {{"prefix", "dir/"}, {"list-type", "2"}, {"uploads", ""}},
                       .headers = {{"X-Amz-Date", kDate}, {"Host", "127.0.0.1:9000"}, {"X-Custom", "  a   b  "}},
                       .payload_sha256 = kEmptyHash};
  SigV4Signature signature = SignV4(request, kCredentials, "us-east-1", "s3", kDate);
  EXPECT_EQ(signature.canonical_request,
            "GET\n/bucket\nlist-type=2&prefix=dir%2F&uploads=\nhost:127.0.0.1:9000\nx-amz-date:20150830T123600Z\n"
            "x-custom:a b\n\nhost;x-amz-date;x-custom\n" + kEmptyHash);
}

}  // namespace
}  // namespace dram::store
