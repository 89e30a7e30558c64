#include "database/runtime_state.h"

#include <boost/json.hpp>

#include "common/log.h"

namespace dram::database {

namespace {

const char* ResolverName(Resolver resolver) {
  switch (resolver) {
    case Resolver::kAll: return "all";
    case Resolver::kLatestPartition: return "latest_partition";
    case Resolver::kSuccessMarker: return "success_marker";
    case Resolver::kDatabricks: return "databricks";
  }
  return "all";
}

}  // namespace

std::optional<Resolver> ParseResolver(std::string_view name) {
  for (Resolver r : {Resolver::kAll, Resolver::kLatestPartition, Resolver::kSuccessMarker, Resolver::kDatabricks}) {
    if (name == ResolverName(r)) return r;
  }
  return std::nullopt;
}

std::string_view NameOf(Resolver resolver) { return ResolverName(resolver); }

namespace {

boost::json::object SpecToJson(const DatasetSpec& spec) {
  boost::json::array tables;
  for (const auto& table : spec.tables) {
    boost::json::array sort_by(table.sort_by.begin(), table.sort_by.end());
    boost::json::array key(table.key.begin(), table.key.end());
    tables.push_back({{"name", table.name}, {"path", table.path},
                      {"format", table.format == FileFormat::kParquet ? "parquet" : table.format == FileFormat::kCsv ? "csv" : "auto"},
                      {"sort_by", std::move(sort_by)}, {"key", std::move(key)}});
  }
  return {{"name", spec.name}, {"source", spec.source}, {"resolver", ResolverName(spec.resolver)},
          {"refresh_ms", spec.refresh_interval_ms}, {"row_group_size", spec.row_group_size}, {"named_tables_only", spec.named_tables_only},
          {"lazy", spec.lazy}, {"lazy_budget_bytes", spec.lazy_budget_bytes}, {"idle_evict_ms", spec.idle_evict_ms},
          {"tables", std::move(tables)},
          {"placement", {{"replicas", spec.placement.replicas}, {"shards", spec.placement.shards}, {"shard_by", spec.placement.shard_by},
                         {"global", boost::json::array(spec.placement.global_tables.begin(), spec.placement.global_tables.end())}}}};
}

Result<DatasetSpec> SpecFromJson(const boost::json::value& value) {
  try {
    const auto& object = value.as_object();
    DatasetSpec spec;
    spec.name = object.at("name").as_string().c_str();
    spec.source = object.at("source").as_string().c_str();
    auto resolver = ParseResolver(object.at("resolver").as_string().c_str());
    if (!resolver) return InvalidArgument("unknown resolver");
    spec.resolver = *resolver;
    spec.refresh_interval_ms = object.at("refresh_ms").to_number<int64_t>();
    spec.row_group_size = object.at("row_group_size").to_number<int64_t>();
    if (auto* only = object.if_contains("named_tables_only")) spec.named_tables_only = only->as_bool();
    if (auto* lazy = object.if_contains("lazy")) spec.lazy = lazy->as_bool();
    if (auto* budget = object.if_contains("lazy_budget_bytes")) spec.lazy_budget_bytes = budget->to_number<int64_t>();
    if (auto* idle = object.if_contains("idle_evict_ms")) spec.idle_evict_ms = idle->to_number<int64_t>();
    // Absent in catalogs written before clustering: one copy on every member, unsharded.
    if (auto* placement = object.if_contains("placement")) {
      const auto& fields = placement->as_object();
      spec.placement.replicas = static_cast<int>(fields.at("replicas").to_number<int64_t>());
      spec.placement.shards = static_cast<int>(fields.at("shards").to_number<int64_t>());
      spec.placement.shard_by = fields.at("shard_by").as_string().c_str();
      for (const auto& table : fields.at("global").as_array()) spec.placement.global_tables.emplace_back(table.as_string().c_str());
    }
    for (const auto& t : object.at("tables").as_array()) {
      TableSpec table;
      table.name = t.at("name").as_string().c_str();
      table.path = t.at("path").as_string().c_str();
      std::string format = t.at("format").as_string().c_str();
      table.format = format == "parquet" ? FileFormat::kParquet : format == "csv" ? FileFormat::kCsv : FileFormat::kAuto;
      for (const auto& c : t.at("sort_by").as_array()) table.sort_by.emplace_back(c.as_string().c_str());
      for (const auto& c : t.at("key").as_array()) table.key.emplace_back(c.as_string().c_str());
      spec.tables.push_back(std::move(table));
    }
    return spec;
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed database entry: ") + e.what());
  }
}

// {"database": name, "pinned": snapshot id or ""}. Runs on whichever thread builds a manager (a
// catalog reload's is the follower), so a malformed entry is a Status, never an exception.
Result<RuntimeAlias> AliasFromJson(const boost::json::value& value) {
  const boost::json::object* object = value.if_object();
  const boost::json::value* database = object ? object->if_contains("database") : nullptr;
  if (!database || !database->is_string()) return InvalidArgument("alias entry needs a \"database\" name");
  RuntimeAlias alias{std::string(database->get_string()), ""};
  if (const boost::json::value* pinned = object->if_contains("pinned"); pinned && pinned->is_string()) {
    alias.pinned = std::string(pinned->get_string());
  }
  return alias;
}


}  // namespace

Result<RuntimeState> ParseRuntimeState(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(json, ec);
  if (ec || !root.is_object()) return InvalidArgument("runtime state is not a JSON object");
  RuntimeState state;
  if (auto* databases = root.as_object().if_contains("databases"); databases && databases->is_array()) {
    for (const auto& value : databases->as_array()) {
      auto spec = SpecFromJson(value);
      if (!spec.ok()) {
        common::Log(common::LogLevel::kError, "runtime catalog entry unreadable; ignored", "");
        continue;
      }
      state.databases.push_back(std::move(spec).value());
    }
  }
  if (auto* aliases = root.as_object().if_contains("aliases"); aliases && aliases->is_object()) {
    for (const auto& [alias, target] : aliases->as_object()) {
      auto parsed = AliasFromJson(target);
      if (!parsed.ok()) {
        common::Log(common::LogLevel::kError, "runtime catalog alias unreadable; ignored", "\"alias\":\"" + std::string(alias) + "\"");
        continue;
      }
      state.aliases[std::string(alias)] = std::move(parsed).value();
    }
  }
  return state;
}

std::string SerializeRuntimeState(const RuntimeState& state) {
  boost::json::array databases;
  for (const auto& spec : state.databases) databases.push_back(SpecToJson(spec));
  boost::json::object aliases;
  for (const auto& [alias, target] : state.aliases) aliases[alias] = {{"database", target.database}, {"pinned", target.pinned}};
  return boost::json::serialize(boost::json::object{{"databases", std::move(databases)}, {"aliases", std::move(aliases)}});
}

}  // namespace dram::database
