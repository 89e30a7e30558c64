// The usage log's cost on the request path: UsageRecorder::Record per request (Google Benchmark),
// one thread and two (the API port's default io_threads), over a few hundred (endpoint, tenant)
// keys, beside the same loop doing nothing (the baseline). Run: build/bench/usage_bench.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "usage/usage_recorder.h"

namespace {

std::vector<std::string> Names(const char* prefix, int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.push_back(prefix + std::to_string(i));
  return names;
}

const std::vector<std::string> kEndpoints = Names("/v1/endpoint_", 20);
const std::vector<std::string> kTenants = Names("tenant-", 25);

dram::usage::UsageRecorder recorder(0);

void Record(benchmark::State& state) {
  size_t i = static_cast<size_t>(state.thread_index()) * 7;
  for (auto _ : state) {
    ++i;
    recorder.Record({.endpoint = kEndpoints[i % kEndpoints.size()], .dataset = "sales", .tenant = kTenants[i % kTenants.size()],
                     .status = 200, .cache_hit = true, .rows = 10, .bytes = 49'000, .seconds = 0.0003});
  }
}
BENCHMARK(Record)->Threads(1)->Threads(2)->UseRealTime();

void Baseline(benchmark::State& state) {
  size_t i = 0;
  for (auto _ : state) {
    ++i;
    benchmark::DoNotOptimize(kEndpoints[i % kEndpoints.size()].size() + kTenants[i % kTenants.size()].size());
  }
}
BENCHMARK(Baseline)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
