#pragma once

#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include "api/endpoint_spec.h"
#include "auth/authenticator.h"
#include "common/diagnostics.h"
#include "database/dataset_spec.h"

namespace dram::api {

// The usage log (dram.yml `usage:`): per endpoint and tenant, appended to a store as Parquet under
// `_usage/` every flush interval, read back by `dram report`.
struct UsageSettings {
  bool enabled = true;
  // The store whose `_usage/` gets the files; empty: the catalog's store (serve --catalog), else
  // the project directory's `.dram/`.
  std::string store;
  int64_t flush_interval_ms = 60'000;
  int64_t max_keys = 10'000;        // (endpoint, tenant) pairs per interval; past it: "(other)"
  double price_per_query = 0;       // what the warehouse charges, for `dram report`'s savings
  double price_per_tb_scanned = 0;
};

// Server settings from dram.yml; command-line flags override them.
struct ServerSettings {
  std::string listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:8081";
  int io_threads = 2;
  int64_t max_header_bytes = 16 * 1024;
  int64_t max_body_bytes = 64 * 1024;
  int64_t read_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 60'000;
  int64_t gzip_min_bytes = 1024;
  int64_t max_connections = 0;            // API port, open at once; 0: below the file descriptor limit
  std::vector<std::string> cors_origins;  // "*" allows any origin
  // The API reference page (/docs) on the API port too, to anyone who reaches it (it lists every
  // endpoint; rows only of endpoints callable without credentials). The admin port always has it.
  bool public_docs = false;
  std::string tls_cert_file;              // both set: both ports speak HTTPS only
  std::string tls_key_file;
  int engine_threads = 0;                 // DuckDB threads per query; 0 = all cores
  int64_t pool_size = 4;                  // connections (and query workers) per dataset snapshot
  std::string memory_limit;
  int64_t queue_timeout_ms = 5'000;       // wait for a free connection before answering overloaded
  int64_t cache_max_bytes = 256LL << 20;  // response cache
  std::string cache_dir = ".dram/cache";  // materialized snapshots; relative to the project
  std::string admin_token_env = "DRAM_ADMIN_TOKEN";
  // Without the token, /status, /metrics, /openapi.json and /schema need it too, unless this is
  // set (a metrics scraper without credentials). /live and /ready are always open.
  bool admin_public_read = false;
  // Browser origins the admin port accepts requests from; any other Origin header → 403. The
  // admin port never sends CORS headers.
  std::vector<std::string> admin_allow_origins;
  auth::AuthOptions auth;                 // mode none unless dram.yml says otherwise
  // Abuse limits. Rates are requests per minute; 0 turns a limit off.
  int64_t rate_per_key = 0;               // per API key or JWT subject
  int64_t rate_per_tenant = 0;
  int64_t rate_burst = 0;                 // bucket size; 0: a tenth of the per-minute rate, at least 10
  int64_t max_in_flight = 0;              // all requests past the cache; 0: 64 per pooled connection
  int64_t max_in_flight_per_tenant = 0;
  int64_t tenant_pool_share = 0;          // connections of a pool one tenant may hold; 0: half the pool
  int64_t query_timeout_ms = 30'000;      // a query still running then is interrupted (504)
  // Serving from a catalog in a store (dram serve --catalog).
  int64_t catalog_retain_versions = 0;    // versions `dram apply` keeps; 0 keeps every one
  int64_t catalog_poll_ms = 2'000;        // how often a server looks for a newer version
  UsageSettings usage;
};

// A project directory: dram.yml, datasets/*.yml and endpoints/*.yml.
struct ProjectSpec {
  std::string dir;
  ServerSettings settings;
  std::vector<database::DatasetSpec> datasets;
  // alias → dataset, from dram.yml's `aliases:`; endpoints may name an alias, and the admin API
  // repoints it at runtime.
  std::map<std::string, std::string> aliases;
  std::vector<EndpointSpec> endpoints;
};

// Reads and checks a whole project. Every problem found goes into `diagnostics` with its
// file:line:column; the returned spec is only meaningful when `diagnostics` stayed empty.
// Checks that need the data (columns, types) are the compiler's.
ProjectSpec LoadProject(const std::string& dir, common::Diagnostics& diagnostics);

// Names of datasets, databases, aliases, tables, params: [A-Za-z_][A-Za-z0-9_]*, at most 64.
bool IsIdentifier(std::string_view name);

// Parameter names the server itself reads; endpoints may not declare them.
bool IsReservedParam(std::string_view name);

std::string_view ParamTypeName(ParamType type);

// "integer" → {kInteger, false}; "list<date>" → {kDate, true}; nullopt for unknown names.
struct ParamTypeText {
  ParamType type;
  bool is_list;
};
std::optional<ParamTypeText> ParseParamType(std::string_view text);

}  // namespace dram::api
