#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "store/object_store.h"

namespace dram::store {

// One object to copy into a local file.
struct DownloadItem {
  ObjectInfo object;  // key, size and ETag as listed: the bytes must match them
  std::string path;   // the local file to create (written beside it, renamed into place when verified)
};

struct DownloadOptions {
  int parallelism = 8;               // ranged GETs in flight across all items
  int64_t part_bytes = 8ll << 20;    // objects larger than this are fetched in parts of this size
};

// Bytes done and to do, readable while a download runs (for /status and the CLI's progress bar).
struct TransferProgress {
  std::atomic<int64_t> total_bytes{0};
  std::atomic<int64_t> done_bytes{0};
  std::atomic<int64_t> files_done{0};
  std::atomic<int64_t> files_total{0};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// Copies every item into its local file: large objects in parallel ranged parts, each part
// asking for the listed ETag (If-Match) so all parts come from one object version. A file
// appears under its final name only when complete and verified: size, and MD5 when the ETag is
// one (a single-part S3 upload), hashed on a thread of its own while the bytes arrive, several
// files side by side in SIMD lanes (internal/file_md5_hasher.h). Any failure (after the store's retries) fails the whole call
// and leaves no final file for the failed item. Thread-safe; blocks until done.
Status DownloadAll(ObjectStore& store, const std::vector<DownloadItem>& items, const DownloadOptions& options,
                   TransferProgress* progress = nullptr);

// True for an ETag that is the hex MD5 of the object (32 hex digits, no multipart "-N" suffix).
bool EtagIsMd5(const std::string& etag);

}  // namespace dram::store
