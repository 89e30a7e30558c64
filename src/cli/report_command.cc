#include "cli/report_command.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "api/project.h"
#include "cli/flags.h"
#include "common/civil_time.h"
#include "common/units.h"
#include "store/store_uri.h"
#include "usage/usage_report.h"

namespace dram::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kReportHelp = R"(dram report [DIR] [--from URI] [flags]

Sums the usage log every server writes to its usage store (Parquet files under _usage/, one per
member per minute; any DuckDB reads them too) over a window: requests, errors, cache hits, rows,
bytes and latency percentiles per endpoint, tenant, dataset, member or day, and the warehouse
queries that were avoided with their estimated cost. Reads every member's files, across restarts.

  DIR                    a project: its dram.yml's usage.store and usage.warehouse prices
  --from URI             the usage store (a directory, s3://bucket/prefix, gs://…); a server
                         following a catalog writes beside it, so that is the catalog's URI.
                         Default with DIR: usage.store, else DIR/.dram
  --since WHEN           a duration back from now (7d, 24h, 30m) or a date/time (2026-11-01,
                         2026-11-01T09:00:00Z); default 7d
  --until WHEN           the same; default now
  --by KEY               endpoint (default), tenant, dataset, member or day
  --format F             table (default), csv or json
  --price-per-query X    the warehouse's price of one query (default: usage.warehouse.price_per_query, else 0)
  --price-per-tb X       its price per TB scanned (default: usage.warehouse.price_per_tb_scanned, else 0)

Warehouse queries avoided are the requests answered without an error; the scanned bytes avoided
count each as a scan of its dataset's snapshot (an upper bound: a warehouse prunes columns).
)";

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "7d" → now − 7 days; "2026-11-01" or an ISO timestamp → that instant (UTC).
std::optional<int64_t> ParseWhen(const std::string& text, int64_t now_ms) {
  if (auto duration = common::ParseDurationMs(text)) return now_ms - *duration;
  if (auto micros = common::ParseIsoTimestamp(text)) return *micros / 1000;
  return std::nullopt;
}

std::optional<double> ParsePrice(const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value >= 0) || value > 1e12) return std::nullopt;
  return value;
}

}  // namespace

int ReportCommand(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv, 2, {"from", "since", "until", "by", "format", "price-per-query", "price-per-tb"});
  if (flags.help) return std::fputs(kReportHelp, stdout), 0;
  if (!flags.error.empty()) return std::fprintf(stderr, "dram report: %s\n", flags.error.c_str()), 2;
  if (flags.positional.size() > 1 || (flags.positional.empty() && !flags.values.count("from"))) {
    return std::fputs("dram report: expected a project DIR or --from URI (see dram report --help)\n", stderr), 2;
  }
  auto flag = [&](const char* name, const std::string& fallback) {
    auto found = flags.values.find(name);
    return found == flags.values.end() ? fallback : found->second;
  };
  usage::ReportOptions options;
  std::string uri;
  if (!flags.positional.empty()) {
    common::Diagnostics diagnostics;
    api::ProjectSpec project = api::LoadProject(flags.positional[0], diagnostics);
    if (!diagnostics.empty()) {
      std::fprintf(stderr, "dram report: the project has errors:\n%s", diagnostics.ToString().c_str());
      return 1;
    }
    const api::UsageSettings& usage = project.settings.usage;
    uri = usage.store.empty() ? (fs::path(project.dir) / ".dram").lexically_normal().string() : usage.store;
    options.price_per_query = usage.price_per_query;
    options.price_per_tb_scanned = usage.price_per_tb_scanned;
  }
  uri = flag("from", uri);
  const int64_t now_ms = NowMillis();
  auto since = ParseWhen(flag("since", "7d"), now_ms);
  auto until = flags.values.count("until") ? ParseWhen(flags.values.at("until"), now_ms) : std::optional<int64_t>(now_ms + 1);
  if (!since || !until) return std::fputs("dram report: --since/--until take a duration (7d, 12h) or an ISO date/time\n", stderr), 2;
  options.since_ms = *since;
  options.until_ms = *until;
  options.by = flag("by", "endpoint");
  for (auto [name, field] : {std::pair{"price-per-query", &options.price_per_query}, std::pair{"price-per-tb", &options.price_per_tb_scanned}}) {
    if (!flags.values.count(name)) continue;
    auto price = ParsePrice(flags.values.at(name));
    if (!price) return std::fprintf(stderr, "dram report: --%s takes a non-negative number\n", name), 2;
    *field = *price;
  }
  const std::string format = flag("format", "table");
  if (format != "table" && format != "csv" && format != "json") {
    return std::fputs("dram report: --format must be table, csv or json\n", stderr), 2;
  }
  std::error_code ec;
  options.scratch_dir = (fs::temp_directory_path(ec) / "dram-report").string();

  auto store = store::OpenStore(uri);
  if (!store.ok()) return std::fprintf(stderr, "dram report: %s\n", store.status().ToString().c_str()), 1;
  auto report = usage::BuildUsageReport(**store, options);
  if (!report.ok()) return std::fprintf(stderr, "dram report: %s\n", report.status().ToString().c_str()), 1;
  auto text = usage::FormatUsageReport(*report, format);
  if (!text.ok()) return std::fprintf(stderr, "dram report: %s\n", text.status().ToString().c_str()), 2;
  std::fputs(text->c_str(), stdout);
  return 0;
}

}  // namespace dram::cli
