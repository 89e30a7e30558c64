#include "store/downloader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <optional>
#include <thread>

#include "common/barrier.h"
#include "common/mutex.h"
#include "store/internal/file_md5_hasher.h"

namespace dram::store {

namespace {

struct Part {
  size_t item;
  size_t index;  // among the item's parts, in offset order
  ByteRange range;
};

// One item's state while its parts arrive.
struct Target {
  int fd = -1;
  std::string temp_path;
  std::atomic<int> parts_left{0};
  std::atomic<bool> failed{false};
  std::optional<size_t> hashed_as;  // its file in the hasher when its ETag is an MD5
};

// One DownloadAll call: the temp files, the parts, the worker threads and the hasher. Its methods
// run on the workers and on the hasher's thread; shared state is atomic or under error_mu_.
class Download {
 public:
  Download(ObjectStore& store, const std::vector<DownloadItem>& items, const DownloadOptions& options,
           TransferProgress* progress)
      : store_(store), items_(items), options_(options), progress_(progress), targets_(items.size()),
        hasher_([this](size_t file, Result<std::string> md5) { Hashed(file, std::move(md5)); }) {}
  ~Download() { Cleanup(); }
  Download(const Download&) = delete;
  Download& operator=(const Download&) = delete;

  Status Run();

 private:
  Status Prepare();
  Status PrepareItem(size_t index, int64_t parts_wanted);
  void Work();
  Status WritePart(const Part& part);
  void Hashed(size_t file, Result<std::string> md5);
  Status Finish(size_t index, const std::string* md5);
  void Fail(size_t index, Status status);
  void Cleanup();

  ObjectStore& store_;
  const std::vector<DownloadItem>& items_;
  const DownloadOptions& options_;
  TransferProgress* const progress_;
  std::vector<Target> targets_;
  std::vector<Part> parts_;
  std::vector<size_t> item_of_file_;  // hasher file → item
  std::atomic<size_t> next_part_{0};
  internal::FileMd5Hasher hasher_;
  common::Mutex error_mu_;
  Status first_error_ GUARDED_BY(error_mu_);
};

// Split objects only as much as it takes to keep `parallelism` requests busy: with as many
// objects as connections each object is one stream; fewer, larger objects are cut into parts of
// at least part_bytes.
Status Download::Prepare() {
  const int64_t count = static_cast<int64_t>(items_.size());
  const int64_t parts_wanted = std::max<int64_t>(1, (options_.parallelism + count - 1) / std::max<int64_t>(1, count));
  for (size_t i = 0; i < items_.size(); ++i) RETURN_IF_ERROR(PrepareItem(i, parts_wanted));
  if (progress_) progress_->files_total += count;
  return Status::Ok();
}

Status Download::PrepareItem(size_t index, int64_t parts_wanted) {
  const DownloadItem& item = items_[index];
  Target& target = targets_[index];
  static std::atomic<uint64_t> downloads{0};  // two loads in one process may fetch the same file
  target.temp_path = item.path + ".part." + std::to_string(::getpid()) + "." + std::to_string(downloads.fetch_add(1));
  // Readable too: the hasher reads the bytes back from the page cache while later ones arrive.
  target.fd = ::open(target.temp_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (target.fd < 0) {
    target.temp_path.clear();
    return Unavailable("cannot create download file", item.path);
  }
  if (::ftruncate(target.fd, item.object.size) != 0) return ResourceExhausted("cannot reserve disk space for a download", item.path);
  const int64_t min_part = std::max<int64_t>(options_.part_bytes, 1 << 16);
  const int64_t part_bytes = std::max(min_part, (item.object.size + parts_wanted - 1) / parts_wanted);
  std::vector<int64_t> sizes;
  for (int64_t offset = 0; offset < item.object.size; offset += part_bytes) {
    parts_.push_back({index, sizes.size(), {offset, std::min(part_bytes, item.object.size - offset)}});
    sizes.push_back(parts_.back().range.length);
  }
  target.parts_left = static_cast<int>(sizes.size());
  if (EtagIsMd5(item.object.etag)) {
    target.hashed_as = hasher_.Add(target.fd, std::move(sizes));
    item_of_file_.push_back(index);
  }
  if (progress_) progress_->total_bytes += item.object.size;
  return Status::Ok();
}

// libcurl hands the body over in pieces of at most 16 KiB (CURL_MAX_WRITE_SIZE) whatever its
// receive buffer: one pwrite per piece was 65,536 system calls per GB. Pieces are gathered here
// and written kWriteBatch at a time.
constexpr size_t kWriteBatch = 256 << 10;

Status Download::WritePart(const Part& part) {
  const DownloadItem& item = items_[part.item];
  Target& target = targets_[part.item];
  int64_t offset = part.range.offset;  // where the batch goes
  std::string batch;
  batch.reserve(kWriteBatch);
  auto flush = [&] {
    for (std::string_view rest = batch; !rest.empty();) {
      const ssize_t n = ::pwrite(target.fd, rest.data(), rest.size(), offset);
      if (n <= 0) return false;
      rest.remove_prefix(static_cast<size_t>(n));
      offset += n;
      if (progress_) progress_->done_bytes += n;
    }
    batch.clear();
    if (target.hashed_as) hasher_.Received(*target.hashed_as, part.index, offset - part.range.offset);
    return true;
  };
  if (target.hashed_as) hasher_.Received(*target.hashed_as, part.index, 0);
  ByteSink sink = [&](std::string_view chunk) {
    batch.append(chunk);
    if (batch.size() >= kWriteBatch && !flush()) return false;
    return !target.failed.load(std::memory_order_relaxed);  // another part failed: stop early
  };
  Status status = store_.Read(item.object.key, part.range, sink, {.if_match_etag = item.object.etag});
  if (!status.ok()) return status;
  if (!flush()) return Unavailable("cannot write a download", item.path);
  if (offset != part.range.offset + part.range.length) return DataLoss("object is shorter than listed", item.object.key);
  return Status::Ok();
}

// The hasher's verdict on an item it read back whole.
void Download::Hashed(size_t file, Result<std::string> md5) {
  const size_t index = item_of_file_[file];
  if (targets_[index].failed) return;  // a part failed after its last byte landed: keep it out of place
  Status status = md5.ok() ? Finish(index, &*md5) : md5.status();
  if (!status.ok()) Fail(index, std::move(status));
}

// Verifies (when `md5` is given it must equal the ETag) and renames the item into place.
Status Download::Finish(size_t index, const std::string* md5) {
  const DownloadItem& item = items_[index];
  Target& target = targets_[index];
  ::close(target.fd);
  target.fd = -1;
  if (md5 && *md5 != item.object.etag) return DataLoss("downloaded bytes do not match the object's MD5 ETag", item.object.key);
  if (::rename(target.temp_path.c_str(), item.path.c_str()) != 0) return Unavailable("cannot rename download into place", item.path);
  target.temp_path.clear();
  if (progress_) progress_->files_done++;
  return Status::Ok();
}

void Download::Fail(size_t index, Status status) {
  Target& target = targets_[index];
  target.failed = true;
  if (target.hashed_as) hasher_.Abandon(*target.hashed_as);
  common::MutexLock lock(error_mu_);
  if (first_error_.ok()) first_error_ = std::move(status);
}

void Download::Work() {
  for (;;) {
    const size_t index = next_part_.fetch_add(1);
    if (index >= parts_.size()) return;
    const Part& part = parts_[index];
    Target& target = targets_[part.item];
    if (target.failed) continue;
    Status status = WritePart(part);
    if (!status.ok()) {
      Fail(part.item, std::move(status));
      continue;
    }
    // An MD5 item is finished by the hasher once it has read the last byte back.
    if (--target.parts_left == 0 && !target.hashed_as) {
      status = Finish(part.item, nullptr);
      if (!status.ok()) Fail(part.item, std::move(status));
    }
  }
}

Status Download::Run() {
  if (Status status = Prepare(); !status.ok()) return status;
  hasher_.Start();
  // Empty objects have no parts: finish those without an MD5 here (the hasher does the others).
  for (size_t i = 0; i < items_.size(); ++i) {
    if (items_[i].object.size != 0 || targets_[i].hashed_as) continue;
    Status status = Finish(i, nullptr);
    if (!status.ok()) Fail(i, std::move(status));
  }
  // An exception on a download thread fails the download instead of the process.
  auto guarded_worker = [this] {
    if (common::RunBarrier("download", "", [this] { Work(); })) return;
    common::MutexLock lock(error_mu_);
    if (first_error_.ok()) first_error_ = Internal("a download thread failed");
  };
  const int threads = std::clamp<int>(options_.parallelism, 1, std::max<int>(1, static_cast<int>(parts_.size())));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(guarded_worker);
  guarded_worker();
  for (auto& thread : pool) thread.join();
  hasher_.Finish();
  common::MutexLock lock(error_mu_);
  // A worker that threw left its item unfinished without failing it: never report success then.
  if (first_error_.ok() && std::any_of(targets_.begin(), targets_.end(), [](const Target& t) { return !t.temp_path.empty(); })) {
    first_error_ = Internal("a download ended without finishing every file");
  }
  return first_error_;
}

void Download::Cleanup() {
  hasher_.Finish();
  for (auto& target : targets_) {
    if (target.fd >= 0) ::close(target.fd);
    if (!target.temp_path.empty()) ::unlink(target.temp_path.c_str());
    target.fd = -1;
  }
}

}  // namespace

bool EtagIsMd5(const std::string& etag) {
  return etag.size() == 32 && std::all_of(etag.begin(), etag.end(), [](unsigned char c) { return std::isxdigit(c); });
}

Status DownloadAll(ObjectStore& store, const std::vector<DownloadItem>& items, const DownloadOptions& options,
                   TransferProgress* progress) {
  Download download(store, items, options, progress);
  return download.Run();
}

}  // namespace dram::store
