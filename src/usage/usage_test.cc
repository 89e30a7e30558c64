#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/database.h"
#include "engine/result_encoder.h"
#include "store/local_object_store.h"
#include "usage/usage_file.h"
#include "usage/usage_flusher.h"
#include "usage/usage_recorder.h"
#include "usage/usage_report.h"

namespace dram::usage {
namespace {

namespace fs = std::filesystem;

class ScratchDir {
 public:
  ScratchDir() : path_(fs::temp_directory_path() / ("dram-usage-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))) {
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

RequestUsage Request(std::string_view endpoint, std::string_view tenant, int status, double seconds) {
  return RequestUsage{.endpoint = endpoint, .dataset = "sales", .tenant = tenant, .status = status, .ran_query = true,
                      .rows = 3, .bytes = 100, .dataset_bytes = 1000, .seconds = seconds};
}

TEST(UsageRecorderTest, SumsPerEndpointAndTenantAndStartsANewInterval) {
  UsageRecorder recorder(1000);
  recorder.Record(Request("/v1/a", "acme", 200, 0.002));
  recorder.Record(Request("/v1/a", "acme", 404, 0.0001));
  recorder.Record(Request("/v1/a", "globex", 500, 20));
  RequestUsage hit = Request("/v1/b", "", 200, 0.0004);
  hit.cache_hit = true;
  hit.ran_query = false;
  recorder.Record(hit);

  UsageInterval first = recorder.TakeInterval(61'000);
  EXPECT_EQ(first.start_ms, 1000);
  EXPECT_EQ(first.end_ms, 61'000);
  ASSERT_EQ(first.rows.size(), 3u);
  EXPECT_EQ(first.rows[0].endpoint, "/v1/a");
  EXPECT_EQ(first.rows[0].tenant, "acme");
  const UsageCounts& acme = first.rows[0].counts;
  EXPECT_EQ(acme.requests, 2);
  EXPECT_EQ(acme.errors, 1);
  EXPECT_EQ(acme.server_errors, 0);
  EXPECT_EQ(acme.queries, 2);
  EXPECT_EQ(acme.rows, 6);
  EXPECT_EQ(acme.bytes, 200);
  EXPECT_EQ(acme.latency[0], 1);  // 0.1 ms ≤ 0.5 ms
  EXPECT_EQ(acme.latency[2], 1);  // 2 ms in (1 ms, 2.5 ms]
  const UsageCounts& globex = first.rows[1].counts;
  EXPECT_EQ(globex.server_errors, 1);
  EXPECT_EQ(globex.latency[kLatencyBuckets - 1], 1);  // slower than the last bound
  EXPECT_DOUBLE_EQ(globex.latency_max_seconds, 20);
  EXPECT_EQ(first.rows[2].counts.cache_hits, 1);
  EXPECT_EQ(first.rows[2].counts.queries, 0);

  UsageInterval second = recorder.TakeInterval(121'000);
  EXPECT_EQ(second.start_ms, 61'000);
  EXPECT_TRUE(second.rows.empty());
}

TEST(UsageRecorderTest, BoundsTheKeysPerInterval) {
  UsageRecorder recorder(0, /*max_keys=*/4);
  for (int i = 0; i < 100; ++i) recorder.Record(Request("/v1/a", "tenant" + std::to_string(i), 200, 0.001));
  UsageInterval interval = recorder.TakeInterval(1);
  int64_t total = 0;
  bool other = false;
  for (const auto& row : interval.rows) {
    total += row.counts.requests;
    other = other || row.tenant == UsageRecorder::kOtherTenant;
  }
  EXPECT_LE(interval.rows.size(), 5u);
  EXPECT_TRUE(other);
  EXPECT_EQ(total, 100);  // nothing lost, only lumped together
  // The bound is per interval: the next one has room again.
  recorder.Record(Request("/v1/a", "fresh", 200, 0.001));
  EXPECT_EQ(recorder.TakeInterval(2).rows.at(0).tenant, "fresh");
}

TEST(UsageRecorderTest, ConcurrentRecordsAllCount) {
  UsageRecorder recorder(0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&recorder, t] {
      for (int i = 0; i < 5000; ++i) recorder.Record(Request("/v1/a", t % 2 ? "x" : "y", 200, 0.001));
    });
  }
  for (auto& thread : threads) thread.join();
  int64_t total = 0;
  for (const auto& row : recorder.TakeInterval(1).rows) total += row.counts.requests;
  EXPECT_EQ(total, 20'000);
}

TEST(UsageFileTest, KeysArePartitionedByDayAndSafe) {
  // 2026-12-02T15:30:07Z
  EXPECT_EQ(UsageObjectKey(1796225407000, "host:8080/../x", "ab"), "_usage/day=2026-12-02/host_8080_.._x-153007-ab.parquet");
  EXPECT_EQ(UsageDayPrefix(0), "_usage/day=1970-01-01/");
}

TEST(HistogramQuantileTest, InterpolatesInsideTheBucketLikePrometheus) {
  const std::vector<double> bounds = {1, 2, 4};
  EXPECT_EQ(HistogramQuantile(0.5, bounds, {0, 0, 0, 0}, 9), 0);
  // 10 in (1, 2]: the median is halfway through it.
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.5, bounds, {0, 10, 0, 0}, 9), 1.5);
  // 1 in [0, 1], 3 in (2, 4]: p50 = rank 2 → a third of the way into (2, 4].
  EXPECT_NEAR(HistogramQuantile(0.5, bounds, {1, 0, 3, 0}, 9), 2 + 2.0 / 3, 1e-12);
  // In the open bucket: the largest value seen; and never past it.
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.99, bounds, {1, 0, 0, 5}, 7.5), 7.5);
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.99, bounds, {0, 0, 5, 0}, 2.5), 2.5);
}

// The flusher writes Parquet that DuckDB reads back as written; the report sums files from two
// members and from a restart (two flushers), and prices what was avoided.
TEST(UsageFlusherTest, WritesParquetThatTheReportSums) {
  ScratchDir root, scratch;
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const char* member : {"m1", "m2", "m1"}) {
    UsageRecorder recorder(now_ms - 60'000);
    for (int i = 0; i < 10; ++i) recorder.Record(Request("/v1/a", "acme", i == 0 ? 500 : 200, 0.003));
    recorder.Record(Request("/v1/b", "globex", 200, 0.0002));
    UsageFlusher flusher(recorder, std::make_unique<store::LocalObjectStore>(root.str()),
                         UsageFlusherOptions{.member = member, .interval = std::chrono::hours(1), .scratch_dir = scratch.str()});
    flusher.Start();
    flusher.Stop();  // the final flush writes the interval
    std::string metrics;
    flusher.RenderMetrics(metrics);
    EXPECT_NE(metrics.find("dram_usage_files_written_total 1\n"), std::string::npos) << metrics;
  }
  store::LocalObjectStore store(root.str());
  auto listed = store.List("_usage/", "", "", 1000);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->objects.size(), 3u);

  // DuckDB reads a file back with every value as recorded.
  auto database = engine::Database::Open("", {.read_only = false});
  ASSERT_TRUE(database.ok());
  auto connection = (*database)->Connect();
  ASSERT_TRUE(connection.ok());
  auto result = (*connection)->Query("SELECT endpoint || '|' || tenant || '|' || requests || '|' || errors || '|' || latency_counts[4] || '|' || "
                                     "len(latency_bounds_seconds) FROM read_parquet(" +
                                     std::string("'") + root.str() + "/" + listed->objects[0].key + "') ORDER BY 1");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto text = engine::ColumnText(*result, 0);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, (std::vector<std::string>{"/v1/a|acme|10|1|10|14", "/v1/b|globex|1|0|0|14"}));

  ReportOptions options{.since_ms = now_ms - 86'400'000, .price_per_query = 0.01, .price_per_tb_scanned = 5,
                        .scratch_dir = scratch.str()};
  auto report = BuildUsageReport(store, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->files, 3);
  EXPECT_EQ(report->members, (std::vector<std::string>{"m1", "m2"}));
  ASSERT_EQ(report->lines.size(), 2u);
  EXPECT_EQ(report->lines[0].key, "/v1/a");
  EXPECT_EQ(report->lines[0].requests, 30);
  EXPECT_EQ(report->lines[0].errors, 3);
  EXPECT_EQ(report->lines[0].warehouse_queries_avoided, 27);
  EXPECT_DOUBLE_EQ(report->lines[0].scanned_bytes_avoided, 27 * 1000.0);
  EXPECT_NEAR(report->lines[0].cost_avoided, 27 * 0.01 + 27 * 1000.0 / 1e12 * 5, 1e-12);
  EXPECT_GT(report->lines[0].p50_ms, 2.5);  // every request took 3 ms: bucket (2.5, 5]
  EXPECT_LE(report->lines[0].p99_ms, 3.0);  // capped at the slowest seen
  EXPECT_EQ(report->total.requests, 33);

  options.by = "tenant";
  auto by_tenant = BuildUsageReport(store, options);
  ASSERT_TRUE(by_tenant.ok());
  EXPECT_EQ(by_tenant->lines.at(1).key, "globex");
  // A window before any usage reads no file at all.
  options.until_ms = options.since_ms + 1;
  auto empty = BuildUsageReport(store, options);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->files, 0);

  auto json = FormatUsageReport(*report, "json");
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find("\"warehouse_queries_avoided\":27"), std::string::npos) << *json;
  auto csv = FormatUsageReport(*report, "csv");
  ASSERT_TRUE(csv.ok());
  EXPECT_EQ(csv->substr(0, csv->find('\n')),
            "endpoint,requests,errors,error_pct,cache_hit_pct,rows,bytes,p50_ms,p95_ms,p99_ms,warehouse_queries_avoided,"
            "scanned_tb_avoided,cost_avoided");
  EXPECT_FALSE(FormatUsageReport(*report, "xml").ok());
  options.by = "color";
  EXPECT_FALSE(BuildUsageReport(store, options).ok());
}

// A store that refuses puts keeps the interval pending; once it takes them, nothing was lost.
TEST(UsageFlusherTest, KeepsIntervalsWhileTheStoreRefuses) {
  ScratchDir root, scratch;
  fs::path blocked = fs::path(root.str()) / "_usage";
  { std::ofstream(blocked) << "a file where the directory should be"; }  // every put under it fails
  UsageRecorder recorder(0);
  UsageFlusher flusher(recorder, std::make_unique<store::LocalObjectStore>(root.str()),
                       UsageFlusherOptions{.member = "m", .scratch_dir = scratch.str()});
  recorder.Record(Request("/v1/a", "t", 200, 0.001));
  EXPECT_FALSE(flusher.FlushNow().ok());
  recorder.Record(Request("/v1/a", "t", 200, 0.001));
  EXPECT_FALSE(flusher.FlushNow().ok());
  std::string metrics;
  flusher.RenderMetrics(metrics);
  EXPECT_NE(metrics.find("dram_usage_pending_intervals 2\n"), std::string::npos) << metrics;
  fs::remove(blocked);
  EXPECT_TRUE(flusher.FlushNow().ok());
  store::LocalObjectStore store(root.str());
  ReportOptions options{.scratch_dir = scratch.str()};
  auto report = BuildUsageReport(store, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->files, 2);
  EXPECT_EQ(report->total.requests, 2);
}

}  // namespace
}  // namespace dram::usage
