// `dram shadow-diff`: the cutover gate. Replays recorded requests against the live system and a
// candidate, compares the responses as data (cli/response_diff.h) and reports parity per endpoint.
#include "cli/shadow_diff.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cli/access_log.h"
#include "cli/flags.h"
#include "cli/response_diff.h"
#include "common/mutex.h"
#include "store/http_transport.h"

namespace dram::cli {

namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kHelp = R"(dram shadow-diff --live URL --candidate URL --requests FILE [flags]

Replays recorded GET requests against the live system and a candidate, compares each pair of
responses as data and prints a parity report per endpoint (path without query): requests, equal,
different, errors, and the first differences with both values. Exits 0 when
(different + errors) / requests <= --threshold, 1 above it, 2 on usage errors.

FILE holds one request per line: a path and query (/v1/sales?region=north), a full URL (its
origin is dropped), or an nginx/Apache combined access-log line (GET lines only). Blank lines and
lines starting with '#' are skipped.

Comparison: the `data` of a dram envelope (never its `meta`), or the whole JSON body; numbers
within a relative tolerance; rows order-insensitive unless the query has sort/order (or
--ordered); field order never matters. Different statuses are differences; a transport failure
or timeout is an error. Two equal non-2xx statuses are equal when their error codes are.

  --concurrency N      requests in flight per system (default 8, at most 256)
  --rate R             request pairs per second, 0 = unbounded (default 0)
  --max-requests N     replay at most the first N requests of FILE (default: all)
  --timeout MS         per request (default 30000)
  --tolerance T        relative tolerance for numbers (default 1e-9)
  --ignore FIELD       drop this field wherever it appears (repeatable, or comma-separated)
  --rename OLD=NEW     the live system's field OLD is the candidate's NEW (repeatable)
  --ordered            compare rows in order for every request
  --unordered          compare rows as a multiset for every request
  --threshold R        the mismatch ratio allowed, 0..1 (default 0)
  --report FILE        also write the report as JSON to FILE

Headers for each system (Authorization, tenant headers) come from the environment, one
"Name: value" per line, so tokens never appear on the command line:
  DRAM_SHADOW_LIVE_HEADERS, DRAM_SHADOW_CANDIDATE_HEADERS
)";

constexpr size_t kMaxExamplesPerEndpoint = 5;
constexpr int kMaxConcurrency = 256;

struct System {
  std::string base_url;  // without a trailing slash
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Example {
  std::string request;
  std::string kind;  // "different" or "error"
  std::string where;
  std::string live;
  std::string candidate;
};

struct EndpointStats {
  int64_t requests = 0;
  int64_t equal = 0;
  int64_t different = 0;
  int64_t errors = 0;
  std::vector<Example> examples;
};

struct Options {
  System live;
  System candidate;
  std::vector<std::string> targets;
  int concurrency = 8;
  double rate = 0;
  std::chrono::milliseconds timeout{30'000};
  CompareOptions compare;
  enum class Order { kAuto, kOrdered, kUnordered } order = Order::kAuto;
  double threshold = 0;
  std::string report_path;
};

// "Name: value" lines; lines without a colon are skipped.
std::vector<std::pair<std::string, std::string>> HeadersFromEnv(const char* variable) {
  std::vector<std::pair<std::string, std::string>> headers;
  const char* text = std::getenv(variable);
  if (!text) return headers;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) continue;
    size_t start = line.find_first_not_of(" \t", colon + 1);
    std::string value = start == std::string::npos ? "" : line.substr(start);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
    headers.emplace_back(line.substr(0, colon), value);
  }
  return headers;
}

// Every value of a repeatable flag (--name V and --name=V), in order.
std::vector<std::string> RepeatedFlag(int argc, char** argv, const std::string& name) {
  std::vector<std::string> values;
  const std::string flag = "--" + name;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == flag && i + 1 < argc) {
      values.push_back(argv[++i]);
    } else if (arg.starts_with(flag + "=")) {
      values.push_back(arg.substr(flag.size() + 1));
    }
  }
  return values;
}

std::string ErrorCodeOf(const std::string& body) {
  boost::system::error_code error;
  json::value value = json::parse(body, error);
  if (error || !value.is_object()) return "";
  const json::value* error_object = value.get_object().if_contains("error");
  if (!error_object || !error_object->is_object()) return "";
  const json::value* code = error_object->get_object().if_contains("code");
  return code && code->is_string() ? std::string(code->get_string()) : "";
}

std::string Describe(const Result<store::HttpReply>& reply) {
  return reply.ok() ? "HTTP " + std::to_string(reply->status) : reply.status().ToString();
}

class Replayer {
 public:
  explicit Replayer(const Options& options) : options_(options) {}

  // Replays every target; returns the per-endpoint statistics.
  std::map<std::string, EndpointStats> Run() {
    std::atomic<size_t> next{0};
    int workers = std::max(1, std::min<int>(options_.concurrency, static_cast<int>(options_.targets.size())));
    std::vector<std::thread> threads;
    for (int i = 0; i < workers; ++i) {
      threads.emplace_back([&] {
        for (size_t index = next++; index < options_.targets.size(); index = next++) {
          WaitForSlot();
          ReplayOne(options_.targets[index]);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    common::MutexLock lock(mu_);
    return stats_;
  }

 private:
  // --rate: each request pair takes the next free slot, 1/rate apart.
  void WaitForSlot() {
    if (options_.rate <= 0) return;
    Clock::time_point slot;
    {
      common::MutexLock lock(mu_);
      auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / options_.rate));
      next_slot_ = std::max(next_slot_, Clock::now());
      slot = next_slot_;
      next_slot_ += interval;
    }
    std::this_thread::sleep_until(slot);
  }

  Result<store::HttpReply> Fetch(const System& system, const std::string& target) {
    store::HttpCall call;
    call.url = system.base_url + target;
    call.headers = system.headers;
    call.timeout = options_.timeout;
    return transport_.Perform(call);
  }

  void ReplayOne(const std::string& target) {
    Result<store::HttpReply> live = Fetch(options_.live, target);
    Result<store::HttpReply> candidate = Fetch(options_.candidate, target);
    std::optional<Example> example;
    bool error = false;
    if (!live.ok() || !candidate.ok()) {
      error = true;
      example = Example{target, "error", "transport", Describe(live), Describe(candidate)};
    } else if (live->status != candidate->status) {
      example = Example{target, "different", "status", Describe(live), Describe(candidate)};
    } else if (live->status / 100 != 2) {
      std::string live_code = ErrorCodeOf(live->body);
      std::string candidate_code = ErrorCodeOf(candidate->body);
      if (live_code != candidate_code) example = Example{target, "different", "error.code", live_code, candidate_code};
    } else {
      CompareOptions compare = options_.compare;
      compare.ordered = options_.order == Options::Order::kOrdered ||
                        (options_.order == Options::Order::kAuto && QueryHasOrder(target));
      if (auto difference = CompareBodies(live->body, candidate->body, compare)) {
        example = Example{target, "different", difference->where, difference->live, difference->candidate};
      }
    }
    common::MutexLock lock(mu_);
    EndpointStats& stats = stats_[PathOf(target)];
    ++stats.requests;
    if (!example) {
      ++stats.equal;
      return;
    }
    ++(error ? stats.errors : stats.different);
    if (stats.examples.size() < kMaxExamplesPerEndpoint) stats.examples.push_back(std::move(*example));
  }

  const Options& options_;
  store::HttpTransport transport_;
  common::Mutex mu_;
  std::map<std::string, EndpointStats> stats_ GUARDED_BY(mu_);
  Clock::time_point next_slot_ GUARDED_BY(mu_);
};

json::object ReportJson(const Options& options, const std::map<std::string, EndpointStats>& stats, double seconds,
                        int64_t mismatches, double ratio) {
  json::object report;
  report["live"] = options.live.base_url;
  report["candidate"] = options.candidate.base_url;
  int64_t requests = 0, equal = 0, different = 0, errors = 0;
  json::array endpoints;
  for (const auto& [path, s] : stats) {
    requests += s.requests, equal += s.equal, different += s.different, errors += s.errors;
    json::array examples;
    for (const auto& e : s.examples) {
      json::object example;
      example["request"] = e.request;
      example["kind"] = e.kind;
      example["where"] = e.where;
      example["live"] = e.live;
      example["candidate"] = e.candidate;
      examples.push_back(std::move(example));
    }
    json::object endpoint;
    endpoint["endpoint"] = path;
    endpoint["requests"] = s.requests;
    endpoint["equal"] = s.equal;
    endpoint["different"] = s.different;
    endpoint["errors"] = s.errors;
    endpoint["differences"] = std::move(examples);
    endpoints.push_back(std::move(endpoint));
  }
  report["requests"] = requests;
  report["equal"] = equal;
  report["different"] = different;
  report["errors"] = errors;
  report["mismatches"] = mismatches;
  report["mismatch_ratio"] = ratio;
  report["threshold"] = options.threshold;
  report["passed"] = ratio <= options.threshold;
  report["concurrency"] = options.concurrency;
  report["elapsed_seconds"] = seconds;
  report["requests_per_second"] = seconds > 0 ? static_cast<double>(requests) / seconds : 0.0;
  report["endpoints"] = std::move(endpoints);
  return report;
}

void PrintText(const Options& options, const std::map<std::string, EndpointStats>& stats, double seconds,
               int64_t requests, int64_t mismatches, double ratio) {
  size_t width = 8;
  for (const auto& [path, s] : stats) width = std::max(width, path.size());
  std::printf("%-*s  %8s  %8s  %9s  %6s\n", static_cast<int>(width), "ENDPOINT", "REQUESTS", "EQUAL", "DIFFERENT", "ERRORS");
  for (const auto& [path, s] : stats) {
    std::printf("%-*s  %8lld  %8lld  %9lld  %6lld\n", static_cast<int>(width), path.c_str(), static_cast<long long>(s.requests),
                static_cast<long long>(s.equal), static_cast<long long>(s.different), static_cast<long long>(s.errors));
  }
  bool any = false;
  for (const auto& [path, s] : stats) {
    for (const auto& e : s.examples) {
      if (!any) std::printf("\nfirst differences:\n"), any = true;
      std::printf("  %s  [%s] %s\n    live:      %s\n    candidate: %s\n", e.request.c_str(), e.kind.c_str(),
                  e.where.c_str(), e.live.c_str(), e.candidate.c_str());
    }
  }
  bool passed = ratio <= options.threshold;
  std::printf("\n%lld requests, %lld mismatched (ratio %.6g, threshold %.6g): %s\n", static_cast<long long>(requests),
              static_cast<long long>(mismatches), ratio, options.threshold, passed ? "PASS" : "FAIL");
  std::printf("%.1f requests/s at concurrency %d (%.3f s)\n", seconds > 0 ? requests / seconds : 0.0,
              options.concurrency, seconds);
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "dram shadow-diff: %s\n", message.c_str());
  return 2;
}

}  // namespace

int ShadowDiffCommand(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv, 2,
                           {"live", "candidate", "requests", "concurrency", "rate", "max-requests", "timeout", "tolerance",
                            "ignore", "rename", "threshold", "report"},
                           {"ordered", "unordered"});
  if (flags.help) return std::fputs(kHelp, stdout), 0;
  if (!flags.error.empty()) return Usage(flags.error);
  if (!flags.positional.empty()) return Usage("unexpected argument '" + flags.positional[0] + "'");
  auto get = [&](const char* name) { return flags.values.count(name) ? flags.values.at(name) : std::string(); };
  // Numeric flags: the whole text must be a number within [min, max].
  auto number = [&](const char* name, double fallback, double min, double max, double& out) {
    std::string text = get(name);
    if (text.empty()) return out = fallback, true;
    char* end = nullptr;
    out = std::strtod(text.c_str(), &end);
    return *end == '\0' && out >= min && out <= max;
  };

  Options options;
  for (auto [name, system, env] : {std::tuple{"live", &options.live, "DRAM_SHADOW_LIVE_HEADERS"},
                                   std::tuple{"candidate", &options.candidate, "DRAM_SHADOW_CANDIDATE_HEADERS"}}) {
    std::string url = get(name);
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      return Usage(std::string("--") + name + " must be an http:// or https:// URL");
    }
    while (url.ends_with("/")) url.pop_back();
    system->base_url = url;
    system->headers = HeadersFromEnv(env);
  }
  double concurrency, rate, max_requests, timeout_ms;
  if (!number("concurrency", 8, 1, kMaxConcurrency, concurrency)) return Usage("--concurrency must be 1..256");
  if (!number("rate", 0, 0, 1e9, rate)) return Usage("--rate must be >= 0 (requests/s; 0 = unbounded)");
  if (!number("max-requests", 0, 0, 1e12, max_requests)) return Usage("--max-requests must be >= 0");
  if (!number("timeout", 30000, 1, 3.6e6, timeout_ms)) return Usage("--timeout must be 1..3600000 ms");
  if (!number("tolerance", 1e-9, 0, 1, options.compare.tolerance)) return Usage("--tolerance must be 0..1");
  if (!number("threshold", 0, 0, 1, options.threshold)) return Usage("--threshold must be 0..1");
  options.concurrency = static_cast<int>(concurrency);
  options.rate = rate;
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_ms));
  options.report_path = get("report");
  if (flags.values.count("ordered") && flags.values.count("unordered")) return Usage("--ordered and --unordered exclude each other");
  if (flags.values.count("ordered")) options.order = Options::Order::kOrdered;
  if (flags.values.count("unordered")) options.order = Options::Order::kUnordered;
  for (const std::string& value : RepeatedFlag(argc, argv, "ignore")) {
    for (const std::string& field : SplitCommas(value)) options.compare.ignore.insert(field);
  }
  for (const std::string& value : RepeatedFlag(argc, argv, "rename")) {
    size_t equals = value.find('=');
    if (equals == 0 || equals == std::string::npos || equals + 1 == value.size()) return Usage("--rename takes OLD=NEW");
    options.compare.renames[value.substr(0, equals)] = value.substr(equals + 1);
  }

  if (get("requests").empty()) return Usage("--requests FILE is required");
  std::ifstream file(get("requests"), std::ios::binary);
  if (!file) return Usage("cannot read " + get("requests"));
  std::stringstream text;
  text << file.rdbuf();
  options.targets = ParseRequestFile(text.str(), static_cast<size_t>(max_requests));
  if (options.targets.empty()) return Usage("no GET requests in " + get("requests"));

  Clock::time_point start = Clock::now();
  std::map<std::string, EndpointStats> stats = Replayer(options).Run();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  int64_t requests = 0, mismatches = 0;
  for (const auto& [path, s] : stats) requests += s.requests, mismatches += s.different + s.errors;
  double ratio = requests > 0 ? static_cast<double>(mismatches) / static_cast<double>(requests) : 0.0;
  PrintText(options, stats, seconds, requests, mismatches, ratio);
  if (!options.report_path.empty()) {
    std::ofstream out(options.report_path, std::ios::binary | std::ios::trunc);
    out << json::serialize(ReportJson(options, stats, seconds, mismatches, ratio)) << "\n";
    if (!out) {
      std::fprintf(stderr, "dram shadow-diff: cannot write %s\n", options.report_path.c_str());
      return 1;
    }
  }
  return ratio <= options.threshold ? 0 : 1;
}

}  // namespace dram::cli
