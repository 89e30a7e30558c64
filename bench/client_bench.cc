// Requests through the smart client (include/dram/client.h), one at a time, for
// bench/distributed.sh: prints {"p50_ms","p99_ms","client_cpu_ms_per_request","map_requests",
// "hedges","retries"} as one JSON line. Exits 1 on a failed request.
//
// Usage: DRAM_CLUSTER_SECRET=… client_bench MEMBERS PATH REQUESTS   (PATH gets ?min_amount=<varied>)
//        HEDGE=0 turns the client's hedging off (the unhedged side of the slow-member comparison).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dram/client.h"

namespace {

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return std::fprintf(stderr, "usage: client_bench MEMBERS PATH REQUESTS\n"), 2;
  dram::ClientOptions options;
  for (std::string list = argv[1]; !list.empty();) {
    const size_t comma = list.find(',');
    options.members.push_back(list.substr(0, comma));
    list = comma == std::string::npos ? "" : list.substr(comma + 1);
  }
  // Map steps are for the cluster's own clients: the members' secret.
  if (const char* secret = std::getenv("DRAM_CLUSTER_SECRET")) options.cluster_secret = secret;
  if (const char* hedge = std::getenv("HEDGE")) options.hedge = std::string(hedge) != "0";
  auto client = dram::Client::Create(options);
  if (!client.ok()) return std::fprintf(stderr, "%s\n", client.status().ToString().c_str()), 1;
  const int requests = std::max(1, std::atoi(argv[3]));
  std::vector<double> times;
  const double cpu_before = CpuSeconds();
  for (int i = 0; i < requests; ++i) {
    const auto started = std::chrono::steady_clock::now();
    auto answer = (*client)->Get(std::string(argv[2]) + "?min_amount=" + std::to_string((i * 37) % 90000));
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    if (!answer.ok() || answer->status != 200) {
      std::fprintf(stderr, "request %d: %s\n", i, answer.ok() ? answer->body.substr(0, 300).c_str() : answer.status().ToString().c_str());
      return 1;
    }
  }
  const double cpu = CpuSeconds() - cpu_before;
  std::sort(times.begin(), times.end());
  const auto stats = (*client)->stats();
  std::printf("{\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"client_cpu_ms_per_request\":%.3f,\"map_requests\":%lld,\"hedges\":%lld,\"retries\":%lld}\n",
              times[times.size() / 2], times[std::min(times.size() - 1, times.size() * 99 / 100)], cpu / requests * 1000,
              static_cast<long long>(stats.map_requests), static_cast<long long>(stats.hedges), static_cast<long long>(stats.retries));
  return 0;
}
