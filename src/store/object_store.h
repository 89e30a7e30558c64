#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "dram/status.h"

namespace dram::store {

// What a store knows of one object.
struct ObjectInfo {
  std::string key;
  int64_t size = 0;
  std::string etag;           // opaque; compare as given
  int64_t modified_ms = 0;
};

// A byte range [offset, offset + length); length < 0 means "to the end".
struct ByteRange {
  int64_t offset = 0;
  int64_t length = -1;
};

// Receives an object's bytes in pieces as they arrive; returning false stops the read (Aborted).
using ByteSink = std::function<bool(std::string_view chunk)>;

struct ReadOptions {
  // Read only this version: FailedPrecondition when the object changed (S3 If-Match). Lets a
  // download in parallel ranges be sure every range came from the same object.
  std::string if_match_etag;
};

// Conditions under which a put may happen (S3 If-None-Match / If-Match semantics).
struct PutOptions {
  bool if_absent = false;     // create-only: FailedPrecondition when the key exists
  std::string if_match_etag;  // replace only this version: FailedPrecondition otherwise
};

struct ListResult {
  std::vector<ObjectInfo> objects;     // keys under the prefix (not under a common prefix)
  std::vector<std::string> prefixes;   // "directories" when a delimiter is given
  std::string continuation;            // non-empty: call again with it for more
};

// Durable bytes under keys: a local directory, S3 or any S3-compatible server, GCS, HTTPS.
// Keys are '/'-separated relative paths. Implementations are thread-safe.
// Errors: NotFound for a missing key, FailedPrecondition for a failed put condition,
// Unavailable for transient failures (worth retrying), InvalidArgument for a bad key.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // Streams the object, or a range of it, into `sink`. On an error the sink may have received a
  // prefix of the bytes; a caller that retries resumes from the offset it reached.
  virtual Status Read(const std::string& key, std::optional<ByteRange> range, const ByteSink& sink,
                      const ReadOptions& options = {}) = 0;
  // The whole object, or a range of it, in memory.
  Result<std::string> Get(const std::string& key, std::optional<ByteRange> range = std::nullopt);
  virtual Result<ObjectInfo> Head(const std::string& key) = 0;
  // Returns the new object's info (its ETag for later If-Match).
  virtual Result<ObjectInfo> Put(const std::string& key, const std::string& bytes, const PutOptions& options = {}) = 0;
  virtual Result<ListResult> List(const std::string& prefix, const std::string& delimiter = "",
                                  const std::string& continuation = "", int max_keys = 1000) = 0;
  // Deleting a missing key is not an error.
  virtual Status Delete(const std::string& key) = 0;
};

// Rejects keys that could escape the store's root: empty, absolute, "." / ".." segments, NUL.
Status CheckKey(const std::string& key);

}  // namespace dram::store
