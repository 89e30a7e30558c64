#pragma once

#include <memory>
#include <string>

#include "common/mutex.h"
#include "store/object_store.h"

namespace dram::store {

// An ObjectStore over a local directory. Puts are atomic (temp file, fsync, then link() for
// create-only or rename() otherwise, then fsync of the directory), so readers see the old or the
// new bytes, never a torn file, and create-only puts race safely across processes (link fails
// with EEXIST). An ETag names one file generation (inode, size, mtime), so every put makes a new
// one and a head costs one stat. If-Match puts are atomic within a process only. Thread-safe.
class LocalObjectStore : public ObjectStore {
 public:
  explicit LocalObjectStore(std::string root);

  Status Read(const std::string& key, std::optional<ByteRange> range, const ByteSink& sink,
              const ReadOptions& options) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Result<ObjectInfo> Put(const std::string& key, const std::string& bytes, const PutOptions& options) override;
  Result<ListResult> List(const std::string& prefix, const std::string& delimiter, const std::string& continuation,
                          int max_keys) override;
  Status Delete(const std::string& key) override;

 private:
  std::string PathOf(const std::string& key) const;
  const std::string root_;
  common::Mutex if_match_mu_;  // If-Match puts in this process: check and replace as one step
};

}  // namespace dram::store
