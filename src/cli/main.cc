// The dram binary: serve and validate a project directory.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "api/compiled_endpoint.h"
#include "api/project.h"
#include "auth/api_key_store.h"
#include "common/civil_time.h"
#include "common/log.h"
#include "common/units.h"
#include "database/dataset_manager.h"
#include "cli/flags.h"
#include "cli/manage_commands.h"
#include "cli/project_check.h"
#include "cli/catalog_commands.h"
#include "cli/client_command.h"
#include "cli/shadow_diff.h"
#include "cli/init_command.h"
#include "cli/report_command.h"
#include "cli/version_command.h"
#include "dram/server.h"

using dram::cli::Flags;
using dram::cli::ParseFlags;
using dram::cli::SplitCommas;

namespace {

constexpr const char* kUsage = R"(dram: serve analytics data from Parquet/CSV through governed HTTP endpoints.

Usage:
  dram serve DIR [flags]     serve the project in DIR (dram.yml, datasets/*.yml, endpoints/*.yml)
  dram validate DIR          check the project in DIR against its data; list every problem
  dram init DIR --from URI   write a project for the data at URI (local or store) to start from
  dram keys COMMAND DIR      manage the API keys of the project in DIR (create, list, revoke, rotate)
  dram db COMMAND ...        manage a running server's databases (add, delete, list, stats, versions,
                             refresh, rollback) through its admin port
  dram alias COMMAND ...     list, get, set or delete aliases on a running server
  dram query NAME SQL        run a read-only query on a database or alias of a running server
  dram analyze NAME --map SQL [--reduce SQL]
                             run an ad hoc map/reduce analysis over a database's shards
  dram apply DIR --catalog URI   validate DIR, show the diff, commit it to the catalog in a store
  dram catalog COMMAND ...   log, show, diff, restore, verify, gc, export, import, checkout
  dram shadow-diff --live URL --candidate URL --requests FILE
                             replay recorded requests against two systems, compare the answers
                             as data, report parity per endpoint; exit 1 above --threshold
  dram cluster COMMAND ...   status, where DB, drain MEMBER: a cluster seen through any member
  dram client query TARGET --members LIST
                             ask a cluster as the smart client does (map steps sent to the members
                             holding the shards, reduced here)
  dram report [DIR]          sum the usage log (requests, errors, latency, warehouse queries avoided
                             and their cost) per endpoint, tenant, dataset, member or day
  dram version               print the version, commit, DuckDB library and build flags
  dram COMMAND --help        help for one command
)";

constexpr const char* kServeHelp = R"(dram serve DIR [flags]
dram serve --catalog URI [--role reader|writer] [flags]

Loads every dataset of the project (materializing each into a DuckDB snapshot in the cache
directory, or reusing the one already there when its sources are unchanged), compiles the
endpoints against it, and serves them. Stops cleanly on SIGINT or SIGTERM.

With --catalog, the project comes from the catalog in a store (a directory, s3://bucket/prefix,
gs://bucket/prefix; credentials from the environment only): the server serves its newest
version, looks for a newer one every poll interval (one HEAD request), builds it beside the
serving one and switches atomically once it is loaded; a version that fails to load leaves the
previous one serving, with the error in /status and /metrics.
  --role ROLE               reader (default): never writes to the store; writer: commits runtime
                            changes (dram db add, dram alias set) and restores to the catalog
  --poll-interval MS        how often to look for a newer version (default: dram.yml
                            catalog.poll_interval, else 2000)

With --cluster, the member joins a cluster that shares the catalog and an etcd: placement (the
same on every member) gives it copies of databases and shards to hold, it loads them, drops
surplus copies only once enough others are ready, and publishes what it holds. Members commit
runtime changes themselves (--role writer is the default here). Without etcd it keeps serving
what it has and moves nothing.
  --cluster NAME            the cluster's name (its keys live under /dram/NAME/ in etcd)
  --etcd URL[,URL...]       etcd client URLs (http://127.0.0.1:2379)
  --advertise HOST:PORT     this member's API port as clients and other members reach it
  --member-id ID            (default: the advertise address)
  --zone ZONE               copies of a shard go to different zones first
  --capacity SIZE           placement weight (e.g. 200GB; default: equal weights)
  --lease-ttl SECONDS       a member silent this long is gone (default 10)
  --rereplicate-after MS    a lost member's copies are re-made after this (default 45000), at once
                            when no ready copy of a shard is left

Flags (override dram.yml):
  --listen HOST:PORT        API port (default from dram.yml, else 127.0.0.1:8080; port 0 = any free)
  --admin-listen HOST:PORT  admin port (default 127.0.0.1:8081): /live /ready /status /metrics
                            /openapi.json /schema, POST /datasets/NAME/refresh|rollback
  --cache-dir DIR           where dataset snapshots are materialized
  --ready-file FILE         once serving, write {"api":"HOST:PORT","admin":"HOST:PORT"} to FILE
  --log-level LEVEL         debug, info (default), warn or error
)";

constexpr const char* kValidateHelp = R"(dram validate DIR

Reads the whole project and checks it: YAML syntax and keys, types, references between
endpoints, datasets and params, and every column and expression against the schema of the data
files (read from their metadata; nothing is materialized). Prints every problem as
file:line:column: message, and exits 1 if there was any, 0 otherwise.
)";

constexpr const char* kKeysHelp = R"(dram keys COMMAND DIR [flags]

Manages the API keys in the project's keys file (auth.keys_file in dram.yml, default DIR/keys.json).
Only the SHA-256 of each key is stored; a new key is printed once and cannot be shown again.
A running server picks up changes within a second, without a restart.

  dram keys create DIR --tenant T [--endpoints 'a,b_*'] [--name N] [--expires 30d] [--quota N]
        --endpoints   endpoint names or globs the key may call (default: *)
        --expires     lifetime (e.g. 12h, 30d); default: no expiry
        --quota       requests per minute for this key (default: the server's limit)
  dram keys list DIR             id, name, tenant, grants, state, expiry (never secrets)
  dram keys revoke DIR ID        the key stops working
  dram keys rotate DIR ID        a new secret for the same key id and grants; the old one stops working
)";

bool WriteReadyFile(const std::string& path, const std::string& host, uint16_t api, const std::string& admin_host,
                    uint16_t admin) {
  std::string temp = path + ".tmp";
  {
    std::ofstream out(temp);
    out << "{\"api\":\"" << host << ":" << api << "\",\"admin\":\"" << admin_host << ":" << admin << "\"}\n";
    if (!out) return false;
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

std::string HostOf(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

int Serve(const Flags& flags) {
  if (flags.help) return std::fputs(kServeHelp, stdout), 0;
  const std::string catalog_uri = flags.values.count("catalog") ? flags.values.at("catalog") : "";
  if (catalog_uri.empty() == (flags.positional.size() != 1)) {
    return std::fputs("dram serve: expected one project directory, or --catalog URI\n", stderr), 2;
  }
  const std::string role = flags.values.count("role") ? flags.values.at("role") : flags.values.count("cluster") ? "writer" : "reader";
  if (role != "reader" && role != "writer") return std::fputs("dram serve: --role must be reader or writer\n", stderr), 2;
  auto level = flags.values.count("log-level") ? flags.values.at("log-level") : "info";
  using dram::common::LogLevel;
  std::map<std::string, LogLevel> levels = {{"debug", LogLevel::kDebug}, {"info", LogLevel::kInfo}, {"warn", LogLevel::kWarn}, {"error", LogLevel::kError}};
  if (!levels.count(level)) return std::fputs("dram serve: --log-level must be debug, info, warn or error\n", stderr), 2;
  dram::common::SetMinLogLevel(levels[level]);

  dram::ServerOverrides overrides;
  auto get = [&](const char* name) { return flags.values.count(name) ? flags.values.at(name) : std::string(); };
  overrides.listen = get("listen");
  overrides.admin_listen = get("admin-listen");
  overrides.cache_dir = get("cache-dir");

  // Block the stop signals in every thread; the main thread waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  if (!get("poll-interval").empty()) {
    overrides.poll_interval_ms = std::atoll(get("poll-interval").c_str());
    if (overrides.poll_interval_ms <= 0) return std::fputs("dram serve: --poll-interval is in milliseconds (> 0)\n", stderr), 2;
  }
  overrides.cluster.name = get("cluster");
  if (!overrides.cluster.name.empty()) {
    if (catalog_uri.empty()) return std::fputs("dram serve: --cluster needs --catalog (members share a catalog)\n", stderr), 2;
    overrides.cluster.etcd = get("etcd");
    overrides.cluster.advertise = get("advertise");
    overrides.cluster.member_id = get("member-id");
    overrides.cluster.zone = get("zone");
    if (!get("capacity").empty()) {
      auto bytes = dram::common::ParseBytes(get("capacity"));
      if (!bytes) return std::fputs("dram serve: --capacity like 200GB\n", stderr), 2;
      overrides.cluster.capacity_bytes = *bytes;
    }
    if (!get("lease-ttl").empty()) overrides.cluster.lease_ttl_s = std::atoll(get("lease-ttl").c_str());
    if (!get("rereplicate-after").empty()) overrides.cluster.rereplicate_after_ms = std::atoll(get("rereplicate-after").c_str());
    if (overrides.cluster.lease_ttl_s < 1 || overrides.cluster.rereplicate_after_ms < 0) {
      return std::fputs("dram serve: --lease-ttl is seconds (>= 1), --rereplicate-after milliseconds (>= 0)\n", stderr), 2;
    }
  }
  auto server = catalog_uri.empty()
                    ? dram::Server::Create(flags.positional[0], overrides)
                    : dram::Server::CreateFromCatalog(catalog_uri, overrides,
                                                      role == "writer" ? dram::CatalogRole::kWriter : dram::CatalogRole::kReader);
  if (!server.ok()) {
    if (server.status().code() == dram::StatusCode::kInvalidArgument) {
      std::fprintf(stderr, "dram serve: the project has errors:\n%s", server.status().message().c_str());
    } else {
      std::fprintf(stderr, "dram serve: %s\n", server.status().ToString().c_str());
    }
    return 1;
  }
  dram::Status started = (*server)->Start();
  if (!started.ok()) {
    std::fprintf(stderr, "dram serve: %s\n", started.ToString().c_str());
    return 1;
  }
  if (!get("ready-file").empty()) {
    // The hosts come from the flags or, failing that, the defaults the server used.
    std::string api_host = overrides.listen.empty() ? "127.0.0.1" : HostOf(overrides.listen);
    std::string admin_host = overrides.admin_listen.empty() ? "127.0.0.1" : HostOf(overrides.admin_listen);
    if (!WriteReadyFile(get("ready-file"), api_host, (*server)->api_port(), admin_host, (*server)->admin_port())) {
      std::fprintf(stderr, "dram serve: cannot write the ready file\n");
    }
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  dram::common::Log(dram::common::LogLevel::kInfo, "stopping", "\"signal\":" + std::to_string(signal_number));
  (*server)->Stop();
  return 0;
}

int Validate(const Flags& flags) {
  if (flags.help) return std::fputs(kValidateHelp, stdout), 0;
  if (flags.positional.size() != 1) return std::fputs("dram validate: expected one project directory\n", stderr), 2;
  dram::common::SetMinLogLevel(dram::common::LogLevel::kWarn);
  dram::common::Diagnostics diagnostics;
  dram::api::ProjectSpec project = dram::cli::CheckProject(flags.positional[0], diagnostics);
  if (!diagnostics.empty()) {
    std::fputs(diagnostics.ToString().c_str(), stderr);
    std::fprintf(stderr, "%zu problem%s found\n", diagnostics.size(), diagnostics.size() == 1 ? "" : "s");
    return 1;
  }
  std::printf("ok: %zu dataset%s, %zu endpoint%s\n", project.datasets.size(), project.datasets.size() == 1 ? "" : "s",
              project.endpoints.size(), project.endpoints.size() == 1 ? "" : "s");
  return 0;
}

std::string KeysFile(const std::string& project_dir) {
  dram::common::Diagnostics diagnostics;
  dram::api::ProjectSpec project = dram::api::LoadProject(project_dir, diagnostics);
  if (!project.settings.auth.keys_file.empty()) return project.settings.auth.keys_file;
  return (std::filesystem::path(project_dir) / "keys.json").string();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int Keys(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv, 2, {"tenant", "endpoints", "name", "expires", "quota"});
  if (flags.help || flags.positional.empty()) return std::fputs(kKeysHelp, flags.help ? stdout : stderr), flags.help ? 0 : 2;
  if (!flags.error.empty()) return std::fprintf(stderr, "dram keys: %s\n", flags.error.c_str()), 2;
  const std::string& command = flags.positional[0];
  if (flags.positional.size() < 2) return std::fputs("dram keys: expected a project directory\n", stderr), 2;
  std::string path = KeysFile(flags.positional[1]);
  auto records = dram::auth::ApiKeyStore::ReadFile(path);
  if (!records.ok()) return std::fprintf(stderr, "dram keys: %s\n", records.status().ToString().c_str()), 1;
  auto get = [&](const char* name) { return flags.values.count(name) ? flags.values.at(name) : std::string(); };
  auto save = [&]() {
    dram::Status status = dram::auth::ApiKeyStore::WriteFile(path, *records);
    if (!status.ok()) std::fprintf(stderr, "dram keys: %s\n", status.ToString().c_str());
    return status.ok();
  };
  auto find = [&](const std::string& id) -> dram::auth::ApiKeyRecord* {
    for (auto& record : *records) {
      if (record.id == id) return &record;
    }
    return nullptr;
  };
  if (command == "create") {
    if (get("tenant").empty()) return std::fputs("dram keys create: --tenant is required\n", stderr), 2;
    int64_t expires = 0;
    if (!get("expires").empty()) {
      int64_t lifetime = dram::common::ParseDurationMs(get("expires")).value_or(0);
      if (lifetime <= 0) return std::fputs("dram keys create: --expires must look like 30d, 12h, 45m or 90s\n", stderr), 2;
      expires = NowMs() + lifetime;
    }
    std::vector<std::string> endpoints = get("endpoints").empty() ? std::vector<std::string>{"*"} : SplitCommas(get("endpoints"));
    auto key = dram::auth::ApiKeyStore::Generate(get("name"), get("tenant"), endpoints, expires, std::atoll(get("quota").c_str()), NowMs());
    records->push_back(key.record);
    if (!save()) return 1;
    std::printf("created key %s for tenant %s\n%s\n(store it now: only its hash is kept)\n", key.record.id.c_str(),
                key.record.tenant.c_str(), key.token.c_str());
    return 0;
  }
  if (command == "list") {
    std::printf("%-12s  %-16s  %-12s  %-8s  %-24s  %s\n", "ID", "NAME", "TENANT", "STATE", "EXPIRES", "ENDPOINTS");
    for (const auto& r : *records) {
      std::string grants;
      for (const auto& e : r.endpoints) grants += (grants.empty() ? "" : ",") + e;
      std::string expires = "never";
      if (r.expires_at_ms > 0) {
        expires.clear();
        dram::common::AppendIsoTimestampMicros(expires, r.expires_at_ms * 1000, true);
      }
      bool expired = r.expires_at_ms > 0 && r.expires_at_ms <= NowMs();
      std::printf("%-12s  %-16s  %-12s  %-8s  %-24s  %s\n", r.id.c_str(), r.name.c_str(), r.tenant.c_str(),
                  r.revoked ? "revoked" : expired ? "expired" : "active", expires.c_str(), grants.c_str());
    }
    return 0;
  }
  if (command == "revoke" || command == "rotate") {
    if (flags.positional.size() != 3) return std::fprintf(stderr, "dram keys %s: expected DIR ID\n", command.c_str()), 2;
    dram::auth::ApiKeyRecord* record = find(flags.positional[2]);
    if (!record) return std::fprintf(stderr, "dram keys %s: no key with that id\n", command.c_str()), 1;
    std::string token;
    if (command == "revoke") {
      record->revoked = true;
    } else {
      auto rotated = dram::auth::ApiKeyStore::Rotate(*record);
      *record = rotated.record;
      token = rotated.token;
    }
    if (!save()) return 1;
    if (command == "revoke") {
      std::printf("revoked key %s\n", record->id.c_str());
    } else {
      std::printf("rotated key %s\n%s\n(store it now: only its hash is kept)\n", record->id.c_str(), token.c_str());
    }
    return 0;
  }
  std::fprintf(stderr, "dram keys: unknown command '%s'\n\n%s", command.c_str(), kKeysHelp);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  if (command == "version" || command == "--version") return std::fputs(dram::cli::VersionText().c_str(), stdout), 0;
  if (command == "serve") {
    Flags flags = ParseFlags(argc, argv, 2, {"listen", "admin-listen", "cache-dir", "ready-file", "log-level", "catalog", "role", "poll-interval",
                                              "cluster", "etcd", "advertise", "member-id", "zone", "capacity", "lease-ttl",
                                              "rereplicate-after"});
    if (!flags.error.empty()) return std::fprintf(stderr, "dram serve: %s\n", flags.error.c_str()), 2;
    return Serve(flags);
  }
  if (command == "keys") return Keys(argc, argv);
  if (command == "init") return dram::cli::InitCommand(argc, argv);
  if (command == "apply") return dram::cli::ApplyCommand(argc, argv);
  if (command == "catalog") return dram::cli::CatalogCommand(argc, argv);
  if (command == "db") return dram::cli::DbCommand(argc, argv);
  if (command == "alias") return dram::cli::AliasCommand(argc, argv);
  if (command == "query") return dram::cli::QueryCommand(argc, argv);
  if (command == "analyze") return dram::cli::AnalyzeCommand(argc, argv);
  if (command == "shadow-diff") return dram::cli::ShadowDiffCommand(argc, argv);
  if (command == "cluster") return dram::cli::ClusterCommand(argc, argv);
  if (command == "report") return dram::cli::ReportCommand(argc, argv);
  if (command == "client") return dram::cli::ClientCommand(argc, argv);
  if (command == "validate") {
    Flags flags = ParseFlags(argc, argv, 2, {});
    if (!flags.error.empty()) return std::fprintf(stderr, "dram validate: %s\n", flags.error.c_str()), 2;
    return Validate(flags);
  }
  std::fprintf(stderr, "dram: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}
