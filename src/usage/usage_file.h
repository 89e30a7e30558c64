#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dram/status.h"
#include "usage/usage_recorder.h"

namespace dram::usage {

// Where usage files live in a store: `_usage/day=YYYY-MM-DD/<member>-<HHMMSS>-<unique>.parquet`,
// one file per member per flush, by the interval's start (UTC). The day is a Hive partition, so
// `read_parquet('…/_usage/*/*.parquet', hive_partitioning = true)` reads them from any DuckDB.
inline constexpr std::string_view kUsagePrefix = "_usage/";

// The prefix of one day's files ("_usage/day=2026-12-02/").
std::string UsageDayPrefix(int64_t days_since_epoch);
// `member` is reduced to [A-Za-z0-9._-] (anything else becomes '_'); `unique` tells apart two
// processes of the same member flushing in the same second (a restart).
std::string UsageObjectKey(int64_t interval_start_ms, std::string_view member, std::string_view unique);

// One interval as a Parquet file (zstd), one row per (endpoint, dataset, tenant):
//   interval_start TIMESTAMP, interval_end TIMESTAMP, member, endpoint, dataset, tenant VARCHAR,
//   requests, errors, server_errors, cache_hits, queries, rows, bytes, dataset_bytes BIGINT,
//   latency_sum_seconds, latency_max_seconds DOUBLE,
//   latency_bounds_seconds DOUBLE[] (upper bounds; the last count is everything slower),
//   latency_counts BIGINT[].
// `scratch_dir` holds the file while DuckDB writes it. Errors: Internal from DuckDB,
// Unavailable when the scratch file cannot be written or read.
Result<std::string> EncodeUsageParquet(const UsageInterval& interval, std::string_view member,
                                       const std::string& scratch_dir);

}  // namespace dram::usage
