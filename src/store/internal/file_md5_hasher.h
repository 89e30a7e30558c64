#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "dram/status.h"
#include "store/internal/md5_lanes.h"

namespace dram::store::internal {

// Hashes files (MD5) in byte order while other threads are still writing them, on one thread of
// its own: hashing overlaps receiving, and up to kMd5Lanes files are hashed side by side in SIMD
// lanes (Md5Blocks), about 6x less CPU per byte than one OpenSSL MD5 per file. A file is written
// in consecutive parts that may land in any order; bytes are hashed once every part before them is
// complete. They are read back with pread from the page cache they were just written to.
//
// Owned by one download; Add and Start from the owner, Received and Abandon from any thread.
// `on_digest` runs on the hasher's thread, once per file that is neither abandoned nor left
// incomplete, with the hex MD5 of its bytes or the read error.
class FileMd5Hasher {
 public:
  using OnDigest = std::function<void(size_t file, Result<std::string> md5)>;
  explicit FileMd5Hasher(OnDigest on_digest);
  ~FileMd5Hasher();  // Finish()
  FileMd5Hasher(const FileMd5Hasher&) = delete;
  FileMd5Hasher& operator=(const FileMd5Hasher&) = delete;

  // Before Start: a file of consecutive parts of `part_sizes` bytes, read through `fd` (readable,
  // kept open by the caller until its digest is delivered or it is abandoned). Returns its index.
  size_t Add(int fd, std::vector<int64_t> part_sizes);
  void Start();
  // The first `bytes` of part `part` of `file` are written (never decreasing). A first call with 0
  // says the part's transfer started, so the hasher waits for it before hashing lanes short.
  void Received(size_t file, size_t part, int64_t bytes);
  // The file will not complete (its download failed): no digest for it.
  void Abandon(size_t file);
  // No more Received calls: files not complete by now are abandoned. Returns once every digest has
  // been delivered. Idempotent.
  void Finish();

 private:
  struct File;
  struct Lane;
  void Run();
  bool PickRound(std::vector<File*>& finishing, std::vector<Lane>& lanes);
  bool RoundReady() REQUIRES(mu_);
  void HashLanes(std::vector<Lane>& lanes, unsigned char* buffer);
  void FinishFile(File& file, unsigned char* buffer);

  const OnDigest on_digest_;
  std::vector<std::unique_ptr<File>> files_;  // fixed once started
  common::Mutex mu_;
  common::CondVar changed_;
  bool closed_ GUARDED_BY(mu_) = false;
  std::atomic<bool> sleeping_{false};
  std::thread thread_;
};

}  // namespace dram::store::internal
