#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dram/status.h"
#include "store/object_store.h"

namespace dram::usage {

struct ReportOptions {
  int64_t since_ms = 0;                 // intervals starting at or after
  int64_t until_ms = INT64_MAX;         // intervals starting before
  std::string by = "endpoint";          // endpoint | tenant | dataset | member | day
  double price_per_query = 0;           // the warehouse's price of one query
  double price_per_tb_scanned = 0;      // and of a terabyte (10^12 bytes) it scans
  std::string scratch_dir;              // downloaded files, removed when the report is built
  int download_threads = 8;
};

// One group's sums over the usage files read.
struct ReportLine {
  std::string key;
  int64_t requests = 0;
  int64_t errors = 0;
  int64_t server_errors = 0;
  int64_t cache_hits = 0;
  int64_t queries = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0;  // from the merged latency histograms
  // Each request dram answered without an error is a query the warehouse did not run.
  int64_t warehouse_queries_avoided = 0;
  // The bytes those queries would have scanned: each reading its dataset's snapshot once (an
  // upper bound: a warehouse prunes columns and partitions).
  double scanned_bytes_avoided = 0;
  double cost_avoided = 0;
};

struct UsageReport {
  std::string by;
  int64_t files = 0;
  int64_t first_interval_ms = 0;  // start of the earliest interval read (0: none)
  int64_t last_interval_ms = 0;   // end of the latest
  std::vector<std::string> members;
  double price_per_query = 0;
  double price_per_tb_scanned = 0;
  std::vector<ReportLine> lines;  // by requests, most first
  ReportLine total;
};

// Reads the usage files under `_usage/` of `store` for the days the window touches (every member,
// across restarts) and sums them by `options.by`. Errors: InvalidArgument for an unknown grouping
// or a bad window; Unavailable when the store cannot be listed or read; Internal from DuckDB.
Result<UsageReport> BuildUsageReport(store::ObjectStore& store, const ReportOptions& options);

// "table" (aligned, for a terminal), "csv" (a header, one line per group, then TOTAL) or "json".
// Errors: InvalidArgument for another format.
Result<std::string> FormatUsageReport(const UsageReport& report, const std::string& format);

// Quantile `q` (0..1) of a histogram of `counts` over buckets with upper `bounds` (one more count
// than bounds: everything slower), interpolated linearly inside the bucket, as Prometheus's
// histogram_quantile does; capped at `max_value`. 0 for an empty histogram.
double HistogramQuantile(double q, const std::vector<double>& bounds, const std::vector<int64_t>& counts, double max_value);

}  // namespace dram::usage
