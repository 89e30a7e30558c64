#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/endpoint_spec.h"
#include "common/diagnostics.h"
#include "database/dataset_spec.h"

namespace dram::api {

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
  std::vector<std::string> cors_origins;  // "*" allows any origin
  int engine_threads = 0;                 // DuckDB threads per query; 0 = all cores
  int64_t pool_size = 4;                  // connections (and query workers) per dataset snapshot
  std::string memory_limit;
  int64_t queue_timeout_ms = 5'000;       // wait for a free connection before answering overloaded
  int64_t cache_max_bytes = 256LL << 20;  // response cache
  std::string cache_dir = ".dram/cache";  // materialized snapshots; relative to the project
  std::string admin_token_env = "DRAM_ADMIN_TOKEN";
};

// A project directory: dram.yml, datasets/*.yml and endpoints/*.yml.
struct ProjectSpec {
  std::string dir;
  ServerSettings settings;
  std::vector<database::DatasetSpec> datasets;
  std::vector<EndpointSpec> endpoints;
};

// Reads and checks a whole project. Every problem found goes into `diagnostics` with its
// file:line:column; the returned spec is only meaningful when `diagnostics` stayed empty.
// Checks that need the data (columns, types) are the compiler's.
ProjectSpec LoadProject(const std::string& dir, common::Diagnostics& diagnostics);

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
