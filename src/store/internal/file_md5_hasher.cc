#include "store/internal/file_md5_hasher.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "common/barrier.h"

namespace dram::store::internal {

namespace {

// Bytes each lane hashes per round: 8 lanes fill 2 MiB of buffer, and a writer wakes the hasher
// at most once per 256 KiB it receives.
constexpr int64_t kChunk = 256 << 10;
// A file this far ahead of its hashing is hashed without waiting for slower files to fill every
// lane, so one stalled transfer (a retry's backoff) does not leave the rest to hash at the end.
constexpr int64_t kMaxLag = 16 << 20;
// The wait re-checks on its own this often: a missed wake-up would cost time, never a hang.
constexpr auto kRecheck = std::chrono::milliseconds(100);

static_assert(kChunk % kMd5BlockBytes == 0 && kMaxLag % kChunk == 0);

}  // namespace

struct FileMd5Hasher::File {
  size_t index = 0;
  int fd = -1;
  int64_t size = 0;
  std::vector<int64_t> part_start, part_size;
  std::unique_ptr<std::atomic<int64_t>[]> received;  // bytes written per part
  std::atomic<bool> started{false};
  std::atomic<bool> abandoned{false};
  // Only the hasher's thread touches these.
  size_t open_part = 0;  // parts before it are complete
  int64_t hashed = 0;    // always a multiple of kChunk until the file is finished
  Md5State state;
  bool done = false;

  // Bytes written without a gap from the start of the file.
  int64_t Frontier() {
    while (open_part < part_size.size() && received[open_part].load() == part_size[open_part]) ++open_part;
    return open_part == part_size.size() ? size : part_start[open_part] + received[open_part].load();
  }
  bool Live() const { return !done && !abandoned.load(); }
};

struct FileMd5Hasher::Lane {
  File* file;
  int64_t ready;
};

FileMd5Hasher::FileMd5Hasher(OnDigest on_digest) : on_digest_(std::move(on_digest)) {}

FileMd5Hasher::~FileMd5Hasher() { Finish(); }

size_t FileMd5Hasher::Add(int fd, std::vector<int64_t> part_sizes) {
  auto file = std::make_unique<File>();
  file->index = files_.size();
  file->fd = fd;
  file->received = std::make_unique<std::atomic<int64_t>[]>(part_sizes.size());
  for (int64_t part_size : part_sizes) {
    file->part_start.push_back(file->size);
    file->size += part_size;
  }
  file->part_size = std::move(part_sizes);
  files_.push_back(std::move(file));
  return files_.size() - 1;
}

void FileMd5Hasher::Start() {
  thread_ = std::thread([this] {
    if (common::RunBarrier("download hasher", "", [this] { Run(); })) return;
    // Whatever was not delivered yet fails rather than waiting or passing unchecked.
    for (auto& file : files_) {
      if (file->Live()) on_digest_(file->index, Internal("the download hasher failed"));
    }
  });
}

void FileMd5Hasher::Received(size_t index, size_t part, int64_t bytes) {
  File& file = *files_[index];
  file.started.store(true);
  const int64_t before = file.received[part].exchange(bytes);
  // Readiness changes only when the file crosses a chunk boundary or a part completes (hashed is a
  // multiple of kChunk): wake the hasher then, and only if it sleeps.
  const int64_t start = file.part_start[part];
  const bool crossed = (start + before) / kChunk != (start + bytes) / kChunk || bytes == file.part_size[part];
  if (crossed && sleeping_.load()) {
    common::MutexLock lock(mu_);
    changed_.NotifyOne();
  }
}

void FileMd5Hasher::Abandon(size_t index) {
  files_[index]->abandoned.store(true);
  common::MutexLock lock(mu_);
  changed_.NotifyOne();
}

void FileMd5Hasher::Finish() {
  {
    common::MutexLock lock(mu_);
    closed_ = true;
    changed_.NotifyOne();
  }
  if (thread_.joinable()) thread_.join();
}

// Worth a round: some file has a chunk (or its end) to hash, and either no started file is still
// short of one (every lane that can be filled is), the lanes are full anyway, a file lags far
// behind its bytes, or no more bytes will come.
bool FileMd5Hasher::RoundReady() {
  int eligible = 0;
  bool waiting = false, lagging = false;
  for (auto& file : files_) {
    if (!file->Live()) continue;
    const int64_t frontier = file->Frontier();
    const int64_t ready = frontier - file->hashed;
    if (frontier == file->size || ready >= kChunk) {
      ++eligible;
      lagging = lagging || ready >= kMaxLag;
    } else if (file->started.load()) {
      waiting = true;
    }
  }
  return eligible > 0 && (!waiting || eligible >= kMd5Lanes || lagging || closed_);
}

// Waits for a round, then splits it: files whose rest is less than a chunk and all written are
// finished one by one; up to kMd5Lanes others, the furthest ahead first, get a chunk each.
// False when every file is done or abandoned.
bool FileMd5Hasher::PickRound(std::vector<File*>& finishing, std::vector<Lane>& lanes) {
  finishing.clear();
  lanes.clear();
  common::MutexLock lock(mu_);
  auto live = [this] { return std::any_of(files_.begin(), files_.end(), [](auto& file) { return file->Live(); }); };
  sleeping_.store(true);
  while (live() && !changed_.WaitFor(mu_, kRecheck, [&]() REQUIRES(mu_) { return !live() || closed_ || RoundReady(); })) {
  }
  sleeping_.store(false);
  for (auto& file : files_) {
    if (!file->Live()) continue;
    const int64_t frontier = file->Frontier();
    if (frontier == file->size && frontier - file->hashed < kChunk) {
      finishing.push_back(file.get());
    } else if (frontier - file->hashed >= kChunk) {
      lanes.push_back({file.get(), frontier - file->hashed});
    } else if (closed_) {
      file->abandoned.store(true);  // its transfer ended without all its bytes
    }
  }
  std::sort(lanes.begin(), lanes.end(), [](const Lane& a, const Lane& b) { return a.ready > b.ready; });
  if (lanes.size() > kMd5Lanes) lanes.resize(kMd5Lanes);
  return !finishing.empty() || !lanes.empty() || live();
}

namespace {

// Reads exactly `length` bytes at `offset`: the hashed bytes are the written ones, so a short read
// is an error, not the end of the file.
Status ReadFully(int fd, unsigned char* buffer, int64_t length, int64_t offset) {
  while (length > 0) {
    const ssize_t n = ::pread(fd, buffer, static_cast<size_t>(length), offset);
    if (n <= 0) return Unavailable("cannot read back a downloaded file to verify it");
    buffer += n;
    length -= n;
    offset += n;
  }
  return Status::Ok();
}

}  // namespace

void FileMd5Hasher::HashLanes(std::vector<Lane>& lanes, unsigned char* buffer) {
  Md5State* states[kMd5Lanes];
  const unsigned char* data[kMd5Lanes];
  int count = 0;
  for (const Lane& lane : lanes) {
    File& file = *lane.file;
    unsigned char* chunk = buffer + count * kChunk;
    Status status = ReadFully(file.fd, chunk, kChunk, file.hashed);
    if (!status.ok()) {
      file.done = true;
      on_digest_(file.index, status);
      continue;
    }
    states[count] = &file.state;
    data[count++] = chunk;
    file.hashed += kChunk;
  }
  if (count > 0) Md5Blocks(states, data, count, kChunk / kMd5BlockBytes);
}

void FileMd5Hasher::FinishFile(File& file, unsigned char* buffer) {
  file.done = true;
  const int64_t rest = file.size - file.hashed;
  Status status = ReadFully(file.fd, buffer, rest, file.hashed);
  if (!status.ok()) return on_digest_(file.index, status);
  on_digest_(file.index, Md5Finish(file.state, std::string_view(reinterpret_cast<const char*>(buffer), rest)));
}

void FileMd5Hasher::Run() {
  std::vector<unsigned char> buffer(kMd5Lanes * kChunk);
  std::vector<File*> finishing;
  std::vector<Lane> lanes;
  // Each round finishes a file or hashes a chunk, or PickRound found nothing left.
  while (PickRound(finishing, lanes)) {
    for (File* file : finishing) FinishFile(*file, buffer.data());
    HashLanes(lanes, buffer.data());
  }
}

}  // namespace dram::store::internal
