#include "store/downloader.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <memory>
#include <thread>

#include "common/barrier.h"
#include "common/mutex.h"
#include "common/sha256.h"

namespace dram::store {

namespace {

struct Part {
  size_t item;
  ByteRange range;
};

// One item's state while its parts arrive.
struct Target {
  int fd = -1;
  std::string temp_path;
  std::atomic<int> parts_left{0};
  std::atomic<bool> failed{false};
  // A one-part object's MD5 is computed as the bytes stream in, so verifying costs no re-read.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md5{nullptr, EVP_MD_CTX_free};
};

std::string FinishMd5(EVP_MD_CTX* context) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context, digest, &length);
  return common::HexOf(std::string_view(reinterpret_cast<const char*>(digest), length));
}

Status WritePart(ObjectStore& store, const DownloadItem& item, Target& target, const ByteRange& range,
                 TransferProgress* progress) {
  int64_t offset = range.offset;
  ByteSink sink = [&](std::string_view chunk) {
    if (target.md5) EVP_DigestUpdate(target.md5.get(), chunk.data(), chunk.size());
    while (!chunk.empty()) {
      ssize_t n = ::pwrite(target.fd, chunk.data(), chunk.size(), offset);
      if (n <= 0) return false;
      chunk.remove_prefix(static_cast<size_t>(n));
      offset += n;
      if (progress) progress->done_bytes += n;
    }
    return !target.failed.load(std::memory_order_relaxed);  // another part failed: stop early
  };
  Status status = store.Read(item.object.key, range, sink, {.if_match_etag = item.object.etag});
  if (status.ok() && offset != range.offset + range.length) {
    return DataLoss("object is shorter than listed", item.object.key);
  }
  return status;
}

}  // namespace

bool EtagIsMd5(const std::string& etag) {
  return etag.size() == 32 && std::all_of(etag.begin(), etag.end(), [](unsigned char c) { return std::isxdigit(c); });
}

Result<std::string> Md5OfFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot open", path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(context.get(), EVP_md5(), nullptr);
  std::string buffer(1 << 20, '\0');
  ssize_t n;
  while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) EVP_DigestUpdate(context.get(), buffer.data(), static_cast<size_t>(n));
  ::close(fd);
  if (n < 0) return Unavailable("cannot read", path);
  return FinishMd5(context.get());
}

Status DownloadAll(ObjectStore& store, const std::vector<DownloadItem>& items, const DownloadOptions& options,
                   TransferProgress* progress) {
  std::vector<Target> targets(items.size());
  std::vector<Part> parts;
  // Split objects only as much as it takes to keep `parallelism` requests busy: with as many
  // objects as connections each object is one stream (and its MD5 is computed on the fly);
  // fewer, larger objects are cut into parts of at least part_bytes.
  const int64_t min_part = std::max<int64_t>(options.part_bytes, 1 << 16);
  const int64_t parts_wanted = std::max<int64_t>(1, (options.parallelism + static_cast<int64_t>(items.size()) - 1) /
                                                        std::max<int64_t>(1, static_cast<int64_t>(items.size())));
  Status first_error;
  auto cleanup = [&] {
    for (auto& target : targets) {
      if (target.fd >= 0) ::close(target.fd);
      if (!target.temp_path.empty()) ::unlink(target.temp_path.c_str());
      target.fd = -1;
    }
  };
  for (size_t i = 0; i < items.size(); ++i) {
    const DownloadItem& item = items[i];
    Target& target = targets[i];
    static std::atomic<uint64_t> downloads{0};  // two loads in one process may fetch the same file
    target.temp_path = item.path + ".part." + std::to_string(::getpid()) + "." + std::to_string(downloads.fetch_add(1));
    target.fd = ::open(target.temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (target.fd < 0) {
      target.temp_path.clear();
      cleanup();
      return Unavailable("cannot create download file", item.path);
    }
    if (::ftruncate(target.fd, item.object.size) != 0) {
      cleanup();
      return ResourceExhausted("cannot reserve disk space for a download", item.path);
    }
    int64_t count = 0;
    const int64_t part_bytes = std::max(min_part, (item.object.size + parts_wanted - 1) / parts_wanted);
    for (int64_t offset = 0; offset < item.object.size; offset += part_bytes) {
      parts.push_back({i, {offset, std::min(part_bytes, item.object.size - offset)}});
      ++count;
    }
    if (count == 1 && EtagIsMd5(item.object.etag)) {
      target.md5.reset(EVP_MD_CTX_new());
      EVP_DigestInit_ex(target.md5.get(), EVP_md5(), nullptr);
    }
    target.parts_left = static_cast<int>(count);
    if (progress) progress->total_bytes += item.object.size;
  }
  if (progress) progress->files_total += static_cast<int64_t>(items.size());

  std::atomic<size_t> next{0};
  common::Mutex error_mu;  // guards first_error (a local: the analysis checks fields only)
  auto fail = [&](size_t item, Status status) {
    targets[item].failed = true;
    common::MutexLock lock(error_mu);
    if (first_error.ok()) first_error = std::move(status);
  };
  auto finish = [&](size_t index) -> Status {
    const DownloadItem& item = items[index];
    Target& target = targets[index];
    ::close(target.fd);
    target.fd = -1;
    if (EtagIsMd5(item.object.etag)) {
      std::string md5;
      if (target.md5) {
        md5 = FinishMd5(target.md5.get());
      } else {
        ASSIGN_OR_RETURN(md5, Md5OfFile(target.temp_path));
      }
      if (md5 != item.object.etag) return DataLoss("downloaded bytes do not match the object's MD5 ETag", item.object.key);
    }
    if (::rename(target.temp_path.c_str(), item.path.c_str()) != 0) return Unavailable("cannot rename download into place", item.path);
    target.temp_path.clear();
    if (progress) progress->files_done++;
    return Status::Ok();
  };
  // Empty objects have no parts: finish them here.
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].object.size == 0) {
      Status status = finish(i);
      if (!status.ok()) fail(i, status);
    }
  }
  auto worker = [&] {
    for (;;) {
      size_t index = next.fetch_add(1);
      if (index >= parts.size()) return;
      const Part& part = parts[index];
      Target& target = targets[part.item];
      if (target.failed) continue;
      Status status = WritePart(store, items[part.item], target, part.range, progress);
      if (!status.ok()) {
        fail(part.item, status);
        continue;
      }
      if (--target.parts_left == 0) {
        status = finish(part.item);
        if (!status.ok()) fail(part.item, status);
      }
    }
  };
  // An exception on a download thread fails the download instead of the process.
  auto guarded_worker = [&] {
    if (common::RunBarrier("download", "", worker)) return;
    common::MutexLock lock(error_mu);
    if (first_error.ok()) first_error = Internal("a download thread failed");
  };
  const int threads = std::clamp<int>(options.parallelism, 1, std::max<int>(1, static_cast<int>(parts.size())));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(guarded_worker);
  guarded_worker();
  for (auto& thread : pool) thread.join();
  cleanup();
  return first_error;
}

}  // namespace dram::store
