#include "usage/usage_report.h"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "common/civil_time.h"
#include "common/json_text.h"
#include "common/sql_text.h"
#include "engine/database.h"
#include "engine/result_encoder.h"
#include "usage/usage_file.h"

namespace dram::usage {

namespace {

namespace fs = std::filesystem;
constexpr int64_t kMillisPerDay = 86'400'000;

// The grouping column of each `by`, as SQL over the usage table's columns (fixed text, never input).
const std::map<std::string, std::string>& Groupings() {
  static const auto* groupings = new std::map<std::string, std::string>{
      {"endpoint", "CASE WHEN endpoint = '' THEN '(unmatched)' ELSE endpoint END"},
      {"tenant", "CASE WHEN tenant = '' THEN '(none)' ELSE tenant END"},
      {"dataset", "CASE WHEN dataset = '' THEN '(none)' ELSE dataset END"},
      {"member", "member"},
      {"day", "strftime(interval_start, '%Y-%m-%d')"},
  };
  return *groupings;
}

Result<std::vector<std::string>> ListAll(store::ObjectStore& store, const std::string& prefix, bool directories) {
  std::vector<std::string> out;
  std::string continuation;
  do {
    ASSIGN_OR_RETURN(store::ListResult page, store.List(prefix, directories ? "/" : "", continuation));
    if (directories) {
      out.insert(out.end(), page.prefixes.begin(), page.prefixes.end());
    } else {
      for (const auto& object : page.objects) out.push_back(object.key);
    }
    continuation = page.continuation;
  } while (!continuation.empty());
  return out;
}

// "_usage/day=2026-12-02/" → days since the epoch; nullopt for anything else under _usage/.
std::optional<int64_t> DayOfPrefix(std::string_view prefix) {
  const std::string_view head = "_usage/day=";
  if (!prefix.starts_with(head) || !prefix.ends_with("/")) return std::nullopt;
  return common::ParseIsoDate(prefix.substr(head.size(), prefix.size() - head.size() - 1));
}

// Downloads `keys` into `dir` as 0.parquet, 1.parquet, … on a few threads.
Result<std::vector<std::string>> Download(store::ObjectStore& store, const std::vector<std::string>& keys,
                                          const std::string& dir, int threads) {
  std::vector<std::string> paths(keys.size());
  std::atomic<size_t> next{0};
  std::mutex error_mu;
  Status first_error = Status::Ok();
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < keys.size();) {
      auto bytes = store.Get(keys[i]);
      if (!bytes.ok()) {
        std::lock_guard lock(error_mu);
        if (first_error.ok()) first_error = Unavailable("cannot read " + keys[i], bytes.status().ToString());
        return;
      }
      paths[i] = dir + "/" + std::to_string(i) + ".parquet";
      std::ofstream(paths[i], std::ios::binary).write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    }
  };
  std::vector<std::thread> pool;
  const size_t count = std::min<size_t>(keys.size(), static_cast<size_t>(std::max(1, threads)));
  for (size_t i = 0; i < count; ++i) pool.emplace_back(work);
  for (auto& thread : pool) thread.join();
  if (!first_error.ok()) return first_error;
  return paths;
}

Result<boost::json::array> QueryRows(engine::Connection& connection, const std::string& sql) {
  ASSIGN_OR_RETURN(engine::QueryResult result, connection.Query(sql));
  std::string json;
  RETURN_IF_ERROR(engine::EncodeResult(result, engine::Format::kJson, json).status());
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(json, ec);
  if (ec || !parsed.is_array()) return Internal("unexpected result of a usage query");
  return std::move(parsed.as_array());
}

int64_t Int(const boost::json::value& value) {
  if (value.is_int64()) return value.as_int64();
  if (value.is_uint64()) return static_cast<int64_t>(value.as_uint64());
  if (value.is_double()) return static_cast<int64_t>(value.as_double());
  return 0;
}

double Number(const boost::json::value& value) {
  if (value.is_double()) return value.as_double();
  return static_cast<double>(Int(value));
}

void AddInto(ReportLine& total, const ReportLine& line) {
  total.requests += line.requests;
  total.errors += line.errors;
  total.server_errors += line.server_errors;
  total.cache_hits += line.cache_hits;
  total.queries += line.queries;
  total.rows += line.rows;
  total.bytes += line.bytes;
  total.warehouse_queries_avoided += line.warehouse_queries_avoided;
  total.scanned_bytes_avoided += line.scanned_bytes_avoided;
  total.cost_avoided += line.cost_avoided;
  total.max_ms = std::max(total.max_ms, line.max_ms);
}

void SetQuantiles(ReportLine& line, const std::vector<double>& bounds, const std::vector<int64_t>& counts) {
  const double max_seconds = line.max_ms / 1000;
  line.p50_ms = HistogramQuantile(0.50, bounds, counts, max_seconds) * 1000;
  line.p95_ms = HistogramQuantile(0.95, bounds, counts, max_seconds) * 1000;
  line.p99_ms = HistogramQuantile(0.99, bounds, counts, max_seconds) * 1000;
}

std::string Fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

std::string Percent(int64_t part, int64_t whole) { return whole ? Fixed(100.0 * part / whole, 1) : "-"; }

std::string IsoMillis(int64_t ms) {
  std::string out;
  common::AppendIsoTimestampMicros(out, ms * 1000, true);
  return out;
}

// The columns every format shows, in order: header and the text of one line.
const std::vector<std::string>& Columns() {
  static const auto* columns = new std::vector<std::string>{
      "requests", "errors", "error_pct", "cache_hit_pct", "rows", "bytes", "p50_ms", "p95_ms", "p99_ms",
      "warehouse_queries_avoided", "scanned_tb_avoided", "cost_avoided"};
  return *columns;
}

std::vector<std::string> Cells(const ReportLine& line) {
  return {std::to_string(line.requests),
          std::to_string(line.errors),
          Percent(line.errors, line.requests),
          Percent(line.cache_hits, line.requests),
          std::to_string(line.rows),
          std::to_string(line.bytes),
          Fixed(line.p50_ms, 2),
          Fixed(line.p95_ms, 2),
          Fixed(line.p99_ms, 2),
          std::to_string(line.warehouse_queries_avoided),
          Fixed(line.scanned_bytes_avoided / 1e12, 6),
          Fixed(line.cost_avoided, 2)};
}

void AppendCsvField(std::string& out, const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    out += text;
    return;
  }
  out += '"';
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  out += '"';
}

void AppendJsonLine(std::string& out, const ReportLine& line) {
  out += "{\"key\":";
  common::AppendJsonString(out, line.key);
  auto number = [&](const char* name, double value) {
    out.append(",\"").append(name).append("\":");
    common::AppendDouble(out, value, true);
  };
  auto integer = [&](const char* name, int64_t value) { out.append(",\"").append(name).append("\":").append(std::to_string(value)); };
  integer("requests", line.requests);
  integer("errors", line.errors);
  integer("server_errors", line.server_errors);
  integer("cache_hits", line.cache_hits);
  integer("queries", line.queries);
  integer("rows", line.rows);
  integer("bytes", line.bytes);
  number("p50_ms", line.p50_ms);
  number("p95_ms", line.p95_ms);
  number("p99_ms", line.p99_ms);
  number("max_ms", line.max_ms);
  integer("warehouse_queries_avoided", line.warehouse_queries_avoided);
  number("scanned_bytes_avoided", line.scanned_bytes_avoided);
  number("cost_avoided", line.cost_avoided);
  out += "}";
}

}  // namespace

double HistogramQuantile(double q, const std::vector<double>& bounds, const std::vector<int64_t>& counts, double max_value) {
  int64_t total = 0;
  for (int64_t count : counts) total += count;
  if (total == 0) return 0;
  const double rank = q * static_cast<double>(total);
  int64_t below = 0;
  for (size_t bucket = 0; bucket < counts.size(); ++bucket) {
    if (counts[bucket] == 0 || static_cast<double>(below + counts[bucket]) < rank) {
      below += counts[bucket];
      continue;
    }
    // Past the last bound there is no upper edge: the slowest request seen is the best estimate.
    if (bucket >= bounds.size()) return max_value;
    const double lower = bucket == 0 ? 0 : bounds[bucket - 1];
    const double upper = bounds[bucket];
    const double within = (rank - static_cast<double>(below)) / static_cast<double>(counts[bucket]);
    return std::min(max_value, lower + (upper - lower) * within);
  }
  return max_value;
}

Result<UsageReport> BuildUsageReport(store::ObjectStore& store, const ReportOptions& options) {
  auto grouping = Groupings().find(options.by);
  if (grouping == Groupings().end()) {
    return InvalidArgument("--by must be endpoint, tenant, dataset, member or day", options.by);
  }
  if (options.since_ms >= options.until_ms) return InvalidArgument("the report's window is empty");
  UsageReport report;
  report.by = options.by;
  report.price_per_query = options.price_per_query;
  report.price_per_tb_scanned = options.price_per_tb_scanned;

  // Only the days the window touches are listed: a year of usage is not read for a week's report.
  ASSIGN_OR_RETURN(std::vector<std::string> days, ListAll(store, std::string(kUsagePrefix), true));
  std::vector<std::string> keys;
  for (const auto& prefix : days) {
    auto day = DayOfPrefix(prefix);
    if (!day) continue;
    const int64_t day_start = *day * kMillisPerDay;
    if (day_start + kMillisPerDay <= options.since_ms || day_start >= options.until_ms) continue;
    ASSIGN_OR_RETURN(std::vector<std::string> objects, ListAll(store, prefix, false));
    for (auto& key : objects) {
      if (key.ends_with(".parquet")) keys.push_back(std::move(key));
    }
  }
  if (keys.empty()) return report;

  std::error_code ec;
  const std::string dir = options.scratch_dir + "/report-" + std::to_string(::getpid());
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create a scratch directory", dir);
  struct RemoveOnReturn {
    std::string dir;
    ~RemoveOnReturn() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } remove_on_return{dir};
  ASSIGN_OR_RETURN(std::vector<std::string> paths, Download(store, keys, dir, options.download_threads));

  engine::DatabaseOptions database_options;
  database_options.read_only = false;
  ASSIGN_OR_RETURN(auto database, engine::Database::Open("", database_options));
  ASSIGN_OR_RETURN(auto connection, database->Connect());
  std::string files = "[";
  for (size_t i = 0; i < paths.size(); ++i) files += (i ? ", " : "") + common::QuoteLiteral(paths[i]);
  files += "]";
  // union_by_name: files written by older and newer versions of dram read together.
  RETURN_IF_ERROR(connection->Execute(
      "CREATE TABLE u AS SELECT * FROM read_parquet(" + files + ", union_by_name = true) WHERE interval_start >= make_timestamp(" +
      std::to_string(options.since_ms * 1000) + ") AND interval_start < make_timestamp(" +
      std::to_string(std::min<int64_t>(options.until_ms, INT64_MAX / 1000 - 1) * 1000) + ")"));
  const std::string& key_sql = grouping->second;

  ASSIGN_OR_RETURN(boost::json::array meta,
                   QueryRows(*connection, "SELECT count(*) AS n, epoch_ms(min(interval_start)) AS first, "
                                          "epoch_ms(max(interval_end)) AS last, list(DISTINCT member ORDER BY member) AS members, "
                                          "count(DISTINCT latency_bounds_seconds) AS bounds FROM u"));
  const auto& summary = meta.at(0).as_object();
  report.files = static_cast<int64_t>(keys.size());
  if (Int(summary.at("n")) == 0) return report;
  report.first_interval_ms = Int(summary.at("first"));
  report.last_interval_ms = Int(summary.at("last"));
  for (const auto& member : summary.at("members").as_array()) report.members.emplace_back(member.as_string());
  if (Int(summary.at("bounds")) != 1) return Internal("usage files with different latency buckets cannot be merged");

  ASSIGN_OR_RETURN(boost::json::array bounds_rows, QueryRows(*connection, "SELECT latency_bounds_seconds AS b FROM u LIMIT 1"));
  std::vector<double> bounds;
  for (const auto& bound : bounds_rows.at(0).as_object().at("b").as_array()) bounds.push_back(Number(bound));

  ASSIGN_OR_RETURN(
      boost::json::array sums,
      QueryRows(*connection, "SELECT " + key_sql +
                                 " AS key, sum(requests)::BIGINT AS requests, sum(errors)::BIGINT AS errors, "
                                 "sum(server_errors)::BIGINT AS server_errors, sum(cache_hits)::BIGINT AS cache_hits, "
                                 "sum(queries)::BIGINT AS queries, sum(\"rows\")::BIGINT AS r, sum(bytes)::BIGINT AS bytes, "
                                 "sum((requests - errors)::DOUBLE * dataset_bytes) AS scanned, "
                                 "max(latency_max_seconds) AS max_s FROM u GROUP BY 1 ORDER BY requests DESC, key"));
  ASSIGN_OR_RETURN(boost::json::array buckets,
                   QueryRows(*connection, "SELECT key, i, sum(c)::BIGINT AS c FROM (SELECT " + key_sql +
                                              " AS key, unnest(latency_counts) AS c, unnest(range(len(latency_counts))) AS i "
                                              "FROM u) GROUP BY 1, 2"));
  std::map<std::string, std::vector<int64_t>> histograms;
  std::vector<int64_t> total_histogram(bounds.size() + 1, 0);
  for (const auto& row : buckets) {
    const auto& object = row.as_object();
    const size_t bucket = static_cast<size_t>(Int(object.at("i")));
    if (bucket > bounds.size()) return Internal("a usage file has more latency counts than bounds");
    auto& histogram = histograms[std::string(object.at("key").as_string())];
    histogram.resize(bounds.size() + 1, 0);
    histogram[bucket] += Int(object.at("c"));
    total_histogram[bucket] += Int(object.at("c"));
  }
  report.total.key = "TOTAL";
  for (const auto& row : sums) {
    const auto& object = row.as_object();
    ReportLine line;
    line.key = std::string(object.at("key").as_string());
    line.requests = Int(object.at("requests"));
    line.errors = Int(object.at("errors"));
    line.server_errors = Int(object.at("server_errors"));
    line.cache_hits = Int(object.at("cache_hits"));
    line.queries = Int(object.at("queries"));
    line.rows = Int(object.at("r"));
    line.bytes = Int(object.at("bytes"));
    line.max_ms = Number(object.at("max_s")) * 1000;
    line.warehouse_queries_avoided = line.requests - line.errors;
    line.scanned_bytes_avoided = Number(object.at("scanned"));
    line.cost_avoided = static_cast<double>(line.warehouse_queries_avoided) * options.price_per_query +
                        line.scanned_bytes_avoided / 1e12 * options.price_per_tb_scanned;
    SetQuantiles(line, bounds, histograms[line.key]);
    AddInto(report.total, line);
    report.lines.push_back(std::move(line));
  }
  SetQuantiles(report.total, bounds, total_histogram);
  return report;
}

Result<std::string> FormatUsageReport(const UsageReport& report, const std::string& format) {
  std::string out;
  if (format == "json") {
    out += "{\"by\":";
    common::AppendJsonString(out, report.by);
    out += ",\"files\":" + std::to_string(report.files);
    out += ",\"from\":";
    common::AppendJsonString(out, report.first_interval_ms ? IsoMillis(report.first_interval_ms) : "");
    out += ",\"to\":";
    common::AppendJsonString(out, report.last_interval_ms ? IsoMillis(report.last_interval_ms) : "");
    out += ",\"members\":[";
    for (size_t i = 0; i < report.members.size(); ++i) {
      if (i) out += ",";
      common::AppendJsonString(out, report.members[i]);
    }
    out += "],\"pricing\":{\"per_query\":";
    common::AppendDouble(out, report.price_per_query, true);
    out += ",\"per_tb_scanned\":";
    common::AppendDouble(out, report.price_per_tb_scanned, true);
    out += "},\"rows\":[";
    for (size_t i = 0; i < report.lines.size(); ++i) {
      if (i) out += ",";
      AppendJsonLine(out, report.lines[i]);
    }
    out += "],\"total\":";
    AppendJsonLine(out, report.total);
    out += "}\n";
    return out;
  }
  std::vector<std::vector<std::string>> table;
  std::vector<std::string> header = {report.by};
  header.insert(header.end(), Columns().begin(), Columns().end());
  table.push_back(header);
  for (const auto& line : report.lines) {
    std::vector<std::string> cells = {line.key};
    for (auto& cell : Cells(line)) cells.push_back(std::move(cell));
    table.push_back(std::move(cells));
  }
  std::vector<std::string> total = {"TOTAL"};
  for (auto& cell : Cells(report.total)) total.push_back(std::move(cell));
  table.push_back(std::move(total));
  if (format == "csv") {
    for (const auto& row : table) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) out += ',';
        AppendCsvField(out, row[i]);
      }
      out += "\n";
    }
    return out;
  }
  if (format != "table") return InvalidArgument("--format must be table, csv or json", format);
  if (report.files == 0 || report.lines.empty()) {
    return std::string("no usage recorded in this window (") + std::to_string(report.files) + " files read)\n";
  }
  out += "usage " + IsoMillis(report.first_interval_ms) + " .. " + IsoMillis(report.last_interval_ms) + ", " +
         std::to_string(report.files) + " files, " + std::to_string(report.members.size()) + " member(s)\n";
  out += "warehouse queries avoided: requests answered without an error; cost avoided = avoided x " +
         Fixed(report.price_per_query, 6) + "/query + TB scanned x " + Fixed(report.price_per_tb_scanned, 2) +
         "/TB (each query scanning its dataset's snapshot once: an upper bound)\n\n";
  std::vector<size_t> widths(header.size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (size_t row_idx = 0; row_idx < table.size(); ++row_idx) {
    const auto& row = table[row_idx];
    if (row_idx + 1 == table.size()) {
      for (size_t i = 0; i < row.size(); ++i) out += std::string(widths[i], '-') + (i + 1 < row.size() ? "  " : "\n");
    }
    for (size_t col_idx = 0; col_idx < row.size(); ++col_idx) {
      const std::string& cell = row[col_idx];
      const std::string pad(widths[col_idx] - cell.size(), ' ');
      out += col_idx == 0 ? cell + pad : pad + cell;  // numbers right-aligned
      out += col_idx + 1 < row.size() ? "  " : "\n";
    }
  }
  return out;
}

}  // namespace dram::usage
