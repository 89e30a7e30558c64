#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "api/param_parser.h"
#include "api/project.h"

#include "database/shard.h"
#include "common/yaml_reader.h"
#include "store/store_uri.h"

namespace dram::api {

namespace fs = std::filesystem;
using common::Diagnostics;
using common::YamlMap;

namespace {

constexpr int64_t kMaxLimit = 1'000'000;

SourcePosition PositionOf(const YAML::Node& node, const std::string& file) {
  YAML::Mark mark = node.Mark();
  return {file, mark.line + 1, mark.column + 1};
}

// Loads one YAML file; a syntax error becomes a diagnostic at its position.
std::optional<YAML::Node> ParseFile(const fs::path& path, Diagnostics& diagnostics) {
  try {
    return YAML::LoadFile(path.string());
  } catch (const YAML::ParserException& e) {
    diagnostics.Add(path.string(), e.mark.line + 1, e.mark.column + 1, "YAML syntax error: " + e.msg);
  } catch (const YAML::BadFile&) {
    diagnostics.Add(path.string(), 0, 0, "cannot read file");
  }
  return std::nullopt;
}

std::vector<fs::path> YamlFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yml" || ext == ".yaml")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A file named in dram.yml: relative paths are relative to dram.yml's directory; empty stays empty.
std::string NextTo(const fs::path& settings_file, const std::string& file) {
  if (file.empty() || fs::path(file).is_absolute()) return file;
  return (settings_file.parent_path() / file).lexically_normal().string();
}

void LoadAuth(const YAML::Node& node, const fs::path& path, ServerSettings& settings, Diagnostics& diagnostics) {
  YamlMap fields(node, path.string(), diagnostics);
  auth::AuthOptions& auth = settings.auth;
  std::string mode = fields.String("mode", true).value_or("none");
  static const std::pair<const char*, auth::AuthMode> kModes[] = {
      {"none", auth::AuthMode::kNone}, {"keys", auth::AuthMode::kKeys}, {"jwt", auth::AuthMode::kJwt}, {"hybrid", auth::AuthMode::kHybrid}};
  bool known = false;
  for (const auto& [name, value] : kModes) {
    if (mode == name) auth.mode = value, known = true;
  }
  if (!known) fields.Error(fields.Child("mode"), "auth mode must be none, keys, jwt or hybrid");
  auto resolve = [&](const std::string& file) { return NextTo(path, file); };
  auth.keys_file = resolve(fields.String("keys_file").value_or("keys.json"));
  if (YAML::Node jwt_node = fields.Child("jwt"); jwt_node.IsDefined()) {
    YamlMap jwt(jwt_node, path.string(), diagnostics);
    auth.jwt.issuer = jwt.String("issuer").value_or("");
    auth.jwt.audience = jwt.String("audience").value_or("");
    auth.jwks_file = resolve(jwt.String("jwks_file").value_or(""));
    auth.jwks_url = jwt.String("jwks_url").value_or("");
    if (auto v = jwt.DurationMs("leeway")) auth.jwt.leeway_s = *v / 1000;
    if (auto v = jwt.String("tenant_claim")) auth.jwt.tenant_claim = *v;
    if (auto v = jwt.String("grants_claim")) auth.jwt.grants_claim = *v;
    if (auto v = jwt.DurationMs("refresh")) auth.jwks_refresh_ms = *v;
    if (auth.jwks_file.empty() == auth.jwks_url.empty()) jwt.Error("give exactly one of 'jwks_file' and 'jwks_url'");
    jwt.Finish();
  } else if (auth.mode == auth::AuthMode::kJwt || auth.mode == auth::AuthMode::kHybrid) {
    fields.Error("auth mode " + mode + " needs a 'jwt' section");
  }
  fields.Finish();
}

void LoadSettings(const fs::path& path, ServerSettings& settings, std::map<std::string, std::string>& aliases,
                  Diagnostics& diagnostics) {
  auto root = ParseFile(path, diagnostics);
  if (!root || root->IsNull()) return;
  YamlMap top(*root, path.string(), diagnostics);
  if (YAML::Node node = top.Child("server"); node.IsDefined()) {
    YamlMap server(node, path.string(), diagnostics);
    if (auto v = server.String("listen")) settings.listen = *v;
    if (auto v = server.String("admin_listen")) settings.admin_listen = *v;
    if (auto v = server.Int("io_threads", 1, 256)) settings.io_threads = static_cast<int>(*v);
    if (auto v = server.Bytes("max_header_bytes")) settings.max_header_bytes = *v;
    if (auto v = server.Bytes("max_body_bytes")) settings.max_body_bytes = *v;
    if (auto v = server.DurationMs("read_timeout")) settings.read_timeout_ms = *v;
    if (auto v = server.DurationMs("idle_timeout")) settings.idle_timeout_ms = *v;
    if (auto v = server.Bytes("gzip_min_bytes")) settings.gzip_min_bytes = *v;
    if (auto v = server.Int("max_connections", 1, 1'000'000)) settings.max_connections = *v;
    if (auto v = server.Bool("public_docs")) settings.public_docs = *v;
    if (YAML::Node tls_node = server.Child("tls"); tls_node.IsDefined()) {
      YamlMap tls(tls_node, path.string(), diagnostics);
      settings.tls_cert_file = NextTo(path, tls.String("cert_file", true).value_or(""));
      settings.tls_key_file = NextTo(path, tls.String("key_file", true).value_or(""));
      tls.Finish();
    }
    if (YAML::Node cors_node = server.Child("cors"); cors_node.IsDefined()) {
      YamlMap cors(cors_node, path.string(), diagnostics);
      if (auto v = cors.StringList("allow_origins")) settings.cors_origins = *v;
      cors.Finish();
    }
    server.Finish();
  }
  if (YAML::Node node = top.Child("engine"); node.IsDefined()) {
    YamlMap engine(node, path.string(), diagnostics);
    if (auto v = engine.Int("threads", 0, 1024)) settings.engine_threads = static_cast<int>(*v);
    if (auto v = engine.Int("pool_size", 1, 1024)) settings.pool_size = *v;
    if (auto v = engine.String("memory_limit")) settings.memory_limit = *v;
    if (auto v = engine.DurationMs("queue_timeout")) settings.queue_timeout_ms = *v;
    engine.Finish();
  }
  if (YAML::Node node = top.Child("cache"); node.IsDefined()) {
    YamlMap cache(node, path.string(), diagnostics);
    if (auto v = cache.Bytes("max_bytes")) settings.cache_max_bytes = *v;
    cache.Finish();
  }
  if (auto v = top.String("cache_dir")) settings.cache_dir = *v;
  if (YAML::Node node = top.Child("auth"); node.IsDefined()) LoadAuth(node, path, settings, diagnostics);
  if (YAML::Node node = top.Child("limits"); node.IsDefined()) {
    YamlMap limits(node, path.string(), diagnostics);
    if (auto v = limits.Int("requests_per_minute_per_key", 0, 100'000'000)) settings.rate_per_key = *v;
    if (auto v = limits.Int("requests_per_minute_per_tenant", 0, 100'000'000)) settings.rate_per_tenant = *v;
    if (auto v = limits.Int("burst", 0, 1'000'000)) settings.rate_burst = *v;
    if (auto v = limits.Int("max_in_flight", 0, 1'000'000)) settings.max_in_flight = *v;
    if (auto v = limits.Int("max_in_flight_per_tenant", 0, 1'000'000)) settings.max_in_flight_per_tenant = *v;
    if (auto v = limits.Int("tenant_pool_share", 0, 1024)) settings.tenant_pool_share = *v;
    if (auto v = limits.DurationMs("query_timeout")) settings.query_timeout_ms = *v;
    limits.Finish();
  }
  if (YAML::Node node = top.Child("admin"); node.IsDefined()) {
    YamlMap admin(node, path.string(), diagnostics);
    if (auto v = admin.String("token_env")) settings.admin_token_env = *v;
    if (auto v = admin.Bool("public_read")) settings.admin_public_read = *v;
    if (auto v = admin.StringList("allow_origins")) settings.admin_allow_origins = *v;
    admin.Finish();
  }
  if (YAML::Node node = top.Child("catalog"); node.IsDefined()) {
    YamlMap catalog(node, path.string(), diagnostics);
    if (auto v = catalog.Int("retain_versions", 0, 1'000'000)) settings.catalog_retain_versions = *v;
    if (auto v = catalog.DurationMs("poll_interval")) settings.catalog_poll_ms = std::max<int64_t>(*v, 100);
    catalog.Finish();
  }
  if (YAML::Node node = top.Child("usage"); node.IsDefined()) {
    YamlMap usage(node, path.string(), diagnostics);
    UsageSettings& out = settings.usage;
    if (auto v = usage.Bool("enabled")) out.enabled = *v;
    if (auto v = usage.String("store")) out.store = *v;
    if (auto v = usage.DurationMs("flush_interval")) {
      if (*v < 1000) usage.Error(usage.Child("flush_interval"), "usage.flush_interval must be at least 1s");
      out.flush_interval_ms = *v;
    }
    if (auto v = usage.Int("max_keys", 1, 10'000'000)) out.max_keys = *v;
    if (YAML::Node warehouse_node = usage.Child("warehouse"); warehouse_node.IsDefined()) {
      YamlMap warehouse(warehouse_node, path.string(), diagnostics);
      auto price = [&](const char* key, double& field) {
        if (auto v = warehouse.Number(key)) {
          if (*v < 0) warehouse.Error(warehouse.Child(key), std::string("usage.warehouse.") + key + " must not be negative");
          field = *v;
        }
      };
      price("price_per_query", out.price_per_query);
      price("price_per_tb_scanned", out.price_per_tb_scanned);
      warehouse.Finish();
    }
    usage.Finish();
  }
  if (YAML::Node node = top.Child("aliases"); node.IsDefined()) {
    if (!node.IsMap()) {
      top.Error(node, "'aliases' must map alias names to dataset names");
    } else {
      for (const auto& entry : node) {
        std::string alias = entry.first.Scalar();
        if (!IsIdentifier(alias)) top.Error(entry.first, "alias name must be an identifier");
        if (!entry.second.IsScalar()) {
          top.Error(entry.second, "an alias names one dataset");
          continue;
        }
        aliases[alias] = entry.second.Scalar();
      }
    }
  }
  top.Finish();
}

std::optional<database::DatasetSpec> LoadDataset(const fs::path& path, const fs::path& project_dir,
                                                 Diagnostics& diagnostics) {
  auto root = ParseFile(path, diagnostics);
  if (!root) return std::nullopt;
  database::DatasetSpec spec;
  spec.file = path.string();
  YamlMap top(*root, path.string(), diagnostics);
  size_t errors_before = diagnostics.size();
  spec.name = top.String("name", true).value_or("");
  if (!spec.name.empty() && !IsIdentifier(spec.name)) top.Error(top.Child("name"), "dataset name must be an identifier");
  spec.description = top.String("description").value_or("");
  if (auto v = top.DurationMs("refresh")) spec.refresh_interval_ms = *v;
  if (auto v = top.DurationMs("max_age")) spec.max_age_ms = *v;
  if (auto v = top.DurationMs("idle_evict")) spec.idle_evict_ms = *v;
  if (auto v = top.Int("row_group_size", 2048, 1 << 20)) {
    if (*v % 2048 != 0) top.Error(top.Child("row_group_size"), "'row_group_size' must be a multiple of 2048");
    spec.row_group_size = *v;
  }
  // A path or URI in a dataset file: store URIs stay as they are, local paths are relative to the project.
  auto locate = [&](const std::string& text) {
    if (text.empty() || !store::IsLocalUri(text)) return text;
    std::string path = text.starts_with("file://") ? text.substr(7) : text;
    return fs::path(path).is_absolute() ? path : (project_dir / path).lexically_normal().string();
  };
  spec.source = locate(top.String("source").value_or(""));
  if (auto lazy = top.Bool("lazy")) spec.lazy = *lazy;
  if (auto budget = top.Bytes("lazy_budget")) spec.lazy_budget_bytes = *budget;
  if (auto resolver = top.String("resolver")) {
    if (auto parsed = database::ParseResolver(*resolver)) {
      spec.resolver = *parsed;
    } else {
      top.Error(top.Child("resolver"), "resolver must be all, latest_partition, success_marker or databricks");
    }
    if (spec.source.empty()) top.Error(top.Child("resolver"), "'resolver' needs 'source' (a database directory)");
  }
  // Placement in a cluster (ignored by a single server): replicas N | all, shards, shard_by, global.
  if (YAML::Node replicas = top.Child("replicas"); replicas.IsDefined()) {
    if (replicas.IsScalar() && replicas.Scalar() == "all") {
      spec.placement.replicas = 0;
    } else if (auto n = top.Int("replicas", 1, 1024)) {
      spec.placement.replicas = static_cast<int>(*n);
    }
  }
  if (auto n = top.Int("shards", 1, 4096)) spec.placement.shards = static_cast<int>(*n);
  if (auto by = top.String("shard_by")) spec.placement.shard_by = *by;
  if (auto global = top.StringList("global")) spec.placement.global_tables = *global;
  YAML::Node tables = top.Child("tables");
  if (!tables.IsDefined()) {
    if (spec.source.empty()) top.Error("missing required field 'tables' (or 'source', a database directory)");
  } else if (!tables.IsMap() || tables.size() == 0) {
    top.Error(tables, "'tables' must map table names to {path, format, sort_by}");
  } else {
    for (const auto& entry : tables) {
      database::TableSpec table;
      table.name = entry.first.Scalar();
      if (!IsIdentifier(table.name)) top.Error(entry.first, "table name must be an identifier");
      YamlMap fields(entry.second, path.string(), diagnostics);
      // With a source directory the tables are discovered; entries only refine them.
      table.path = locate(fields.String("path", spec.source.empty()).value_or(""));
      if (!spec.source.empty() && !table.path.empty()) fields.Error(fields.Child("path"), "a table of a 'source' directory has no 'path'");
      if (auto format = fields.String("format")) {
        if (*format == "parquet") {
          table.format = database::FileFormat::kParquet;
        } else if (*format == "csv") {
          table.format = database::FileFormat::kCsv;
        } else {
          fields.Error(fields.Child("format"), "format must be parquet or csv");
        }
      }
      table.sort_by = fields.StringList("sort_by").value_or(std::vector<std::string>{});
      table.key = fields.StringList("key").value_or(std::vector<std::string>{});
      fields.Finish();
      spec.tables.push_back(std::move(table));
    }
  }
  if (Status placement = database::ValidatePlacement(spec); !placement.ok()) top.Error(placement.message());
  top.Finish();
  if (diagnostics.size() != errors_before) return std::nullopt;
  return spec;
}

ParamSpec LoadParam(const std::string& name, const YAML::Node& node, const std::string& file, Diagnostics& diagnostics) {
  ParamSpec param;
  param.name = name;
  param.position = PositionOf(node, file);
  YamlMap fields(node, file, diagnostics);
  std::string type_text = fields.String("type", true).value_or("string");
  auto type = ParseParamType(type_text);
  if (!type) {
    fields.Error(fields.Child("type"), "unknown param type '" + type_text +
                                           "' (expected string, integer, number, boolean, date, timestamp, enum, or list<…>)");
  } else {
    param.type = type->type;
    param.is_list = type->is_list;
  }
  if (auto v = fields.Bool("list")) param.is_list = param.is_list || *v;
  param.required = fields.Bool("required").value_or(false);
  param.description = fields.String("description").value_or("");
  param.min = fields.Number("min");
  param.max = fields.Number("max");
  if (auto v = fields.Int("max_items", 1, 10'000)) param.max_items = static_cast<size_t>(*v);
  if (auto v = fields.Int("max_length", 1, 1 << 20)) param.max_length = static_cast<size_t>(*v);
  param.enum_values = fields.StringList("values").value_or(std::vector<std::string>{});
  if (param.type == ParamType::kEnum && param.enum_values.empty()) fields.Error("an enum param needs 'values'");
  if (param.type != ParamType::kEnum && !param.enum_values.empty()) fields.Error(fields.Child("values"), "'values' is only for enum params");
  if (YAML::Node aliases = fields.Child("aliases"); aliases.IsDefined()) {
    if (!aliases.IsMap()) {
      fields.Error(aliases, "'aliases' must map request values to canonical values");
    } else {
      for (const auto& entry : aliases) param.value_aliases[entry.first.Scalar()] = entry.second.Scalar();
    }
  }
  if (YAML::Node default_node = fields.Child("default"); default_node.IsDefined()) {
    std::vector<std::string> texts;
    if (default_node.IsSequence()) {
      for (const auto& item : default_node) texts.push_back(item.Scalar());
    } else {
      texts.push_back(default_node.Scalar());
    }
    auto value = ParseParamValues(param, texts);
    if (!value.ok()) {
      fields.Error(default_node, "default of '" + name + "' is invalid: " + value.status().message());
    } else {
      param.default_value = std::move(value).value();
    }
  }
  fields.Finish();
  return param;
}

std::optional<FilterOp> ParseFilterOp(const std::string& text) {
  static const std::pair<const char*, FilterOp> kOps[] = {
      {"eq", FilterOp::kEq}, {"ne", FilterOp::kNe}, {"lt", FilterOp::kLt}, {"lte", FilterOp::kLte},
      {"gt", FilterOp::kGt}, {"gte", FilterOp::kGte}, {"in", FilterOp::kIn}, {"between", FilterOp::kBetween},
      {"prefix", FilterOp::kPrefix}, {"is_null", FilterOp::kIsNull}};
  for (const auto& [name, op] : kOps) {
    if (text == name) return op;
  }
  return std::nullopt;
}

std::optional<Aggregate> ParseAggregate(const std::string& text) {
  static const std::pair<const char*, Aggregate> kAggregates[] = {
      {"sum", Aggregate::kSum}, {"avg", Aggregate::kAvg}, {"min", Aggregate::kMin}, {"max", Aggregate::kMax},
      {"count", Aggregate::kCount}, {"count_distinct", Aggregate::kCountDistinct}};
  for (const auto& [name, aggregate] : kAggregates) {
    if (text == name) return aggregate;
  }
  return std::nullopt;
}

// "day", "-day" or "day desc".
OrderItem ParseOrderItem(std::string text) {
  OrderItem item;
  if (!text.empty() && text[0] == '-') {
    item.descending = true;
    text.erase(0, 1);
  }
  for (const char* suffix : {" desc", " DESC", " asc", " ASC"}) {
    std::string_view s(suffix);
    if (text.size() > s.size() && text.compare(text.size() - s.size(), s.size(), s) == 0) {
      item.descending = s[1] == 'd' || s[1] == 'D';
      text.resize(text.size() - s.size());
    }
  }
  item.column = text;
  return item;
}

void LoadFilters(YamlMap& top, EndpointSpec& spec, Diagnostics& diagnostics) {
  YAML::Node filters = top.Child("filters");
  if (!filters.IsDefined()) return;
  if (!filters.IsSequence()) {
    top.Error(filters, "'filters' must be a list of {column, op, param}");
    return;
  }
  for (const auto& node : filters) {
    FilterSpec filter;
    filter.position = PositionOf(node, top.file());
    YamlMap fields(node, top.file(), diagnostics);
    filter.column = fields.String("column", true).value_or("");
    std::string op = fields.String("op").value_or("eq");
    if (auto parsed = ParseFilterOp(op)) {
      filter.op = *parsed;
    } else {
      fields.Error(fields.Child("op"), "unknown filter op '" + op + "' (expected eq, ne, lt, lte, gt, gte, in, between, prefix, is_null)");
    }
    filter.params = fields.StringList("param").value_or(std::vector<std::string>{});
    size_t wanted = filter.op == FilterOp::kBetween ? 2 : 1;
    if (fields.valid() && filter.params.size() != wanted) {
      fields.Error(wanted == 2 ? "a between filter needs 'param: [lower, upper]'" : "a filter needs one 'param'");
    }
    fields.Finish();
    spec.filters.push_back(std::move(filter));
  }
}

void LoadSelect(YamlMap& top, EndpointSpec& spec, Diagnostics& diagnostics) {
  YAML::Node select = top.Child("select");
  if (!select.IsDefined()) return;
  if (!select.IsSequence()) {
    top.Error(select, "'select' must be a list of {column, agg, as}");
    return;
  }
  for (const auto& node : select) {
    SelectItem item;
    item.position = PositionOf(node, top.file());
    if (node.IsScalar()) {
      item.column = node.Scalar();
      spec.select.push_back(std::move(item));
      continue;
    }
    YamlMap fields(node, top.file(), diagnostics);
    item.column = fields.String("column").value_or("");
    if (auto agg = fields.String("agg")) {
      if (auto parsed = ParseAggregate(*agg)) {
        item.aggregate = *parsed;
      } else {
        fields.Error(fields.Child("agg"), "unknown aggregate '" + *agg + "' (expected sum, avg, min, max, count, count_distinct)");
      }
    }
    item.as = fields.String("as").value_or("");
    if (item.column.empty() && item.aggregate != Aggregate::kCount) fields.Error("'column' is required except for count");
    fields.Finish();
    spec.select.push_back(std::move(item));
  }
}

void CheckParamReferences(YamlMap& top, EndpointSpec& spec, Diagnostics& diagnostics) {
  std::set<std::string> declared;
  for (const auto& param : spec.params) declared.insert(param.name);
  auto find = [&](const std::string& name) -> const ParamSpec* {
    for (const auto& p : spec.params) {
      if (p.name == name) return &p;
    }
    return nullptr;
  };
  for (const auto& filter : spec.filters) {
    auto error = [&](const std::string& message) {
      diagnostics.Add(filter.position.file, filter.position.line, filter.position.column, message);
    };
    for (const auto& name : filter.params) {
      const ParamSpec* param = find(name);
      if (!param) {
        error("filter on '" + filter.column + "' uses undeclared param '" + name + "'");
        continue;
      }
      if (filter.op == FilterOp::kIn && !param->is_list) error("'in' filter param '" + name + "' must be a list type");
      if (filter.op != FilterOp::kIn && param->is_list) error("list param '" + name + "' can only be used with 'in'");
      if (filter.op == FilterOp::kIsNull && param->type != ParamType::kBoolean) error("'is_null' filter param '" + name + "' must be boolean");
    }
  }
  for (const auto& combination : spec.combinations) {
    for (const auto& name : combination) {
      if (!declared.contains(name)) top.Error(top.Child("combinations"), "combination names undeclared param '" + name + "'");
    }
  }
  if (spec.sort && !declared.contains(spec.sort->param)) top.Error(top.Child("sort"), "sort param '" + spec.sort->param + "' must be declared in params");
  if (!spec.sql.empty()) {
    if (!spec.filters.empty() || !spec.select.empty() || !spec.group_by.empty()) {
      top.Error(top.Child("sql"), "a sql endpoint cannot also declare filters, select or group_by");
    }
  }
  if (spec.map_sql.empty() != spec.reduce_sql.empty()) {
    top.Error(top.Child(spec.map_sql.empty() ? "reduce" : "map"), "an analysis declares both 'map' and 'reduce'");
  }
  if (spec.is_analysis() && (!spec.sql.empty() || !spec.filters.empty() || !spec.select.empty() || !spec.group_by.empty() ||
                             !spec.table.empty())) {
    top.Error(top.Child("map"), "an analysis (map/reduce) cannot also declare sql, table, filters, select or group_by");
  }
}

std::optional<EndpointSpec> LoadEndpoint(const fs::path& path, Diagnostics& diagnostics) {
  auto root = ParseFile(path, diagnostics);
  if (!root) return std::nullopt;
  size_t errors_before = diagnostics.size();
  EndpointSpec spec;
  spec.position = PositionOf(*root, path.string());
  YamlMap top(*root, path.string(), diagnostics);
  spec.name = top.String("name", true).value_or("");
  if (!spec.name.empty() && !IsIdentifier(spec.name)) top.Error(top.Child("name"), "endpoint name must be an identifier");
  spec.version = static_cast<int>(top.Int("version", 1, 1000).value_or(1));
  spec.dataset = top.String("dataset", true).value_or("");
  spec.table = top.String("table").value_or("");
  spec.tenant_column = top.String("tenant_column").value_or("");
  spec.description = top.String("description").value_or("");
  spec.owner = top.String("owner").value_or("");
  spec.sql = top.String("sql").value_or("");
  spec.map_sql = top.String("map").value_or("");
  spec.reduce_sql = top.String("reduce").value_or("");
  if (YAML::Node params = top.Child("params"); params.IsDefined()) {
    if (!params.IsMap()) {
      top.Error(params, "'params' must map param names to {type, …}");
    } else {
      for (const auto& entry : params) {
        std::string name = entry.first.Scalar();
        if (!IsIdentifier(name)) top.Error(entry.first, "param name must be an identifier");
        if (IsReservedParam(name)) top.Error(entry.first, "'" + name + "' is reserved (limit, offset, columns, format, total)");
        spec.params.push_back(LoadParam(name, entry.second, path.string(), diagnostics));
      }
    }
  }
  if (YAML::Node combinations = top.Child("combinations"); combinations.IsDefined()) {
    if (!combinations.IsSequence()) top.Error(combinations, "'combinations' must be a list of lists of param names");
    for (const auto& set : combinations) {
      std::vector<std::string> names;
      if (set.IsSequence()) {
        for (const auto& name : set) names.push_back(name.Scalar());
      } else {
        top.Error(set, "each combination must be a list of param names");
      }
      spec.combinations.push_back(std::move(names));
    }
  }
  LoadFilters(top, spec, diagnostics);
  LoadSelect(top, spec, diagnostics);
  spec.group_by = top.StringList("group_by").value_or(std::vector<std::string>{});
  for (const auto& text : top.StringList("order_by").value_or(std::vector<std::string>{})) spec.order_by.push_back(ParseOrderItem(text));
  if (YAML::Node sort = top.Child("sort"); sort.IsDefined()) {
    YamlMap fields(sort, path.string(), diagnostics);
    SortParamSpec sort_spec;
    sort_spec.param = fields.String("param", true).value_or("");
    sort_spec.allowed = fields.StringList("allowed").value_or(std::vector<std::string>{});
    sort_spec.default_value = fields.String("default").value_or("");
    if (sort_spec.allowed.empty()) fields.Error("'sort' needs 'allowed' columns");
    fields.Finish();
    spec.sort = std::move(sort_spec);
  }
  spec.columns = top.StringList("columns").value_or(std::vector<std::string>{});
  if (YAML::Node limit = top.Child("limit"); limit.IsDefined()) {
    YamlMap fields(limit, path.string(), diagnostics);
    spec.default_limit = fields.Int("default", 1, kMaxLimit).value_or(spec.default_limit);
    spec.max_limit = fields.Int("max", 1, kMaxLimit).value_or(std::max(spec.max_limit, spec.default_limit));
    if (spec.default_limit > spec.max_limit) fields.Error("limit default is above max");
    fields.Finish();
  }
  spec.total = top.Bool("total").value_or(false);
  if (auto formats = top.StringList("formats")) {
    for (const auto& format : *formats) {
      if (format != "json" && format != "csv" && format != "ndjson") top.Error(top.Child("formats"), "unknown format '" + format + "' (expected json, csv, ndjson)");
    }
    spec.formats = *formats;
  }
  spec.cache = top.Bool("cache").value_or(true);
  spec.is_public = top.Bool("public").value_or(false);
  if (spec.is_public && !spec.tenant_column.empty()) {
    top.Error(top.Child("public"), "a public endpoint cannot be tenant-scoped: drop 'public' or 'tenant_column'");
  }
  if (auto v = top.DurationMs("max_age")) spec.max_age_s = *v / 1000;
  for (const char* field : {"sql", "map", "reduce", "sort", "order_by", "group_by", "columns", "tenant_column", "table", "select", "dataset", "filters"}) {
    if (YAML::Node node = top.Child(field); node.IsDefined()) spec.field_positions[field] = PositionOf(node, path.string());
  }
  CheckParamReferences(top, spec, diagnostics);
  for (const auto& filter : spec.filters) {
    if (!spec.tenant_column.empty() && filter.column == spec.tenant_column) {
      diagnostics.Add(filter.position.file, filter.position.line, filter.position.column,
                      "the tenant column '" + spec.tenant_column + "' is filled from the caller and cannot be a param filter");
    }
  }
  top.Finish();
  if (diagnostics.size() != errors_before) return std::nullopt;
  return spec;
}

}  // namespace

std::optional<ParamTypeText> ParseParamType(std::string_view text) {
  bool is_list = false;
  if (text.size() > 6 && text.substr(0, 5) == "list<" && text.back() == '>') {
    is_list = true;
    text = text.substr(5, text.size() - 6);
  }
  static const std::pair<const char*, ParamType> kTypes[] = {
      {"string", ParamType::kString}, {"integer", ParamType::kInteger}, {"number", ParamType::kNumber},
      {"boolean", ParamType::kBoolean}, {"date", ParamType::kDate}, {"timestamp", ParamType::kTimestamp},
      {"enum", ParamType::kEnum}};
  for (const auto& [name, type] : kTypes) {
    if (text == name) return ParamTypeText{type, is_list};
  }
  return std::nullopt;
}

bool IsIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

bool IsReservedParam(std::string_view name) {
  return name == "limit" || name == "offset" || name == "columns" || name == "format" || name == "total" || name == "partial" ||
         name == "consistency";
}

std::string_view ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kString: return "string";
    case ParamType::kInteger: return "integer";
    case ParamType::kNumber: return "number";
    case ParamType::kBoolean: return "boolean";
    case ParamType::kDate: return "date";
    case ParamType::kTimestamp: return "timestamp";
    case ParamType::kEnum: return "enum";
  }
  return "string";
}

ProjectSpec LoadProject(const std::string& dir, Diagnostics& diagnostics) {
  ProjectSpec project;
  std::error_code ec;
  // No throwing filesystem calls: a catalog reload loads projects on the follower thread.
  fs::path root = fs::absolute(dir, ec).lexically_normal();
  if (ec) {
    diagnostics.Add(dir, 0, 0, "cannot resolve the project directory: " + ec.message());
    return project;
  }
  project.dir = root.string();
  if (!fs::is_directory(root, ec)) {
    diagnostics.Add(dir, 0, 0, "project directory does not exist");
    return project;
  }
  fs::path settings_path = root / "dram.yml";
  const bool has_settings = fs::exists(settings_path, ec);
  if (has_settings) LoadSettings(settings_path, project.settings, project.aliases, diagnostics);
  if (!fs::path(project.settings.cache_dir).is_absolute()) {
    project.settings.cache_dir = (root / project.settings.cache_dir).lexically_normal().string();
  }
  // A local usage store is relative to the project, like the cache; a store URI is taken as given.
  std::string& usage_store = project.settings.usage.store;
  if (!usage_store.empty() && usage_store.find("://") == std::string::npos && !fs::path(usage_store).is_absolute()) {
    usage_store = (root / usage_store).lexically_normal().string();
  }

  std::map<std::string, const database::DatasetSpec*> datasets;
  for (const auto& file : YamlFiles(root / "datasets")) {
    if (auto spec = LoadDataset(file, root, diagnostics)) project.datasets.push_back(std::move(*spec));
  }
  for (const auto& spec : project.datasets) {
    if (!datasets.emplace(spec.name, &spec).second) diagnostics.Add(spec.file, 1, 1, "dataset '" + spec.name + "' is declared twice");
  }
  // A project of only dram.yml is a server whose databases are added at runtime (dram db add).
  if (project.datasets.empty() && !has_settings && diagnostics.empty()) {
    diagnostics.Add((root / "datasets").string(), 0, 0, "no datasets declared (and no dram.yml)");
  }
  for (const auto& [alias, target] : project.aliases) {
    if (datasets.contains(alias)) diagnostics.Add(settings_path.string(), 1, 1, "alias '" + alias + "' has a dataset's name");
    if (!datasets.contains(target)) diagnostics.Add(settings_path.string(), 1, 1, "alias '" + alias + "' names unknown dataset '" + target + "'");
  }

  std::set<std::pair<std::string, int>> routes;
  for (const auto& file : YamlFiles(root / "endpoints")) {
    auto spec = LoadEndpoint(file, diagnostics);
    if (!spec) continue;
    const auto& pos = spec->position;
    if (!routes.emplace(spec->name, spec->version).second) {
      diagnostics.Add(pos.file, pos.line, pos.column, "endpoint /v" + std::to_string(spec->version) + "/" + spec->name + " is declared twice");
    }
    auto dataset = datasets.find(spec->dataset);
    if (auto alias = project.aliases.find(spec->dataset); alias != project.aliases.end()) dataset = datasets.find(alias->second);
    if (dataset == datasets.end()) {
      diagnostics.Add(pos.file, pos.line, pos.column, "unknown dataset '" + spec->dataset + "'");
    } else if (spec->table.empty() && spec->sql.empty() && !spec->is_analysis()) {
      if (dataset->second->tables.size() == 1) {
        spec->table = dataset->second->tables[0].name;
      } else if (!dataset->second->source.empty()) {
        diagnostics.Add(pos.file, pos.line, pos.column, "dataset '" + spec->dataset + "' discovers its tables: name one with 'table'");
      } else {
        diagnostics.Add(pos.file, pos.line, pos.column, "dataset '" + spec->dataset + "' has several tables: name one with 'table'");
      }
    }
    // Over a database split into shards, each request is split too: only what decomposes exactly.
    if (dataset != datasets.end() && dataset->second->placement.shards > 1) {
      const database::PlacementSpec& placement = dataset->second->placement;
      if (!spec->sql.empty()) {
        const auto& at = spec->PositionOf("sql");
        diagnostics.Add(at.file, at.line, at.column,
                        "dataset '" + dataset->second->name + "' is split into " + std::to_string(placement.shards) +
                            " shards: a SQL template cannot be split across them (use filters, group_by and select, or an "
                            "analysis: map and reduce)");
      }
      for (const auto& item : spec->select) {
        if (item.aggregate == Aggregate::kCountDistinct && (placement.by_file() || item.column != placement.shard_by)) {
          diagnostics.Add(item.position.file, item.position.line, item.position.column,
                          "count_distinct of '" + item.column + "' is not exact across the shards of '" + dataset->second->name +
                              "': only the column it is sharded by (shard_by) can be counted distinct");
        }
      }
    }
    if (!spec->tenant_column.empty() && project.settings.auth.mode == auth::AuthMode::kNone) {
      diagnostics.Add(pos.file, pos.line, pos.column,
                      "endpoint is tenant-scoped but auth mode is none: set auth.mode in dram.yml");
    }
    project.endpoints.push_back(std::move(*spec));
  }
  return project;
}

}  // namespace dram::api
