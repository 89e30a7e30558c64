// Catalog commit latency (issue 5): N commits one after another through Catalog::Update (list the
// newest, read it, apply the edit, create-only put), against the floor of N plain create-only puts
// of a document the same size; then 8 threads editing at once (the write coalescer).
// Usage: catalog_bench URI [N]   (credentials from the environment for s3:// URIs)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "store/store_uri.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Percentiles {
  double p50, p99;
};
Percentiles Of(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) { return samples[std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()))]; };
  return {at(0.50), at(0.99)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return std::fputs("usage: catalog_bench URI [N]\n", stderr), 2;
  const int n = argc > 2 ? std::atoi(argv[2]) : 200;
  auto store = dram::store::OpenStore(argv[1]);
  if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), 1;
  dram::catalog::Catalog catalog(**store);
  // A demo-sized document: eight YAML files of ~600 bytes.
  std::string yaml(600, 'y');
  auto first = catalog.Update(
      [&](dram::catalog::CatalogDocument& d) {
        for (int i = 0; i < 8; ++i) d.files["endpoints/e" + std::to_string(i) + ".yml"] = yaml;
        return dram::Status::Ok();
      },
      "seed");
  if (!first.ok()) return std::fprintf(stderr, "%s\n", first.status().ToString().c_str()), 1;
  const size_t doc_bytes = catalog.Read(*first)->Serialize().size();

  std::vector<double> commits, puts;
  for (int i = 0; i < n; ++i) {
    auto start = Clock::now();
    auto version = catalog.Update(
        [&](dram::catalog::CatalogDocument& d) {
          d.files["endpoints/e0.yml"] = yaml + std::to_string(i);
          return dram::Status::Ok();
        },
        "edit");
    commits.push_back(Ms(Clock::now() - start));
    if (!version.ok()) return std::fprintf(stderr, "%s\n", version.status().ToString().c_str()), 1;
  }
  std::string body(doc_bytes, 'x');
  for (int i = 0; i < n; ++i) {
    auto start = Clock::now();
    auto put = (*store)->Put("bench-puts/" + std::to_string(i) + ".json", body, {.if_absent = true});
    puts.push_back(Ms(Clock::now() - start));
    if (!put.ok()) return std::fprintf(stderr, "%s\n", put.status().ToString().c_str()), 1;
  }
  // The parts of a commit: the listing that finds the newest version, and reading it.
  std::vector<double> lists, reads;
  for (int i = 0; i < std::min(n, 50); ++i) {
    auto start = Clock::now();
    auto latest = catalog.Latest();
    lists.push_back(Ms(Clock::now() - start));
    start = Clock::now();
    auto document = catalog.Read(*latest);
    reads.push_back(Ms(Clock::now() - start));
    if (!document.ok()) return std::fprintf(stderr, "%s\n", document.status().ToString().c_str()), 1;
  }
  std::printf("  parts: list newest p50 %.2f ms, read it p50 %.2f ms\n", Of(lists).p50, Of(reads).p50);
  Percentiles c = Of(commits), p = Of(puts);
  std::printf("commit (%d sequential, %zu-byte document): p50 %.2f ms, p99 %.2f ms | create-only put alone: p50 %.2f ms, "
              "p99 %.2f ms | commit/put p50 %.2fx\n",
              n, doc_bytes, c.p50, c.p99, p.p50, p.p99, c.p50 / p.p50);

  // 8 threads, n/8 edits each, at once: the coalescer folds queued edits into shared commits.
  auto before = catalog.Latest();
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < n / 8; ++i) {
        auto version = catalog.Update(
            [&](dram::catalog::CatalogDocument& d) {
              d.files["concurrent/" + std::to_string(t) + "-" + std::to_string(i)] = "x";
              return dram::Status::Ok();
            },
            "concurrent edit");
        if (!version.ok()) std::fprintf(stderr, "%s\n", version.status().ToString().c_str());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  double seconds = Ms(Clock::now() - start) / 1000;
  auto after = catalog.Latest();
  std::printf("8 threads x %d edits: %.0f edits/s in %lld commits (sequential: %.0f edits/s)\n", n / 8, (n / 8 * 8) / seconds,
              static_cast<long long>(*after - *before), 1000.0 / c.p50);
  return 0;
}
