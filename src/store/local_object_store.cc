#include "store/local_object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>

#include "common/failpoint.h"
#include "common/sha256.h"

namespace dram::store {

namespace fs = std::filesystem;

namespace {

constexpr size_t kReadChunk = 1 << 20;

// One file generation: a put renames a new inode into place, so the ETag changes on every put.
std::string EtagOf(const struct stat& info) {
  return common::HexOf(std::string_view(reinterpret_cast<const char*>(&info.st_ino), sizeof info.st_ino)) + "-" +
         std::to_string(info.st_size) + "-" + std::to_string(info.st_mtim.tv_sec) + "." +
         std::to_string(info.st_mtim.tv_nsec);
}

int64_t MtimeMs(const struct stat& info) { return int64_t{info.st_mtim.tv_sec} * 1000 + info.st_mtim.tv_nsec / 1'000'000; }

Status SyncDirectory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Unavailable("cannot open directory", dir.string());
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Unavailable("cannot sync directory", dir.string());
}

// Writes `bytes` to a new temp file beside `target` and fsyncs it; returns its path.
Result<std::string> WriteTemp(const fs::path& target, const std::string& bytes) {
  static std::atomic<uint64_t> counter{0};
  std::string temp = target.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return Unavailable("cannot create temp file", temp);
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n <= 0) {
      ::close(fd);
      ::unlink(temp.c_str());
      return Unavailable("cannot write", temp);
    }
    written += static_cast<size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    ::unlink(temp.c_str());
    return Unavailable("cannot sync", temp);
  }
  return temp;
}

}  // namespace

LocalObjectStore::LocalObjectStore(std::string root) : root_(fs::path(root).lexically_normal().string()) {}

std::string LocalObjectStore::PathOf(const std::string& key) const { return (fs::path(root_) / key).string(); }

Status LocalObjectStore::Read(const std::string& key, std::optional<ByteRange> range, const ByteSink& sink,
                              const ReadOptions& options) {
  RETURN_IF_ERROR(CheckKey(key));
  int fd = ::open(PathOf(key).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("no such object", key);
  struct stat info {};
  ::fstat(fd, &info);
  auto close_fd = std::unique_ptr<int, void (*)(int*)>(&fd, [](int* f) { ::close(*f); });
  if (!options.if_match_etag.empty() && EtagOf(info) != options.if_match_etag) {
    return FailedPrecondition("object changed (If-Match failed)", key);
  }
  // Read only the asked range: a footer fetch must not read a whole data file.
  const int64_t size = info.st_size;
  int64_t offset = range ? range->offset : 0;
  if (offset < 0 || offset > size) return OutOfRange("range starts past the end", key);
  int64_t remaining = range && range->length >= 0 ? std::min(range->length, size - offset) : size - offset;
  std::string buffer(static_cast<size_t>(std::min<int64_t>(remaining, kReadChunk)), '\0');
  while (remaining > 0) {
    ssize_t n = ::pread(fd, buffer.data(), static_cast<size_t>(std::min<int64_t>(remaining, buffer.size())), offset);
    if (n <= 0) return Unavailable("cannot read object", key);
    if (!sink(std::string_view(buffer.data(), static_cast<size_t>(n)))) return Aborted("read stopped by its receiver", key);
    offset += n;
    remaining -= n;
  }
  return Status::Ok();
}

Result<ObjectInfo> LocalObjectStore::Head(const std::string& key) {
  RETURN_IF_ERROR(CheckKey(key));
  struct stat info {};
  if (::stat(PathOf(key).c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return NotFound("no such object", key);
  return ObjectInfo{key, static_cast<int64_t>(info.st_size), EtagOf(info), MtimeMs(info)};
}

Result<ObjectInfo> LocalObjectStore::Put(const std::string& key, const std::string& bytes, const PutOptions& options) {
  RETURN_IF_ERROR(CheckKey(key));
  fs::path target = PathOf(key);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) return Unavailable("cannot create directory", target.parent_path().string());
  common::Failpoint("store.put.before_write");
  ASSIGN_OR_RETURN(std::string temp, WriteTemp(target, bytes));
  common::Failpoint("store.put.after_write");
  if (options.if_absent) {
    // link() fails with EEXIST when the name exists: the create-only check and the write are one
    // atomic step, even across processes.
    int rc = ::link(temp.c_str(), target.c_str());
    int error = errno;
    ::unlink(temp.c_str());
    if (rc != 0) {
      if (error == EEXIST) return FailedPrecondition("object already exists", key);
      return Unavailable("cannot publish object", key);
    }
  } else {
    auto replace = [&]() -> Status {
      if (::rename(temp.c_str(), target.c_str()) != 0) {
        ::unlink(temp.c_str());
        return Unavailable("cannot publish object", key);
      }
      return Status::Ok();
    };
    if (options.if_match_etag.empty()) {
      RETURN_IF_ERROR(replace());
    } else {
      common::MutexLock lock(if_match_mu_);
      auto current = Head(key);
      if (!current.ok() || current->etag != options.if_match_etag) {
        ::unlink(temp.c_str());
        return FailedPrecondition("object changed (If-Match failed)", key);
      }
      RETURN_IF_ERROR(replace());
    }
  }
  common::Failpoint("store.put.after_rename");
  RETURN_IF_ERROR(SyncDirectory(target.parent_path()));
  common::Failpoint("store.put.after_sync");
  struct stat info {};
  if (::stat(target.c_str(), &info) != 0) return Unavailable("cannot stat a published object", key);
  return ObjectInfo{key, static_cast<int64_t>(info.st_size), EtagOf(info), MtimeMs(info)};
}

Result<ListResult> LocalObjectStore::List(const std::string& prefix, const std::string& delimiter,
                                          const std::string& continuation, int max_keys) {
  // Walk everything under the deepest directory the prefix names, then filter: simple and
  // correct for the directory sizes a catalog or a dataset has.
  std::vector<std::string> keys;
  fs::path base = fs::path(root_);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    // A temp file of a concurrent put can vanish between readdir and stat: the non-throwing
    // overload skips it (the throwing one would abort the process from a noexcept path).
    std::error_code stat_error;
    if (!it->is_regular_file(stat_error)) continue;
    std::string key = it->path().lexically_relative(base).generic_string();  // no filesystem access: cannot throw
    if (key.find(".tmp.") != std::string::npos) continue;  // an in-flight put
    if (key.compare(0, prefix.size(), prefix) == 0) keys.push_back(std::move(key));
  }
  std::sort(keys.begin(), keys.end());
  ListResult result;
  int returned = 0;
  for (const auto& key : keys) {
    if (!continuation.empty() && key <= continuation) continue;
    if (!delimiter.empty()) {
      size_t cut = key.find(delimiter, prefix.size());
      if (cut != std::string::npos) {
        std::string common = key.substr(0, cut + delimiter.size());
        if (result.prefixes.empty() || result.prefixes.back() != common) result.prefixes.push_back(common);
        continue;
      }
    }
    if (returned == max_keys) {
      result.continuation = result.objects.back().key;
      break;
    }
    struct stat info {};
    ::stat(PathOf(key).c_str(), &info);
    result.objects.push_back({key, static_cast<int64_t>(info.st_size), EtagOf(info), MtimeMs(info)});
    ++returned;
  }
  return result;
}

Status LocalObjectStore::Delete(const std::string& key) {
  RETURN_IF_ERROR(CheckKey(key));
  if (::unlink(PathOf(key).c_str()) != 0 && errno != ENOENT) return Unavailable("cannot delete", key);
  return Status::Ok();
}

}  // namespace dram::store
