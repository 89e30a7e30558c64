#pragma once

#include <string>

#include "store/http_transport.h"
#include "store/object_store.h"
#include "store/retry.h"

namespace dram::store {

// A read-only ObjectStore over plain HTTP(S): key → base_url/key. GET (with Range) and HEAD;
// puts and deletes are PermissionDenied, and a web server has no listing (Unimplemented), so a
// database at an https:// URI names its files. Retries transient failures like the S3 store.
class HttpsObjectStore : public ObjectStore {
 public:
  explicit HttpsObjectStore(std::string base_url, RetryPolicy retry = {});

  Status Read(const std::string& key, std::optional<ByteRange> range, const ByteSink& sink,
              const ReadOptions& options) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Result<ObjectInfo> Put(const std::string& key, const std::string& bytes, const PutOptions& options) override;
  Result<ListResult> List(const std::string& prefix, const std::string& delimiter, const std::string& continuation,
                          int max_keys) override;
  Status Delete(const std::string& key) override;

 private:
  std::string UrlOf(const std::string& key) const;
  const std::string base_url_;  // no trailing slash
  const RetryPolicy retry_;
  HttpTransport transport_;
};

}  // namespace dram::store
