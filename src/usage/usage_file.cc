#include "usage/usage_file.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/civil_time.h"
#include "common/sql_text.h"
#include "engine/database.h"

namespace dram::usage {

namespace {

constexpr int64_t kMillisPerDay = 86'400'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

std::string SafeName(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    out.push_back(safe ? c : '_');
  }
  return out.empty() ? "_" : out;
}

std::string BoundsLiteral() {
  std::string out = "[";
  for (size_t i = 0; i < kLatencyBoundsSeconds.size(); ++i) {
    char number[32];
    std::snprintf(number, sizeof(number), "%.6g", kLatencyBoundsSeconds[i]);
    if (i) out += ", ";
    out += number;
  }
  return out + "]::DOUBLE[]";
}

// Rows per INSERT: a statement per row would be parsed and planned once per row.
constexpr size_t kRowsPerInsert = 64;
constexpr size_t kColumnsPerRow = 17;

}  // namespace

std::string UsageDayPrefix(int64_t days_since_epoch) {
  std::string out(kUsagePrefix);
  out += "day=";
  common::AppendIsoDate(out, days_since_epoch);
  out += '/';
  return out;
}

std::string UsageObjectKey(int64_t interval_start_ms, std::string_view member, std::string_view unique) {
  const int64_t day = FloorDiv(interval_start_ms, kMillisPerDay);
  const int64_t second_of_day = (interval_start_ms - day * kMillisPerDay) / 1000;
  char time[32];
  std::snprintf(time, sizeof(time), "%02d%02d%02d", static_cast<int>(second_of_day / 3600),
                static_cast<int>(second_of_day / 60 % 60), static_cast<int>(second_of_day % 60));
  return UsageDayPrefix(day) + SafeName(member) + "-" + time + "-" + SafeName(unique) + ".parquet";
}

Result<std::string> EncodeUsageParquet(const UsageInterval& interval, std::string_view member,
                                       const std::string& scratch_dir) {
  engine::DatabaseOptions options;
  options.read_only = false;
  options.threads = 1;
  ASSIGN_OR_RETURN(auto database, engine::Database::Open("", options));
  ASSIGN_OR_RETURN(auto connection, database->Connect());
  RETURN_IF_ERROR(connection->Execute(
      "CREATE TABLE usage (interval_start TIMESTAMP, interval_end TIMESTAMP, member VARCHAR, endpoint VARCHAR, "
      "dataset VARCHAR, tenant VARCHAR, requests BIGINT, errors BIGINT, server_errors BIGINT, cache_hits BIGINT, "
      "queries BIGINT, \"rows\" BIGINT, bytes BIGINT, dataset_bytes BIGINT, latency_sum_seconds DOUBLE, "
      "latency_max_seconds DOUBLE, latency_counts BIGINT[])"));
  const Value start = Timestamp{interval.start_ms * 1000};
  const Value end = Timestamp{interval.end_ms * 1000};
  const Value member_value = std::string(member);
  for (size_t first = 0; first < interval.rows.size(); first += kRowsPerInsert) {
    const size_t count = std::min(kRowsPerInsert, interval.rows.size() - first);
    std::string sql = "INSERT INTO usage VALUES ";
    std::vector<Value> values;
    values.reserve(count * kColumnsPerRow);
    for (size_t i = 0; i < count; ++i) {
      const UsageRow& row = interval.rows[first + i];
      const UsageCounts& c = row.counts;
      sql += i ? ", (" : "(";
      for (size_t column = 0; column < kColumnsPerRow; ++column) sql += column ? ", ?" : "?";
      sql += ")";
      Value::List latency(c.latency.begin(), c.latency.end());
      for (Value value : {start, end, member_value, Value(row.endpoint), Value(row.dataset), Value(row.tenant),
                          Value(c.requests), Value(c.errors), Value(c.server_errors), Value(c.cache_hits),
                          Value(c.queries), Value(c.rows), Value(c.bytes), Value(c.dataset_bytes),
                          Value(c.latency_sum_seconds), Value(c.latency_max_seconds), Value(std::move(latency))}) {
        values.push_back(std::move(value));
      }
    }
    auto inserted = connection->Query(sql, values);
    if (!inserted.ok()) return inserted.status();
  }
  static std::atomic<uint64_t> sequence{0};
  const std::string path = scratch_dir + "/usage-" + std::to_string(::getpid()) + "-" +
                           std::to_string(sequence.fetch_add(1)) + ".parquet";
  std::error_code ec;
  std::filesystem::create_directories(scratch_dir, ec);
  Status copied = connection->Execute(
      "COPY (SELECT interval_start, interval_end, member, endpoint, dataset, tenant, requests, errors, server_errors, "
      "cache_hits, queries, \"rows\", bytes, dataset_bytes, latency_sum_seconds, latency_max_seconds, " +
      BoundsLiteral() + " AS latency_bounds_seconds, latency_counts FROM usage ORDER BY endpoint, dataset, tenant) TO " +
      common::QuoteLiteral(path) + " (FORMAT parquet, COMPRESSION zstd)");
  if (!copied.ok()) {
    std::filesystem::remove(path, ec);
    return copied;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::filesystem::remove(path, ec);
  if (!in) return Unavailable("cannot read the usage file DuckDB wrote", path);
  return bytes.str();
}

}  // namespace dram::usage
