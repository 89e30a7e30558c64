#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "store/http_transport.h"
#include "store/object_store.h"
#include "store/retry.h"
#include "store/sigv4.h"

namespace dram::store {

struct S3Config {
  // GCS speaks the same XML API (HMAC keys, SigV4) but its create-only and If-Match puts use
  // x-goog-if-generation-match, and the token it compares is the object generation: in a gs://
  // store ObjectInfo::etag holds the generation.
  enum class Flavor { kS3, kGcs };
  Flavor flavor = Flavor::kS3;
  std::string endpoint;  // scheme://host[:port], no path; e.g. https://s3.eu-west-1.amazonaws.com
  std::string region = "us-east-1";
  std::string bucket;
  std::string prefix;    // "" or "some/dir/": every key of this store is under it
  bool path_style = true;  // endpoint/bucket/key; false: bucket.endpoint-host/key
  SigV4Credentials credentials;
  RetryPolicy retry;
  std::chrono::milliseconds request_timeout{120'000};  // one attempt of one request
};

// An ObjectStore over S3 or an S3-compatible server (radosgw, MinIO, GCS's XML API), on libcurl
// with our own SigV4 signing. Every request is signed with x-amz-content-sha256; transient
// failures are retried with backoff (RetryPolicy); errors carry the service's error code, never
// a credential. Thread-safe; connections are reused.
class S3ObjectStore : public ObjectStore {
 public:
  explicit S3ObjectStore(S3Config config);

  Status Read(const std::string& key, std::optional<ByteRange> range, const ByteSink& sink,
              const ReadOptions& options) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Result<ObjectInfo> Put(const std::string& key, const std::string& bytes, const PutOptions& options) override;
  Result<ListResult> List(const std::string& prefix, const std::string& delimiter, const std::string& continuation,
                          int max_keys) override;
  Status Delete(const std::string& key) override;

  const S3Config& config() const { return config_; }

 private:
  struct Request {
    std::string method;
    std::string key;  // relative to the store prefix; empty for bucket-level calls
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::pair<std::string, std::string>> headers;  // unsigned-by-default extras are signed too
    std::string_view body;
    const ByteSink* sink = nullptr;
  };
  // Signs and sends one attempt.
  Result<HttpReply> Send(const Request& request);
  // Maps a non-2xx reply to a Status (with the service's error code, if any).
  Status ErrorOf(const HttpReply& reply, const std::string& what) const;
  ObjectInfo InfoOf(const std::string& key, const HttpReply& reply) const;

  const S3Config config_;
  std::string host_;     // Host header value
  std::string origin_;   // scheme://host[:port]
  HttpTransport transport_;
};

// Parses the XML body of a ListObjectsV2 reply (libexpat). Keys are returned as the service
// gives them (with the store prefix); `continuation` is NextContinuationToken when truncated.
Result<ListResult> ParseListObjectsV2(std::string_view xml);
// The <Code> of an S3 error body, or "" when there is none.
std::string ParseS3ErrorCode(std::string_view xml);

}  // namespace dram::store
