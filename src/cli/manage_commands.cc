#include "cli/manage_commands.h"

#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <map>
#include <thread>
#include <vector>

#include "cli/flags.h"
#include "common/units.h"
#include "store/http_transport.h"

namespace dram::cli {

namespace {

namespace json = boost::json;

constexpr const char* kDbHelp = R"(dram db COMMAND [args] [--admin URL]

Manages the databases of a running server through its admin port (--admin URL or DRAM_ADMIN_URL,
default http://127.0.0.1:8081; token from DRAM_ADMIN_TOKEN). The server persists every change.

  dram db add NAME URI [--tables a,b] [--refresh 5m] [--resolver R] [--sort-by TABLE:col1,col2]
                       [--lazy [--budget 2GiB]] [--idle-evict 30m]
                       [--replicas N|all] [--shards S [--shard-by file|COLUMN] [--global t1,t2]] [--wait]
        URI: a directory of Parquet/CSV files (a table per file or per sub-directory, Hive
        partitions k=v/ become columns): a path, file://, s3://bucket/prefix, gs://bucket/prefix.
        Files are listed, downloaded in parallel, verified, materialized and swapped in; a
        progress bar shows on a terminal.
        --resolver  all (default), latest_partition, success_marker or databricks
        --lazy      fetch only metadata (file list, Parquet footers) now; queries fetch the files
                    they need (partition and min/max pruning), --budget bounds what stays on disk
        --idle-evict  after this long without a request, close it and delete its files (cold);
                    the next request loads it again (with --lazy: metadata only, in seconds)
        In a cluster (dram serve --cluster): the database is committed once and every member
        placement picks loads its share.
        --replicas  copies of each shard (default all: one on every member)
        --shards    split the data into S parts (by file path, or rows by --shard-by COLUMN);
                    --global tables are copied whole into every shard
        --wait      show per-member progress until every shard has its copies ready (fails naming
                    the member and its error); --timeout SECONDS (default 600)
  dram db list                       every database: ready, version, tables, rows, sizes, last error
  dram db stats NAME                 one database in detail
  dram db versions NAME              versions on disk and recent load attempts
  dram db refresh NAME [--force]     reload now if the source changed (always with --force)
  dram db rollback NAME              serve the previous version again
  dram db delete NAME [--force]      remove it and its files (refused while an alias or endpoint
                                     uses it, unless --force)
)";

constexpr const char* kAliasHelp = R"(dram alias COMMAND [args] [--admin URL]

  dram alias list
  dram alias get ALIAS
  dram alias set ALIAS DATABASE[@VERSION]   repoint atomically (requests in flight finish on the old one)
  dram alias delete ALIAS [--force]
)";

constexpr const char* kQueryHelp = R"(dram query NAME 'SQL' [--format table|json|csv] [--admin URL]

Runs a read-only query on a database or alias of a running server (admin token required) and
prints the result as a table (default), JSON or CSV.
)";

constexpr const char* kAnalyzeHelp = R"(dram analyze NAME --map 'SQL' [--reduce 'SQL'] [--shards K,...] [--partial]
             [--timeout 30s] [--format table|json|csv] [--admin URL]

Runs an ad hoc analysis on a database of a running server (admin token required): --map (one
SELECT) runs on every shard of the database, or on the --shards named, and --reduce (one SELECT;
default: every row) runs over their results, read as the table `partials`, as an endpoint's
map/reduce would. On a sharded database, ask a cluster member: it sends each member holding a
shard its map step at one pinned snapshot per shard, retries a shard elsewhere when its member
fails, and reduces. A database that is not split is one shard (0).

  --partial    answer from the shards that have a ready copy instead of failing (JSON lists the
               missing ones)
  --timeout T  the whole analysis (default: the server's query timeout)

Example: the average order per region over a sharded database
  dram analyze orders \
    --map "SELECT region, sum(amount) AS total, count(*) AS n FROM orders GROUP BY region" \
    --reduce "SELECT region, sum(total) / sum(n) AS avg_amount FROM partials GROUP BY region ORDER BY region"
)";

struct Admin {
  std::string url;
  std::string token;
  store::HttpTransport transport;
};

struct Reply {
  long status = 0;
  std::string body;
};

std::string AdminUrl(const Flags& flags) {
  if (auto it = flags.values.find("admin"); it != flags.values.end()) return it->second;
  const char* env = std::getenv("DRAM_ADMIN_URL");
  return env && *env ? env : "http://127.0.0.1:8081";
}

// One call to the admin port. Exits the process (code 2) when the server cannot be reached.
Reply Call(Admin& admin, const std::string& method, const std::string& path, const std::string& body = "") {
  store::HttpCall call;
  call.method = method;
  call.url = admin.url + path;
  call.body = body;
  call.timeout = std::chrono::hours(6);  // an add of a large database takes as long as it takes
  if (!admin.token.empty()) call.headers.emplace_back("Authorization", "Bearer " + admin.token);
  if (!body.empty()) call.headers.emplace_back("Content-Type", "application/json");
  auto reply = admin.transport.Perform(call);
  if (!reply.ok()) {
    std::fprintf(stderr, "dram: cannot reach the admin port at %s: %s\n", admin.url.c_str(), reply.status().message().c_str());
    std::exit(2);
  }
  return {reply->status, std::move(reply->body)};
}

// Prints the server's error and returns 1, or returns 0 for a 2xx.
int Report(const Reply& reply) {
  if (reply.status / 100 == 2) return 0;
  boost::system::error_code ec;
  json::value body = json::parse(reply.body, ec);
  std::string message = reply.body;
  if (!ec && body.is_object() && body.as_object().contains("error")) {
    const auto& error = body.at("error").as_object();
    message = std::string(error.at("code").as_string()) + ": " + std::string(error.at("message").as_string());
  }
  std::fprintf(stderr, "dram: HTTP %ld: %s\n", reply.status, message.c_str());
  return 1;
}

std::string Text(const json::value& value) {
  if (value.is_string()) return std::string(value.as_string());
  if (value.is_null()) return "";
  return json::serialize(value);
}

std::string Bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char out[32];
  std::snprintf(out, sizeof out, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return out;
}

void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size());
  for (size_t c = 0; c < header.size(); ++c) widths[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < widths.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      out += cell + std::string(widths[c] - cell.size() + (c + 1 < widths.size() ? 2 : 0), ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::puts(out.c_str());
  };
  line(header);
  for (const auto& row : rows) line(row);
}

// While an add runs, polls the database's stats and draws bytes, rate and ETA on one line.
class ProgressBar {
 public:
  ProgressBar(Admin& admin, std::string name) : admin_url_(admin.url), token_(admin.token), name_(std::move(name)) {
    if (::isatty(STDOUT_FILENO)) thread_ = std::thread([this] { Run(); });
  }
  ~ProgressBar() {
    done_ = true;
    if (thread_.joinable()) {
      thread_.join();
      std::printf("\r%-100s\r", "");
      std::fflush(stdout);
    }
  }

 private:
  void Run() {
    Admin admin{admin_url_, token_};
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      store::HttpCall call{"GET", admin.url + "/databases/" + name_};
      if (!admin.token.empty()) call.headers.emplace_back("Authorization", "Bearer " + admin.token);
      auto reply = admin.transport.Perform(call);
      if (!reply.ok() || reply->status != 200 || done_) continue;
      boost::system::error_code ec;
      json::value stats = json::parse(reply->body, ec);
      if (ec) continue;
      const auto& download = stats.at("download").as_object();
      int64_t total = download.at("total_bytes").to_number<int64_t>();
      int64_t done = download.at("done_bytes").to_number<int64_t>();
      int64_t rate = download.at("bytes_per_second").to_number<int64_t>();
      double eta = download.at("eta_seconds").to_number<double>();
      constexpr int kWidth = 30;
      int filled = total > 0 ? static_cast<int>(kWidth * done / total) : 0;
      std::printf("\r[%s%s] %s / %s  %s/s  ETA %.0fs ", std::string(filled, '#').c_str(),
                  std::string(kWidth - filled, ' ').c_str(), Bytes(done).c_str(), Bytes(total).c_str(),
                  Bytes(rate).c_str(), eta);
      std::fflush(stdout);
    }
  }
  std::string admin_url_, token_, name_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

void PrintStats(const json::object& s) {
  std::vector<std::string> tables;
  for (const auto& t : s.at("tables").as_array()) tables.push_back(Text(t.at("name")) + " (" + Text(t.at("rows")) + " rows)");
  std::string table_list;
  for (const auto& t : tables) table_list += (table_list.empty() ? "" : ", ") + t;
  std::printf("name:          %s\n", Text(s.at("name")).c_str());
  std::printf("source:        %s\n", Text(s.at("source")).c_str());
  std::printf("ready:         %s%s\n", Text(s.at("ready")).c_str(),
              s.at("loading").as_bool() ? " (loading)" : s.at("cold").as_bool() ? " (cold: idle, loaded by the next request)" : "");
  std::printf("version:       %s (previous: %s)\n", Text(s.at("version")).c_str(), Text(s.at("previous")).c_str());
  std::printf("tables:        %s\n", table_list.c_str());
  std::printf("rows:          %s\n", Text(s.at("rows")).c_str());
  std::printf("on disk:       %s (snapshot)\n", Bytes(s.at("snapshot_bytes").to_number<int64_t>()).c_str());
  std::printf("in the store:  %s in %s files (%s cached)\n", Bytes(s.at("store_bytes").to_number<int64_t>()).c_str(),
              Text(s.at("files")).c_str(), Text(s.at("files_cached")).c_str());
  std::printf("load time:     %s ms\n", Text(s.at("load_ms")).c_str());
  if (s.at("lazy").as_bool()) {
    std::printf("lazy:          metadata %s, fetched for queries %s\n", Bytes(s.at("metadata_bytes").to_number<int64_t>()).c_str(),
                Bytes(s.at("fetched_bytes").to_number<int64_t>()).c_str());
  }
  std::printf("last refresh:  %s (%s)\n", Text(s.at("last_attempt")).c_str(),
              Text(s.at("last_error")).empty() ? "ok" : ("failed: " + Text(s.at("last_error"))).c_str());
  std::printf("loads:         %s ok, %s failed\n", Text(s.at("loads_ok")).c_str(), Text(s.at("loads_failed")).c_str());
  std::printf("queries:       %s (last %s)\n", Text(s.at("queries")).c_str(),
              Text(s.at("last_access")).empty() ? "never" : Text(s.at("last_access")).c_str());
}

json::value ParseOrDie(const Reply& reply) {
  boost::system::error_code ec;
  json::value value = json::parse(reply.body, ec);
  if (ec) {
    std::fprintf(stderr, "dram: unreadable reply from the server\n");
    std::exit(1);
  }
  return value;
}

// How many ready copies each shard of `database` wants: its policy's count, or every live member
// that is not draining ("all"). -1 when the server is not in a cluster.
int WantedCopies(Admin& admin, const std::string& database) {
  Reply status = Call(admin, "GET", "/cluster/status");
  if (status.status != 200) return -1;
  Reply described = Call(admin, "GET", "/databases/" + database);
  const json::value cluster = ParseOrDie(status);
  int eligible = 0;
  for (const auto& member : cluster.at("members").as_array()) eligible += member.at("draining").as_bool() ? 0 : 1;
  int replicas = 0;
  if (described.status == 200) {
    const json::value stats = ParseOrDie(described);
    if (const auto* placement = stats.as_object().if_contains("placement")) replicas = static_cast<int>(placement->at("replicas").to_number<int64_t>());
  }
  return replicas > 0 ? replicas : eligible;
}

// `db add --wait`: prints each member's progress as it changes until every shard has the copies
// its policy wants ready; 1 (naming the member and its error) when a copy fails, or on timeout.
int WaitForCopies(Admin& admin, const std::string& database, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::map<std::string, std::string> last;  // "member shard" → state line printed
  for (;;) {
    const int wanted = WantedCopies(admin, database);
    if (wanted < 0) return std::fputs("dram db add --wait: the server is not in a cluster\n", stderr), 1;
    Reply reply = Call(admin, "GET", "/cluster/where/" + database);
    if (int failed = Report(reply)) return failed;
    const json::value where = ParseOrDie(reply);
    bool done = true;
    for (const auto& shard : where.at("shards").as_array()) {
      int ready = 0;
      for (const auto& replica : shard.at("replicas").as_array()) {
        const std::string member = Text(replica.at("member"));
        const std::string state = Text(replica.at("state"));
        const std::string key = member + " shard " + Text(shard.at("shard"));
        if (last[key] != state) {
          std::printf("%s: %s\n", key.c_str(), state.c_str());
          last[key] = state;
        }
        if (state == "failed") {
          std::fprintf(stderr, "dram db add: the copy of shard %s on member %s failed to load: %s\n", Text(shard.at("shard")).c_str(),
                       member.c_str(), replica.as_object().contains("error") ? Text(replica.at("error")).c_str() : "");
          return 1;
        }
        ready += state == "ready";
      }
      done = done && ready >= wanted;
    }
    if (done) {
      std::printf("%s: every shard has %d ready cop%s\n", database.c_str(), wanted, wanted == 1 ? "y" : "ies");
      return 0;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "dram db add --wait: timed out before every shard had %d ready copies\n", wanted);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

constexpr const char* kClusterHelp = R"(dram cluster COMMAND [args] [--admin URL] [--format table|json]

Shows and steers a cluster through any member's admin port (--admin URL or DRAM_ADMIN_URL; token
from DRAM_ADMIN_TOKEN).

  dram cluster status            members (zone, copies ready/loading/failed, bytes), this member's
                                 lease and etcd state, under-replicated shards
  dram cluster where DB [--shard K]   which member holds which copy of each shard, in what state
  dram cluster drain MEMBER      the member takes no new copies, waits until every copy it holds
                                 is ready elsewhere, then leaves the cluster
)";

}  // namespace

int ClusterCommand(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv, 2, {"admin", "format", "shard"});
  if (flags.help || flags.positional.empty()) return std::fputs(kClusterHelp, flags.help ? stdout : stderr), flags.help ? 0 : 2;
  if (!flags.error.empty()) return std::fprintf(stderr, "dram cluster: %s\n", flags.error.c_str()), 2;
  const std::string format = flags.values.contains("format") ? flags.values.at("format") : "table";
  if (format != "table" && format != "json") return std::fputs("dram cluster: --format table or json\n", stderr), 2;
  const char* token = std::getenv("DRAM_ADMIN_TOKEN");
  Admin admin{AdminUrl(flags), token ? token : ""};
  const std::string& command = flags.positional[0];
  if (command == "status" && flags.positional.size() == 1) {
    Reply reply = Call(admin, "GET", "/cluster/status");
    if (int failed = Report(reply)) return failed;
    if (format == "json") return std::printf("%s\n", reply.body.c_str()), 0;
    const json::value status = ParseOrDie(reply);
    std::printf("cluster %s, seen from member %s: etcd %s%s\n", Text(status.at("cluster")).c_str(), Text(status.at("member")).c_str(),
                status.at("etcd").at("ok").as_bool() ? "ok" : "unreachable ",
                status.at("etcd").at("ok").as_bool() ? "" : Text(status.at("etcd").at("error")).c_str());
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : status.at("members").as_array()) {
      rows.push_back({Text(m.at("id")), Text(m.at("api")), Text(m.at("zone")), m.at("draining").as_bool() ? "draining" : "serving",
                      Text(m.at("ready")), Text(m.at("loading")), Text(m.at("failed")), Bytes(m.at("bytes").to_number<int64_t>())});
    }
    PrintTable({"MEMBER", "API", "ZONE", "STATE", "READY", "LOADING", "FAILED", "BYTES"}, rows);
    const auto& under = status.at("under_replicated").as_array();
    if (under.empty()) std::puts("every shard has its copies ready");
    for (const auto& u : under) {
      std::printf("under-replicated: %s shard %s: %s of %s ready\n", Text(u.at("database")).c_str(), Text(u.at("shard")).c_str(),
                  Text(u.at("ready")).c_str(), Text(u.at("wanted")).c_str());
    }
    return 0;
  }
  if (command == "where" && flags.positional.size() == 2) {
    std::string path = "/cluster/where/" + flags.positional[1];
    if (flags.values.contains("shard")) path += "?shard=" + flags.values.at("shard");
    Reply reply = Call(admin, "GET", path);
    if (int failed = Report(reply)) return failed;
    if (format == "json") return std::printf("%s\n", reply.body.c_str()), 0;
    const json::value where = ParseOrDie(reply);
    std::vector<std::vector<std::string>> rows;
    for (const auto& shard : where.at("shards").as_array()) {
      for (const auto& r : shard.at("replicas").as_array()) {
        rows.push_back({Text(shard.at("shard")), Text(r.at("member")), Text(r.at("state")), Text(r.at("snapshot")),
                        Bytes(r.at("bytes").to_number<int64_t>())});
      }
      if (shard.at("replicas").as_array().empty()) rows.push_back({Text(shard.at("shard")), "-", "no copy", "", ""});
    }
    PrintTable({"SHARD", "MEMBER", "STATE", "SNAPSHOT", "BYTES"}, rows);
    return 0;
  }
  if (command == "drain" && flags.positional.size() == 2) {
    Reply reply = Call(admin, "POST", "/cluster/drain/" + flags.positional[1]);
    if (int failed = Report(reply)) return failed;
    if (format == "json") return std::printf("%s\n", reply.body.c_str()), 0;
    std::printf("member %s is draining: it leaves once every copy it holds is ready elsewhere\n", flags.positional[1].c_str());
    return 0;
  }
  std::fprintf(stderr, "dram cluster: unknown command or wrong arguments\n\n%s", kClusterHelp);
  return 2;
}

int DbCommand(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv, 2, {"admin", "tables", "refresh", "idle-evict", "resolver", "sort-by", "budget", "replicas", "shards", "shard-by",
                                          "global", "timeout"},
                          {"force", "lazy", "wait"});
  if (flags.help || flags.positional.empty()) return std::fputs(kDbHelp, flags.help ? stdout : stderr), flags.help ? 0 : 2;
  if (!flags.error.empty()) return std::fprintf(stderr, "dram db: %s\n", flags.error.c_str()), 2;
  const char* token = std::getenv("DRAM_ADMIN_TOKEN");
  Admin admin{AdminUrl(flags), token ? token : ""};
  const std::string& command = flags.positional[0];
  auto need = [&](size_t count) {
    if (flags.positional.size() != count + 1) {
      std::fprintf(stderr, "dram db %s: expected %zu argument%s (see dram db --help)\n", command.c_str(), count, count == 1 ? "" : "s");
      return false;
    }
    return true;
  };
  const bool force = flags.values.contains("force") && flags.values.at("force") != "false";
  if (command == "add") {
    if (!need(2)) return 2;
    json::object body{{"name", flags.positional[1]}, {"uri", flags.positional[2]}};
    if (flags.values.contains("tables")) {
      json::array tables;
      for (const auto& t : SplitCommas(flags.values.at("tables"))) tables.push_back(json::string(t));
      body["tables"] = std::move(tables);
    }
    if (flags.values.contains("refresh")) body["refresh"] = flags.values.at("refresh");
    if (flags.values.contains("idle-evict")) body["idle_evict"] = flags.values.at("idle-evict");
    if (flags.values.contains("resolver")) body["resolver"] = flags.values.at("resolver");
    if (flags.values.contains("lazy")) body["lazy"] = true;
    if (flags.values.contains("budget")) {
      auto bytes = common::ParseBytes(flags.values.at("budget"));
      if (!bytes) return std::fputs("dram db add: --budget like 500MB or 2GB (KB = 1024)\n", stderr), 2;
      body["budget_bytes"] = *bytes;
    }
    if (flags.values.contains("sort-by")) {
      const std::string& spec = flags.values.at("sort-by");
      size_t colon = spec.find(':');
      if (colon == std::string::npos) return std::fputs("dram db add: --sort-by TABLE:col1,col2\n", stderr), 2;
      json::array columns;
      for (const auto& c : SplitCommas(spec.substr(colon + 1))) columns.push_back(json::string(c));
      body["sort_by"] = json::object{{spec.substr(0, colon), std::move(columns)}};
    }
    if (flags.values.contains("replicas")) {
      const std::string& replicas = flags.values.at("replicas");
      if (replicas == "all") {
        body["replicas"] = "all";
      } else if (int n = std::atoi(replicas.c_str()); n >= 1 && std::to_string(n) == replicas) {
        body["replicas"] = n;
      } else {
        return std::fputs("dram db add: --replicas N (>= 1) or all\n", stderr), 2;
      }
    }
    if (flags.values.contains("shards")) {
      const std::string& shards = flags.values.at("shards");
      int n = std::atoi(shards.c_str());
      if (n < 1 || std::to_string(n) != shards) return std::fputs("dram db add: --shards S (>= 1)\n", stderr), 2;
      body["shards"] = n;
    }
    if (flags.values.contains("shard-by")) body["shard_by"] = flags.values.at("shard-by");
    if (flags.values.contains("global")) {
      json::array global;
      for (const auto& t : SplitCommas(flags.values.at("global"))) global.push_back(json::string(t));
      body["global"] = std::move(global);
    }
    const bool wait = flags.values.contains("wait");
    Reply reply;
    if (wait) {
      reply = Call(admin, "POST", "/databases", json::serialize(body));
    } else {
      ProgressBar bar(admin, flags.positional[1]);
      reply = Call(admin, "POST", "/databases", json::serialize(body));
    }
    if (int failed = Report(reply)) return failed;
    if (wait) {
      const int timeout = flags.values.contains("timeout") ? std::atoi(flags.values.at("timeout").c_str()) : 600;
      return WaitForCopies(admin, flags.positional[1], std::chrono::seconds(timeout > 0 ? timeout : 600));
    }
    const json::value stats = ParseOrDie(reply);
    PrintStats(stats.as_object());
    return 0;
  }
  if (command == "list") {
    if (!need(0)) return 2;
    Reply reply = Call(admin, "GET", "/databases");
    if (int failed = Report(reply)) return failed;
    std::vector<std::vector<std::string>> rows;
    const json::value listing = ParseOrDie(reply);  // outlives the loop (a temporary would not)
    for (const auto& d : listing.at("databases").as_array()) {
      const auto& s = d.as_object();
      rows.push_back({Text(s.at("name")), s.at("ready").as_bool() ? "yes" : (s.at("loading").as_bool() ? "loading" : "no"),
                      Text(s.at("version")), std::to_string(s.at("tables").as_array().size()), Text(s.at("rows")),
                      Bytes(s.at("snapshot_bytes").to_number<int64_t>()), Bytes(s.at("store_bytes").to_number<int64_t>()),
                      Text(s.at("last_attempt")), Text(s.at("last_error"))});
    }
    PrintTable({"NAME", "READY", "VERSION", "TABLES", "ROWS", "ON DISK", "IN STORE", "LAST REFRESH", "ERROR"}, rows);
    return 0;
  }
  if (command == "stats") {
    if (!need(1)) return 2;
    Reply reply = Call(admin, "GET", "/databases/" + flags.positional[1]);
    if (int failed = Report(reply)) return failed;
    const json::value stats = ParseOrDie(reply);
    PrintStats(stats.as_object());
    return 0;
  }
  if (command == "versions") {
    if (!need(1)) return 2;
    Reply reply = Call(admin, "GET", "/databases/" + flags.positional[1] + "/versions");
    if (int failed = Report(reply)) return failed;
    json::value v = ParseOrDie(reply);
    std::vector<std::vector<std::string>> rows;
    for (const auto& version : v.at("versions").as_array()) {
      rows.push_back({Text(version.at("snapshot")), Text(version.at("role")), Text(version.at("loaded_at")),
                      Bytes(version.at("bytes").to_number<int64_t>())});
    }
    PrintTable({"VERSION", "ROLE", "LOADED AT", "SIZE"}, rows);
    std::puts("");
    rows.clear();
    for (const auto& a : v.at("attempts").as_array()) {
      rows.push_back({Text(a.at("at")), a.at("ok").as_bool() ? (a.at("unchanged").as_bool() ? "unchanged" : "ok") : "failed",
                      Text(a.at("snapshot")), Text(a.at("load_ms")) + " ms", Text(a.at("error"))});
    }
    PrintTable({"ATTEMPT", "RESULT", "VERSION", "TIME", "ERROR"}, rows);
    return 0;
  }
  if (command == "refresh" || command == "rollback") {
    if (!need(1)) return 2;
    Reply reply = Call(admin, "POST", "/databases/" + flags.positional[1] + "/" + command + (force ? "?force=true" : ""));
    if (int failed = Report(reply)) return failed;
    std::printf("%s: %s -> version %s\n", flags.positional[1].c_str(), command.c_str(),
                Text(ParseOrDie(reply).at("snapshot_id")).c_str());
    return 0;
  }
  if (command == "delete") {
    if (!need(1)) return 2;
    Reply reply = Call(admin, "DELETE", "/databases/" + flags.positional[1] + (force ? "?force=true" : ""));
    if (int failed = Report(reply)) return failed;
    std::printf("deleted %s\n", flags.positional[1].c_str());
    return 0;
  }
  std::fprintf(stderr, "dram db: unknown command '%s'\n\n%s", command.c_str(), kDbHelp);
  return 2;
}

int AliasCommand(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv, 2, {"admin"}, {"force"});
  if (flags.help || flags.positional.empty()) return std::fputs(kAliasHelp, flags.help ? stdout : stderr), flags.help ? 0 : 2;
  if (!flags.error.empty()) return std::fprintf(stderr, "dram alias: %s\n", flags.error.c_str()), 2;
  const char* token = std::getenv("DRAM_ADMIN_TOKEN");
  Admin admin{AdminUrl(flags), token ? token : ""};
  const std::string& command = flags.positional[0];
  const size_t args = flags.positional.size() - 1;
  if (command == "list" && args == 0) {
    Reply reply = Call(admin, "GET", "/aliases");
    if (int failed = Report(reply)) return failed;
    std::vector<std::vector<std::string>> rows;
    const json::value listing = ParseOrDie(reply);
    for (const auto& a : listing.at("aliases").as_array()) {
      rows.push_back({Text(a.at("alias")), Text(a.at("database")), Text(a.at("pinned")).empty() ? "(current)" : Text(a.at("pinned"))});
    }
    PrintTable({"ALIAS", "DATABASE", "VERSION"}, rows);
    return 0;
  }
  if ((command == "get" && args == 1) || (command == "set" && args == 2) || (command == "delete" && args == 1)) {
    const std::string path = "/aliases/" + flags.positional[1];
    const bool force = flags.values.contains("force") && flags.values.at("force") != "false";
    Reply reply = command == "get" ? Call(admin, "GET", path)
                  : command == "set"
                      ? Call(admin, "PUT", path, json::serialize(json::object{{"target", flags.positional[2]}}))
                      : Call(admin, "DELETE", path + (force ? "?force=true" : ""));
    if (int failed = Report(reply)) return failed;
    if (command == "delete") return std::printf("deleted %s\n", flags.positional[1].c_str()), 0;
    json::value a = ParseOrDie(reply);
    std::printf("%s -> %s%s (version %s)\n", Text(a.at("alias")).c_str(), Text(a.at("database")).c_str(),
                Text(a.at("pinned")).empty() ? "" : ("@" + Text(a.at("pinned"))).c_str(), Text(a.at("snapshot")).c_str());
    return 0;
  }
  std::fputs(kAliasHelp, stderr);
  return 2;
}

namespace {

// A /query or /analyze answer ({"columns","data"}) as a table with its row count.
void PrintResultTable(const json::value& result) {
  std::vector<std::string> header;
  for (const auto& column : result.at("columns").as_array()) header.push_back(Text(column.at("name")));
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : result.at("data").as_array()) {
    std::vector<std::string> cells;
    for (const auto& name : header) cells.push_back(Text(row.as_object().at(name)));
    rows.push_back(std::move(cells));
  }
  PrintTable(header, rows);
  std::printf("(%zu row%s)\n", rows.size(), rows.size() == 1 ? "" : "s");
}

}  // namespace

int QueryCommand(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv, 2, {"admin", "format"});
  if (flags.help) return std::fputs(kQueryHelp, stdout), 0;
  if (!flags.error.empty()) return std::fprintf(stderr, "dram query: %s\n", flags.error.c_str()), 2;
  if (flags.positional.size() != 2) return std::fputs(kQueryHelp, stderr), 2;
  std::string format = flags.values.contains("format") ? flags.values.at("format") : "table";
  if (format != "table" && format != "json" && format != "csv") return std::fputs("dram query: --format table|json|csv\n", stderr), 2;
  const char* token = std::getenv("DRAM_ADMIN_TOKEN");
  Admin admin{AdminUrl(flags), token ? token : ""};
  json::object body{{"database", flags.positional[0]}, {"sql", flags.positional[1]},
                    {"format", format == "csv" ? "csv" : "json"}};
  Reply reply = Call(admin, "POST", "/query", json::serialize(body));
  if (int failed = Report(reply)) return failed;
  if (format != "table") {
    std::fputs(reply.body.c_str(), stdout);
    if (!reply.body.empty() && reply.body.back() != '\n') std::puts("");
    return 0;
  }
  PrintResultTable(ParseOrDie(reply));
  return 0;
}

int AnalyzeCommand(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv, 2, {"admin", "format", "map", "reduce", "shards", "timeout"}, {"partial"});
  if (flags.help) return std::fputs(kAnalyzeHelp, stdout), 0;
  if (!flags.error.empty()) return std::fprintf(stderr, "dram analyze: %s\n", flags.error.c_str()), 2;
  if (flags.positional.size() != 1 || !flags.values.contains("map")) return std::fputs(kAnalyzeHelp, stderr), 2;
  std::string format = flags.values.contains("format") ? flags.values.at("format") : "table";
  if (format != "table" && format != "json" && format != "csv") return std::fputs("dram analyze: --format table|json|csv\n", stderr), 2;
  json::object body{{"database", flags.positional[0]}, {"map", flags.values.at("map")}, {"format", format == "csv" ? "csv" : "json"}};
  if (flags.values.contains("reduce")) body["reduce"] = flags.values.at("reduce");
  if (flags.values.contains("timeout")) body["timeout"] = flags.values.at("timeout");
  if (flags.values.contains("partial")) body["partial"] = true;
  if (flags.values.contains("shards")) {
    json::array shards;
    for (const auto& item : SplitCommas(flags.values.at("shards"))) {
      char* end = nullptr;
      const long shard = std::strtol(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || shard < 0) return std::fprintf(stderr, "dram analyze: --shards takes shard numbers: 0,2,3\n"), 2;
      shards.push_back(shard);
    }
    body["shards"] = std::move(shards);
  }
  const char* token = std::getenv("DRAM_ADMIN_TOKEN");
  Admin admin{AdminUrl(flags), token ? token : ""};
  Reply reply = Call(admin, "POST", "/analyze", json::serialize(body));
  if (int failed = Report(reply)) return failed;
  if (format != "table") {
    std::fputs(reply.body.c_str(), stdout);
    if (!reply.body.empty() && reply.body.back() != '\n') std::puts("");
    return 0;
  }
  json::value result = ParseOrDie(reply);
  PrintResultTable(result);
  if (const auto* shards = result.as_object().if_contains("shards"); shards && shards->is_array()) {
    std::string used;
    for (const auto& shard : shards->as_array()) {
      used += (used.empty() ? "" : ", ") + Text(shard.at("shard"));
      if (const auto* member = shard.as_object().if_contains("member")) used += " @ " + Text(*member);
    }
    std::printf("shards: %s\n", used.c_str());
  }
  if (const auto* missing = result.as_object().if_contains("missing_shards")) {
    std::printf("partial: shards %s had no ready copy\n", json::serialize(*missing).c_str());
  }
  return 0;
}

}  // namespace dram::cli
