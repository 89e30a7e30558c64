// Downloads every object under a store URI into a directory with dram's downloader (parallel
// ranged GETs, ETag-pinned, MD5-verified) and prints the wall time. Used by bench/store.sh.
//   download_bench URI OUT_DIR [PARALLELISM] [PART_MIB]
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "store/downloader.h"
#include "store/store_uri.h"

int main(int argc, char** argv) {
  if (argc < 3) return std::fputs("usage: download_bench URI OUT_DIR [PARALLELISM] [PART_MIB]\n", stderr), 2;
  auto store = dram::store::OpenStore(argv[1]);
  if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), 1;
  auto listing = (*store)->List("", "", "", 1000);
  if (!listing.ok()) return std::fprintf(stderr, "%s\n", listing.status().ToString().c_str()), 1;
  std::filesystem::create_directories(argv[2]);
  std::vector<dram::store::DownloadItem> items;
  int64_t bytes = 0;
  for (const auto& object : listing->objects) {
    items.push_back({object, (std::filesystem::path(argv[2]) / std::filesystem::path(object.key).filename()).string()});
    bytes += object.size;
  }
  dram::store::DownloadOptions options;
  if (argc > 3) options.parallelism = std::atoi(argv[3]);
  if (argc > 4) options.part_bytes = std::atoll(argv[4]) << 20;
  auto start = std::chrono::steady_clock::now();
  dram::Status status = dram::store::DownloadAll(**store, items, options);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!status.ok()) return std::fprintf(stderr, "%s\n", status.ToString().c_str()), 1;
  std::printf("%zu objects, %lld bytes, %.3f s, %.1f MB/s\n", items.size(), static_cast<long long>(bytes), seconds,
              static_cast<double>(bytes) / seconds / 1e6);
  return 0;
}
