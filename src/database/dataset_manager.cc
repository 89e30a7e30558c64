#include "database/dataset_manager.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>

#include <boost/json.hpp>

#include "common/barrier.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/sql_text.h"
#include "database/source_files.h"
#include "engine/result_encoder.h"
#include "store/local_object_store.h"

namespace dram::database {

namespace fs = std::filesystem;

namespace {

using common::QuoteIdentifier;
using common::QuoteLiteral;

std::string ReadExpression(const TableSources& sources) {
  std::vector<std::string> paths;
  paths.reserve(sources.files.size());
  for (const auto& file : sources.files) paths.push_back(file.local_path);
  return database::ReadExpression(paths, sources.format == FileFormat::kParquet ? FileFormat::kParquet : FileFormat::kCsv);
}

std::string Fingerprint(const DatasetSpec& spec, const std::vector<TableSources>& tables) {
  // Bump kLayoutVersion whenever materialization changes how a snapshot file is laid out.
  constexpr int64_t kLayoutVersion = 3;
  common::Fnv1a64 hash;
  hash.Add(kLayoutVersion).Add(spec.name).Add(EffectiveRowGroupSize(spec)).Add(int64_t{spec.lazy});
  for (const auto& table : tables) {
    hash.Add(table.spec.name).Add(static_cast<int64_t>(table.format));
    for (const auto& column : table.spec.sort_by) hash.Add(column);
    // Remote files are identified by key, size and ETag; local ones by path, size and mtime.
    for (const auto& file : table.files) {
      if (file.key.empty()) {
        hash.Add(file.local_path).Add(file.size).Add(file.mtime_ms);
      } else {
        hash.Add(file.key).Add(file.size).Add(file.etag);
      }
    }
  }
  return hash.hex();
}

int64_t Watermark(const std::vector<TableSources>& tables) {
  int64_t newest = 0;
  for (const auto& table : tables) {
    for (const auto& file : table.files) newest = std::max(newest, file.mtime_ms);
  }
  return newest;
}

// Creates every table of the dataset in `connection`, as tables (materialized) or views;
// `prefix` names the attached database they go in ("" for the default one).
Status CreateTables(engine::Connection& connection, const std::vector<TableSources>& tables, bool as_views,
                    const std::string& prefix = "") {
  for (const auto& table : tables) {
    std::string sql = std::string(as_views ? "CREATE VIEW " : "CREATE TABLE ") + prefix + QuoteIdentifier(table.spec.name) +
                      " AS SELECT * FROM " + ReadExpression(table);
    if (!as_views && !table.spec.sort_by.empty()) {
      sql += " ORDER BY ";
      for (size_t i = 0; i < table.spec.sort_by.size(); ++i) {
        if (i > 0) sql += ", ";
        sql += QuoteIdentifier(table.spec.sort_by[i]);
      }
    }
    Status status = connection.Execute(sql);
    if (!status.ok()) return Status(status.code(), "table " + table.spec.name + ": " + status.message());
  }
  return Status::Ok();
}

Result<std::vector<TableInfo>> DescribeTables(engine::Connection& connection, const std::vector<TableSources>& tables,
                                              bool count_rows) {
  std::vector<TableInfo> infos;
  for (const auto& table : tables) {
    TableInfo info;
    info.name = table.spec.name;
    info.key = table.spec.key;
    ASSIGN_OR_RETURN(info.columns, connection.Describe("SELECT * FROM " + QuoteIdentifier(info.name)));
    if (count_rows) {
      ASSIGN_OR_RETURN(auto count, connection.Query("SELECT count(*) AS n FROM " + QuoteIdentifier(info.name)));
      ASSIGN_OR_RETURN(std::vector<std::string> text, engine::ColumnText(count, 0));
      info.rows = std::stoll(text.at(0));
    }
    infos.push_back(std::move(info));
  }
  return infos;
}

// What a failed load reports (the admin call's answer, /status, history): DataLoss (502
// load_failed) whatever step failed, since the source's data is what could not be loaded —
// except NotFound (no such source or bucket: 404) and a conflict. The engine's messages name files
// in the local cache; those paths are cut down to the file's path below its table.
Status AsLoadFailure(const Status& status, const std::string& cache_dir) {
  std::string message = status.message();
  for (size_t at; !cache_dir.empty() && (at = message.find(cache_dir)) != std::string::npos;) {
    size_t end = message.find("/files/", at);
    size_t stop = message.find_first_of("'\" \n", at);
    if (end != std::string::npos && end < stop) {
      size_t table_end = message.find('/', end + 7);
      message.erase(at, (table_end != std::string::npos && table_end < stop ? table_end + 1 : end + 7) - at);
    } else {
      message.replace(at, cache_dir.size(), "<cache>");
    }
  }
  switch (status.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kAborted:
    case StatusCode::kAlreadyExists: return Status(status.code(), message);
    default: return Status(StatusCode::kDataLoss, message);
  }
}

// Writes every table into a new DuckDB file at `path`. Row groups are smaller than DuckDB's
// default (122,880 rows): with data sorted by the lookup keys, a selective query then reads a few
// thousand rows instead of a hundred thousand (measured: 1.4x the lookups per second on the demo),
// while full scans cost the same.
Status Materialize(const DatasetSpec& spec, const std::vector<TableSources>& tables, const std::string& path,
                   const engine::DatabaseOptions& engine_options) {
  engine::DatabaseOptions options = engine_options;
  options.read_only = false;
  ASSIGN_OR_RETURN(auto database, engine::Database::Open("", options));
  ASSIGN_OR_RETURN(auto connection, database->Connect());
  RETURN_IF_ERROR(connection->Execute("ATTACH " + QuoteLiteral(path) + " AS snapshot (ROW_GROUP_SIZE " +
                                      std::to_string(EffectiveRowGroupSize(spec)) + ")"));
  RETURN_IF_ERROR(CreateTables(*connection, tables, /*as_views=*/false, "snapshot."));
  RETURN_IF_ERROR(connection->Execute("CHECKPOINT snapshot"));
  return connection->Execute("DETACH snapshot");
}

// Opens a snapshot file read-only with its pool. Its tables are `tables` when the sources were
// just listed, or (warm start, a served DuckDB file) read from the file's own catalog, with keys
// from the spec.
Result<std::unique_ptr<Snapshot>> OpenSnapshot(const std::string& id, const std::string& path, const ManagerOptions& options,
                                               const DatasetSpec& spec, const std::vector<TableSources>* tables,
                                               int64_t watermark_ms, int64_t load_ms) {
  engine::DatabaseOptions engine_options = options.engine;
  engine_options.read_only = true;
  ASSIGN_OR_RETURN(auto database, engine::Database::Open(path, engine_options));
  ASSIGN_OR_RETURN(auto pool, engine::ConnectionPool::Create(*database, options.pool_size));
  std::vector<TableInfo> infos;
  {
    ASSIGN_OR_RETURN(auto lease, pool->Acquire(std::chrono::seconds(10)));
    std::vector<TableSources> in_file;
    if (!tables) {
      ASSIGN_OR_RETURN(auto names_result, lease->Query("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY 1"));
      ASSIGN_OR_RETURN(std::vector<std::string> names, engine::ColumnText(names_result, 0));
      for (const auto& name : names) {
        TableSources table;
        table.spec.name = name;
        for (const auto& declared : spec.tables) {
          if (declared.name == name) table.spec.key = declared.key;
        }
        in_file.push_back(std::move(table));
      }
      tables = &in_file;
    }
    ASSIGN_OR_RETURN(infos, DescribeTables(*lease, *tables, true));
  }
  // Everything it serves is in its own file: no other file may be touched.
  RETURN_IF_ERROR(database->Seal({}));
  std::error_code ec;
  auto bytes = static_cast<int64_t>(fs::file_size(path, ec));
  return std::make_unique<Snapshot>(id, path, std::move(database), std::move(pool), std::move(infos), watermark_ms, load_ms,
                                    bytes);
}

// A lazy database: an in-memory DuckDB whose tables are views over stubs and fetched files.
Result<std::unique_ptr<Snapshot>> OpenLazySnapshot(const std::string& id, const ManagerOptions& options,
                                                   std::shared_ptr<LazyFiles> lazy, const std::string& lazy_dir,
                                                   const std::vector<TableSources>& tables, int64_t load_ms) {
  engine::DatabaseOptions engine_options = options.engine;
  engine_options.read_only = false;  // in memory: only views live here
  ASSIGN_OR_RETURN(auto database, engine::Database::Open("", engine_options));
  ASSIGN_OR_RETURN(auto pool, engine::ConnectionPool::Create(*database, options.pool_size));
  std::vector<TableInfo> infos;
  {
    ASSIGN_OR_RETURN(auto lease, pool->Acquire(std::chrono::seconds(10)));
    RETURN_IF_ERROR(lazy->CreateViews(*lease));
    ASSIGN_OR_RETURN(infos, DescribeTables(*lease, tables, /*count_rows=*/false));
    for (auto& info : infos) {
      info.rows = lazy->RowCount(info.name);
      if (info.rows >= 0) continue;
      // CSV tables of a lazy database are fetched whole at load: count them.
      ASSIGN_OR_RETURN(auto count, lease->Query("SELECT count(*) FROM " + QuoteIdentifier(info.name)));
      ASSIGN_OR_RETURN(std::vector<std::string> text, engine::ColumnText(count, 0));
      info.rows = std::stoll(text.at(0));
    }
  }
  // Requests read the files through views: the fetched files' directory and the directories of
  // local sources, and nothing else.
  std::vector<std::string> allowed = {lazy_dir};
  for (const auto& table : tables) {
    if (table.store) continue;
    for (const auto& file : table.files) {
      std::string dir = fs::path(file.local_path).parent_path().string();
      if (std::find(allowed.begin(), allowed.end(), dir) == allowed.end()) allowed.push_back(dir);
    }
  }
  RETURN_IF_ERROR(database->Seal(allowed));
  const int64_t bytes = lazy->metadata_bytes();
  auto snapshot = std::make_unique<Snapshot>(id, "", std::move(database), std::move(pool), std::move(infos),
                                             Watermark(tables), load_ms, bytes);
  snapshot->set_lazy(std::move(lazy));
  return snapshot;
}

}  // namespace

namespace {

constexpr size_t kHistoryLength = 20;
constexpr std::string_view kBuildingSuffix = ".duckdb.building-";

// A name of its own for each build: two builds of the same version (a catalog reload's manager
// and the serving one's refresher, in one process) must never write one file.
std::string BuildingName(const std::string& id) {
  static std::atomic<uint64_t> builds{0};
  return id + std::string(kBuildingSuffix) + std::to_string(::getpid()) + "-" + std::to_string(builds.fetch_add(1));
}
constexpr const char* kStateFile = ".dram-state.json";

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

static boost::json::object SpecToJson(const DatasetSpec& spec) {
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
          {"lazy", spec.lazy}, {"lazy_budget_bytes", spec.lazy_budget_bytes},
          {"tables", std::move(tables)}};
}

static Result<DatasetSpec> SpecFromJson(const boost::json::value& value) {
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
Result<DatasetManager::Alias> DatasetManager::AliasFromJson(const boost::json::value& value) {
  const boost::json::object* object = value.if_object();
  const boost::json::value* database = object ? object->if_contains("database") : nullptr;
  if (!database || !database->is_string()) return InvalidArgument("alias entry needs a \"database\" name");
  Alias alias{std::string(database->get_string()), ""};
  if (const boost::json::value* pinned = object->if_contains("pinned"); pinned && pinned->is_string()) {
    alias.pinned = std::string(pinned->get_string());
  }
  return alias;
}

DatasetManager::DatasetManager(ManagerOptions options, std::vector<DatasetSpec> specs, Validator validator,
                               SwapListener listener, std::map<std::string, std::string> declared_aliases, UsersOf users_of)
    : options_(std::move(options)), validator_(std::move(validator)), listener_(std::move(listener)),
      users_of_(std::move(users_of)) {
  for (auto& spec : specs) {
    auto entry = std::make_shared<Entry>(std::move(spec));
    entry->status.declared = true;
    entries_.emplace(entry->spec.name, std::move(entry));
  }
  for (auto& [alias, database] : declared_aliases) aliases_[alias] = Alias{database, ""};
  LoadState();
  for (auto& [name, entry] : entries_) {
    entry->status.name = entry->spec.name;
    entry->status.source = !entry->spec.source.empty() ? entry->spec.source
                           : entry->spec.tables.empty() ? "" : entry->spec.tables.front().path;
    entry->status.refresh_interval_ms = entry->spec.refresh_interval_ms;
  }
}

DatasetManager::~DatasetManager() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
    for (auto& [name, entry] : entries_) entries.push_back(entry);
  }
  stop_cv_.NotifyAll();
  for (auto& entry : entries) {
    if (entry->refresher.joinable()) entry->refresher.join();
  }
  for (auto& thread : warmers_) thread.join();
}

// The runtime catalog: databases added through Add() and every alias (declared ones included,
// since they may have been repointed). A malformed file is logged and ignored, never half-read.
void DatasetManager::LoadState() {
  Result<std::string> bytes = NotFound("no runtime state");
  if (options_.load_runtime_state) {
    std::string text = options_.load_runtime_state();
    if (!text.empty()) bytes = std::move(text);
  } else {
    store::LocalObjectStore local(options_.cache_dir);
    bytes = static_cast<store::ObjectStore&>(local).Get(kStateFile);
  }
  if (!bytes.ok()) return;
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(*bytes, ec);
  if (ec || !root.is_object()) {
    common::Log(common::LogLevel::kError, "runtime catalog unreadable; ignored", "\"file\":\"" + std::string(kStateFile) + "\"");
    return;
  }
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> added;
  if (auto* databases = root.as_object().if_contains("databases"); databases && databases->is_array()) {
    for (const auto& value : databases->as_array()) {
      auto spec = SpecFromJson(value);
      if (!spec.ok()) {
        common::Log(common::LogLevel::kError, "runtime catalog entry unreadable; ignored", "");
        continue;
      }
      if (entries_.contains(spec->name)) {
        common::Log(common::LogLevel::kWarn, "runtime database shadowed by a declared dataset", "\"dataset\":\"" + spec->name + "\"");
        continue;
      }
      auto entry = std::make_shared<Entry>(std::move(spec).value());
      added.emplace(entry->spec.name, std::move(entry));
    }
  }
  for (auto& [name, entry] : added) entries_.emplace(name, std::move(entry));
  if (auto* aliases = root.as_object().if_contains("aliases"); aliases && aliases->is_object()) {
    for (const auto& [alias, target] : aliases->as_object()) {
      auto parsed = AliasFromJson(target);
      if (!parsed.ok()) {
        common::Log(common::LogLevel::kError, "runtime catalog alias unreadable; ignored", "\"alias\":\"" + std::string(alias) + "\"");
        continue;
      }
      aliases_[std::string(alias)] = std::move(parsed).value();
    }
  }
}

Status DatasetManager::SaveState() const {
  boost::json::array databases;
  boost::json::object aliases;
  {
    common::MutexLock lock(mu_);
    for (const auto& [name, entry] : entries_) {
      if (!entry->status.declared) databases.push_back(SpecToJson(entry->spec));
    }
    for (const auto& [alias, target] : aliases_) aliases[alias] = {{"database", target.database}, {"pinned", target.pinned}};
  }
  std::string state = boost::json::serialize(boost::json::object{{"databases", std::move(databases)}, {"aliases", std::move(aliases)}});
  if (options_.save_runtime_state) return options_.save_runtime_state(state);
  std::error_code ec;
  fs::create_directories(options_.cache_dir, ec);
  store::LocalObjectStore local(options_.cache_dir);
  store::ObjectStore& state_store = local;
  auto put = state_store.Put(kStateFile, state);
  return put.ok() ? Status::Ok() : put.status();
}

Result<std::unique_ptr<Snapshot>> DatasetManager::OpenSourceViews(const DatasetSpec& spec) {
  ASSIGN_OR_RETURN(auto tables, ListSources(spec, ""));
  for (const auto& table : tables) {
    if (table.store) return Unimplemented("checking a dataset from a remote store needs a running server (dram serve)", spec.name);
  }
  if (tables.size() == 1 && tables.front().format == FileFormat::kDuckdb) {
    // One DuckDB file is served as it is, so it is checked as it is: opened read-only.
    ManagerOptions options;
    options.engine.threads = 1;
    options.pool_size = 1;
    return OpenSnapshot(Fingerprint(spec, tables), tables.front().files.front().local_path, options, spec, nullptr,
                        Watermark(tables), 0);
  }
  ASSIGN_OR_RETURN(auto database, engine::Database::Open("", {.read_only = false, .threads = 1}));
  ASSIGN_OR_RETURN(auto pool, engine::ConnectionPool::Create(*database, 1));
  std::vector<TableInfo> infos;
  {
    ASSIGN_OR_RETURN(auto lease, pool->Acquire(std::chrono::seconds(10)));
    RETURN_IF_ERROR(CreateTables(*lease, tables, /*as_views=*/true));
    ASSIGN_OR_RETURN(infos, DescribeTables(*lease, tables, false));
  }
  return std::make_unique<Snapshot>(Fingerprint(spec, tables), "", std::move(database), std::move(pool),
                                    std::move(infos), Watermark(tables), 0, 0);
}

bool DatasetManager::Removed(const Entry& entry) const {
  common::MutexLock lock(mu_);
  return entry.removed;
}

std::shared_ptr<DatasetManager::Entry> DatasetManager::Find(const std::string& name) const {
  common::MutexLock lock(mu_);
  auto found = entries_.find(name);
  if (found != entries_.end()) return found->second;
  auto alias = aliases_.find(name);
  if (alias != aliases_.end()) {
    found = entries_.find(alias->second.database);
    if (found != entries_.end()) return found->second;
  }
  return nullptr;
}

Status DatasetManager::LoadAll() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    common::MutexLock lock(mu_);
    for (auto& [name, entry] : entries_) entries.push_back(entry);
  }
  Status first_error;
  for (auto& entry : entries) {
    // A verified version already on disk serves at once; the source is checked in the background,
    // so a slow or unreachable store does not hold up the boot.
    if (options_.warm_start && WarmStart(*entry)) {
      common::MutexLock lock(mu_);
      warmers_.emplace_back([this, entry] {
        common::RunBarrier("warm start check " + entry->spec.name, "", [&] { [[maybe_unused]] Status status = Build(*entry, false); });
      });
      continue;
    }
    Status status = Build(*entry, false);
    if (!status.ok() && first_error.ok()) first_error = Status(status.code(), "dataset " + entry->spec.name + ": " + status.message());
  }
  return first_error;
}

// <cache>/<dataset>/CURRENT names the serving version ("<id> <watermark ms>"), written after
// every swap: what a restart opens before it can reach the store.
void DatasetManager::RecordCurrent(const Entry& entry) {
  std::shared_ptr<const Snapshot> current;
  {
    common::MutexLock lock(mu_);
    current = entry.status.current;
  }
  if (!current || current->lazy() || current->path().empty()) return;
  store::LocalObjectStore local((fs::path(options_.cache_dir) / entry.spec.name).string());
  [[maybe_unused]] auto put = static_cast<store::ObjectStore&>(local).Put(
      "CURRENT", current->id() + " " + std::to_string(current->watermark_ms()) + "\n");
}

bool DatasetManager::WarmStart(Entry& entry) {
  if (entry.spec.lazy) return false;
  store::LocalObjectStore local((fs::path(options_.cache_dir) / entry.spec.name).string());
  auto text = static_cast<store::ObjectStore&>(local).Get("CURRENT");
  if (!text.ok()) return false;
  std::string id = text->substr(0, text->find(' '));
  int64_t watermark = std::atoll(text->c_str() + std::min(text->size(), id.size() + 1));
  fs::path path = fs::path(options_.cache_dir) / entry.spec.name / (id + ".duckdb");
  std::error_code ec;
  if (id.empty() || !fs::exists(path, ec)) return false;
  common::MutexLock build_lock(entry.build_mu);
  auto opened = OpenSnapshot(id, path.string(), options_, entry.spec, nullptr, watermark, 0);
  if (!opened.ok()) return false;
  std::shared_ptr<const Snapshot> snapshot = std::move(opened).value();
  const std::vector<std::string> followers = FollowersOf(entry.spec.name);
  if (!Validate(entry.spec, *snapshot, followers).ok()) return false;
  {
    common::MutexLock lock(mu_);
    entry.status.current = snapshot;
    entry.status.loads_ok++;
    entry.status.last_success = std::chrono::system_clock::now();
  }
  common::Log(common::LogLevel::kInfo, "dataset served from disk (warm start)",
              "\"dataset\":\"" + entry.spec.name + "\",\"snapshot\":\"" + id + "\"");
  if (listener_) {
    listener_(entry.spec.name);
    for (const auto& alias : followers) listener_(alias);
  }
  return true;
}

Status DatasetManager::Refresh(const std::string& name, bool force) {
  auto entry = Find(name);
  if (!entry) return NotFound("unknown dataset", name);
  return Build(*entry, force);
}

Status DatasetManager::Build(Entry& entry, bool force) {
  const DatasetSpec& spec = entry.spec;
  common::MutexLock build_lock(entry.build_mu);
  auto started = std::chrono::steady_clock::now();
  auto record = [&](LoadRecord r) {
    r.at = std::chrono::system_clock::now();
    r.load_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    entry.status.history.push_back(std::move(r));
    if (entry.status.history.size() > kHistoryLength) entry.status.history.pop_front();
  };
  auto fail = [&](Status cause) {
    Status status = AsLoadFailure(cause, options_.cache_dir);
    common::MutexLock lock(mu_);
    entry.status.last_error = status.message();
    entry.status.loads_failed++;
    entry.status.loading = false;
    entry.status.last_attempt = std::chrono::system_clock::now();
    record({.ok = false, .error = status.message()});
    common::Log(common::LogLevel::kError, "dataset load failed",
                "\"dataset\":\"" + spec.name + "\",\"error_code\":\"" + std::string(StatusCodeName(status.code())) + "\"");
    return status;
  };

  // A refresh that found the entry before a Remove must not rebuild into the removed directory.
  if (Removed(entry)) return NotFound("database was removed", spec.name);
  auto tables = ListSources(spec, options_.cache_dir);
  if (!tables.ok()) return fail(tables.status());
  std::string id = Fingerprint(spec, *tables);
  int64_t source_bytes = 0, source_files = 0, remote_files = 0;
  for (const auto& table : *tables) {
    for (const auto& file : table.files) {
      source_bytes += file.size;
      ++source_files;
      if (table.store) ++remote_files;
    }
  }
  {
    common::MutexLock lock(mu_);
    entry.status.last_attempt = std::chrono::system_clock::now();
    if (!force && entry.status.current && entry.status.current->id() == id) {
      record({.snapshot_id = id, .ok = true, .reused = true});
      entry.status.last_error.clear();
      entry.status.last_success = entry.status.last_attempt;
      return Status::Ok();
    }
    entry.status.loading = true;
  }

  fs::path dir = fs::path(options_.cache_dir) / spec.name;
  fs::path final_path = dir / (id + ".duckdb");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Unavailable("cannot create cache directory", dir.string()));
  Result<std::unique_ptr<Snapshot>> opened = Internal("not built");
  const bool duckdb_file = tables->size() == 1 && tables->front().format == FileFormat::kDuckdb;
  if (duckdb_file) {
    // One DuckDB file: fetched (when remote), copied into place as this version, opened as it is.
    if (force || !fs::exists(final_path, ec)) {
      Status fetched = FetchRemote(*tables, dir.string(), &entry.progress);
      if (!fetched.ok()) return fail(fetched);
      fs::path building = dir / BuildingName(id);
      fs::copy_file(tables->front().files.front().local_path, building, fs::copy_options::overwrite_existing, ec);
      if (ec) return fail(Unavailable("cannot copy the DuckDB file into the cache", building.string()));
      fs::rename(building, final_path, ec);
      if (ec) return fail(Internal("cannot rename snapshot into place", final_path.string()));
    }
    opened = OpenSnapshot(id, final_path.string(), options_, spec, nullptr, Watermark(*tables), 0);
  } else if (spec.lazy) {
    // Metadata only: stubs with the Parquet footers, in a directory of this version's own.
    fs::path lazy_dir = dir / "lazy" / id;
    fs::remove_all(lazy_dir, ec);
    auto lazy = LazyFiles::Create(*tables, lazy_dir.string(), {.budget_bytes = spec.lazy_budget_bytes});
    if (!lazy.ok()) return fail(lazy.status());
    auto load_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    opened = OpenLazySnapshot(id, options_, std::move(lazy).value(), lazy_dir.string(), *tables, load_ms);
  } else {
    // The rename below is atomic, so a file under the final name is always complete: reuse it.
    if (force || !fs::exists(final_path, ec)) {
      {
        // Read by StatusSnapshot under mu_ while this load runs.
        common::MutexLock lock(mu_);
        entry.progress.total_bytes = 0;
        entry.progress.done_bytes = 0;
        entry.progress.started = std::chrono::steady_clock::now();
      }
      Status fetched = FetchRemote(*tables, dir.string(), &entry.progress);
      if (!fetched.ok()) return fail(fetched);
      fs::path building = dir / BuildingName(id);
      Status built = Materialize(spec, *tables, building.string(), options_.engine);
      if (!built.ok()) {
        fs::remove(building, ec);
        fs::remove(building.string() + ".wal", ec);
        return fail(built);
      }
      fs::rename(building, final_path, ec);
      if (ec) return fail(Internal("cannot rename snapshot into place", final_path.string()));
    }
    auto load_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    opened = OpenSnapshot(id, final_path.string(), options_, spec, &*tables, Watermark(*tables), load_ms);
  }
  if (!opened.ok()) return fail(opened.status());
  std::shared_ptr<const Snapshot> snapshot = std::move(opened).value();
  const std::vector<std::string> followers = FollowersOf(spec.name);
  if (Status valid = Validate(spec, *snapshot, followers); !valid.ok()) return fail(valid);
  {
    common::MutexLock lock(mu_);
    // Removed while this build ran: Remove deletes the files once we release build_mu; nothing
    // may be published under the name again.
    if (entry.removed) {
      entry.status.loading = false;
      return NotFound("database was removed", spec.name);
    }
    entry.status.previous = std::move(entry.status.current);
    entry.status.current = snapshot;
    entry.status.last_error.clear();
    entry.status.loads_ok++;
    entry.status.loading = false;
    entry.status.last_success = std::chrono::system_clock::now();
    entry.status.source_bytes = source_bytes;
    entry.status.source_files = source_files;
    entry.status.cached_files = remote_files;  // a full load keeps every remote file on disk
    entry.status.download_total_bytes = entry.progress.total_bytes;
    entry.status.download_done_bytes = entry.progress.done_bytes;
    entry.status.download_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - entry.progress.started).count();
    record({.snapshot_id = id, .ok = true});
  }
  common::Log(common::LogLevel::kInfo, "dataset snapshot live",
              "\"dataset\":\"" + spec.name + "\",\"snapshot\":\"" + id + "\",\"load_ms\":" + std::to_string(snapshot->load_ms()));
  RecordCurrent(entry);
  if (listener_) {
    listener_(spec.name);
    for (const auto& alias : followers) listener_(alias);
  }
  RemoveStaleFiles(entry);
  return Status::Ok();
}

std::vector<std::string> DatasetManager::FollowersOf(const std::string& database) const {
  common::MutexLock lock(mu_);
  std::vector<std::string> followers;
  for (const auto& [alias, target] : aliases_) {
    if (target.database == database && target.pinned.empty()) followers.push_back(alias);
  }
  return followers;
}

// The dataset's own endpoints, then those of every alias that follows it, must fit the snapshot.
Status DatasetManager::Validate(const DatasetSpec& spec, const Snapshot& snapshot, const std::vector<std::string>& followers) {
  if (!validator_) return Status::Ok();
  RETURN_IF_ERROR(validator_(spec, snapshot));
  for (const auto& alias : followers) {
    DatasetSpec as_alias = spec;
    as_alias.name = alias;
    Status valid = validator_(as_alias, snapshot);
    if (!valid.ok()) return Status(valid.code(), "alias " + alias + ": " + valid.message());
  }
  return Status::Ok();
}

Status DatasetManager::Rollback(const std::string& name) {
  auto entry = Find(name);
  if (!entry) return NotFound("unknown dataset", name);
  std::vector<std::string> changed{entry->spec.name};
  {
    common::MutexLock build_lock(entry->build_mu);
    common::MutexLock lock(mu_);
    DatasetStatus& status = entry->status;
    if (entry->removed) return NotFound("database was removed", name);
    if (!status.previous) return Aborted("no previous snapshot to roll back to", name);
    std::swap(status.current, status.previous);
    for (const auto& [alias, target] : aliases_) {
      if (target.database == entry->spec.name && target.pinned.empty()) changed.push_back(alias);
    }
  }
  RecordCurrent(*entry);
  if (listener_) {
    for (const auto& n : changed) listener_(n);
  }
  return Status::Ok();
}

// Deletes snapshot files of this dataset that are neither current, previous nor pinned by an
// alias. A snapshot still open by an in-flight request keeps working after its file is unlinked.
void DatasetManager::RemoveStaleFiles(Entry& entry) {
  std::set<std::string> keep;
  {
    common::MutexLock lock(mu_);
    if (entry.status.current) keep.insert(entry.status.current->id() + ".duckdb");
    if (entry.status.previous) keep.insert(entry.status.previous->id() + ".duckdb");
    for (const auto& [alias, target] : aliases_) {
      if (target.database == entry.spec.name && !target.pinned.empty()) keep.insert(target.pinned + ".duckdb");
    }
  }
  std::error_code ec;
  const std::string ours = std::string(kBuildingSuffix) + std::to_string(::getpid()) + "-";
  for (const auto& file : fs::directory_iterator(fs::path(options_.cache_dir) / entry.spec.name, ec)) {
    const std::string name = file.path().filename().string();
    if (file.path().extension() == ".duckdb" && !keep.contains(name)) fs::remove(file.path(), ec);
    // Left by a build of a process that died (this process's own may be running now).
    if (name.find(kBuildingSuffix) != std::string::npos && name.find(ours) == std::string::npos) fs::remove(file.path(), ec);
  }
  for (const auto& version : fs::directory_iterator(fs::path(options_.cache_dir) / entry.spec.name / "lazy", ec)) {
    if (!keep.contains(version.path().filename().string() + ".duckdb")) fs::remove_all(version.path(), ec);
  }
}

Status DatasetManager::Add(DatasetSpec spec) {
  common::MutexLock state_lock(state_mu_);
  {
    common::MutexLock lock(mu_);
    if (entries_.contains(spec.name) || aliases_.contains(spec.name)) return AlreadyExists("name is taken", spec.name);
  }
  auto entry = std::make_shared<Entry>(std::move(spec));
  entry->status.name = entry->spec.name;
  entry->status.source = entry->spec.source;
  entry->status.refresh_interval_ms = entry->spec.refresh_interval_ms;
  // Visible (as loading, with progress) while the first load runs; removed again if it fails.
  {
    common::MutexLock lock(mu_);
    entries_.emplace(entry->spec.name, entry);
  }
  Status built = Build(*entry, false);
  if (built.ok()) built = SaveState();
  if (!built.ok()) {
    {
      common::MutexLock lock(mu_);
      entries_.erase(entry->spec.name);
    }
    std::error_code ec;
    fs::remove_all(fs::path(options_.cache_dir) / entry->spec.name, ec);
    return built;
  }
  StartRefresher(*entry);
  return Status::Ok();
}

Status DatasetManager::Remove(const std::string& name, bool force) {
  common::MutexLock state_lock(state_mu_);
  std::shared_ptr<Entry> entry;
  {
    common::MutexLock lock(mu_);
    auto found = entries_.find(name);
    if (found == entries_.end()) return NotFound("unknown database", name);
    entry = found->second;
    if (entry->status.declared) return FailedPrecondition("declared in the project's YAML; remove it there", name);
    if (!force) {
      for (const auto& [alias, target] : aliases_) {
        if (target.database == name) return FailedPrecondition("alias " + alias + " points to it (use force)", name);
      }
    }
  }
  if (!force && users_of_) {
    auto users = users_of_(name);
    if (!users.empty()) return FailedPrecondition("endpoint " + users.front() + " uses it (use force)", name);
  }
  std::vector<std::string> stranded;
  {
    common::MutexLock lock(mu_);
    entry->removed = true;
    entries_.erase(name);
    for (auto it = aliases_.begin(); it != aliases_.end();) {
      if (it->second.database == name) {
        stranded.push_back(it->first);
        it = aliases_.erase(it);
      } else {
        ++it;
      }
    }
  }
  stop_cv_.NotifyAll();
  if (entry->refresher.joinable()) entry->refresher.join();
  {
    // Waits for a build in progress; requests in flight keep their snapshot until they finish.
    common::MutexLock build_lock(entry->build_mu);
  }
  std::error_code ec;
  fs::remove_all(fs::path(options_.cache_dir) / name, ec);
  Status saved = SaveState();
  if (listener_) {
    listener_(name);
    for (const auto& alias : stranded) listener_(alias);
  }
  return saved;
}

Status DatasetManager::SetAlias(const std::string& alias, const std::string& database, const std::string& pinned) {
  common::MutexLock state_lock(state_mu_);
  std::shared_ptr<const Snapshot> target;
  DatasetSpec as_alias;
  {
    common::MutexLock lock(mu_);
    if (entries_.contains(alias)) return AlreadyExists("a database has that name", alias);
    auto found = entries_.find(database);
    if (found == entries_.end()) return NotFound("unknown database", database);
    const DatasetStatus& status = found->second->status;
    if (pinned.empty()) {
      target = status.current;
    } else if (status.current && status.current->id() == pinned) {
      target = status.current;
    } else if (status.previous && status.previous->id() == pinned) {
      target = status.previous;
    } else {
      return NotFound("no such version on disk (current or previous) of " + database, pinned);
    }
    if (!target) return FailedPrecondition("database has not loaded yet", database);
    as_alias = found->second->spec;
    as_alias.name = alias;
  }
  if (validator_) {
    Status valid = validator_(as_alias, *target);
    if (!valid.ok()) return Status(valid.code(), "alias " + alias + ": " + valid.message());
  }
  Alias previous;
  bool existed = false;
  {
    common::MutexLock lock(mu_);
    if (auto it = aliases_.find(alias); it != aliases_.end()) {
      previous = it->second;
      existed = true;
    }
    aliases_[alias] = Alias{database, pinned};
  }
  Status saved = SaveState();
  if (!saved.ok()) {
    common::MutexLock lock(mu_);
    if (existed) {
      aliases_[alias] = previous;
    } else {
      aliases_.erase(alias);
    }
    return saved;
  }
  if (listener_) listener_(alias);
  return Status::Ok();
}

Status DatasetManager::DeleteAlias(const std::string& alias, bool force) {
  common::MutexLock state_lock(state_mu_);
  {
    common::MutexLock lock(mu_);
    if (!aliases_.contains(alias)) return NotFound("unknown alias", alias);
  }
  if (!force && users_of_) {
    auto users = users_of_(alias);
    if (!users.empty()) return FailedPrecondition("endpoint " + users.front() + " uses it (use force)", alias);
  }
  {
    common::MutexLock lock(mu_);
    aliases_.erase(alias);
  }
  Status saved = SaveState();
  if (listener_) listener_(alias);
  return saved;
}

std::vector<AliasInfo> DatasetManager::Aliases() const {
  common::MutexLock lock(mu_);
  std::vector<AliasInfo> out;
  for (const auto& [alias, target] : aliases_) out.push_back({alias, target.database, target.pinned});
  return out;
}

std::shared_ptr<const Snapshot> DatasetManager::ResolveLocked(const std::string& name) const {
  auto found = entries_.find(name);
  if (found != entries_.end()) return found->second->status.current;
  auto alias = aliases_.find(name);
  if (alias == aliases_.end()) return nullptr;
  found = entries_.find(alias->second.database);
  if (found == entries_.end()) return nullptr;
  const DatasetStatus& status = found->second->status;
  if (alias->second.pinned.empty()) return status.current;
  if (status.current && status.current->id() == alias->second.pinned) return status.current;
  if (status.previous && status.previous->id() == alias->second.pinned) return status.previous;
  return nullptr;  // the pinned version is gone (e.g. after a restart): not ready, never other data
}

std::shared_ptr<const Snapshot> DatasetManager::Current(const std::string& name) const {
  common::MutexLock lock(mu_);
  return ResolveLocked(name);
}

// What /status and stats show of one entry: its status plus the live lazy and download counters.
static DatasetStatus StatusSnapshot(const DatasetStatus& status, const store::TransferProgress& progress) {
  DatasetStatus out = status;
  if (status.current && status.current->lazy()) {
    const LazyFiles& lazy = *status.current->lazy();
    out.lazy = true;
    out.cached_files = lazy.cached_files();
    out.lazy_fetched_bytes = lazy.fetched_bytes();
    out.lazy_metadata_bytes = lazy.metadata_bytes();
  }
  if (status.loading) {
    out.download_total_bytes = progress.total_bytes;
    out.download_done_bytes = progress.done_bytes;
    out.download_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - progress.started).count();
  }
  return out;
}

std::vector<DatasetStatus> DatasetManager::Statuses() const {
  common::MutexLock lock(mu_);
  std::vector<DatasetStatus> out;
  out.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) out.push_back(StatusSnapshot(entry->status, entry->progress));
  return out;
}

Result<DatasetStatus> DatasetManager::StatusOf(const std::string& name) const {
  common::MutexLock lock(mu_);
  auto found = entries_.find(name);
  if (found == entries_.end()) return NotFound("unknown database", name);
  return StatusSnapshot(found->second->status, found->second->progress);
}

void DatasetManager::StartRefresher(Entry& entry) {
  common::MutexLock lock(mu_);
  if (refreshing_ && entry.spec.refresh_interval_ms > 0 && !entry.refresher.joinable()) {
    entry.refresher = std::thread([this, e = &entry] { RefreshLoop(e); });
  }
}

void DatasetManager::StartRefreshing() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    common::MutexLock lock(mu_);
    refreshing_ = true;
    for (auto& [name, entry] : entries_) entries.push_back(entry);
  }
  for (auto& entry : entries) StartRefresher(*entry);
}

void DatasetManager::RefreshLoop(Entry* entry) {
  common::MutexLock lock(mu_);
  while (!stop_cv_.WaitFor(mu_, std::chrono::milliseconds(entry->spec.refresh_interval_ms),
                           [&]() REQUIRES(mu_) { return stopping_ || entry->removed; })) {
    lock.Unlock();
    // A failure is recorded in the status and logged; the current snapshot keeps serving. The
    // barrier keeps the schedule alive past an exception (this is the thread's only job).
    common::RunBarrier("refresh " + entry->spec.name, "", [&] { [[maybe_unused]] Status status = Build(*entry, false); });
    lock.Lock();
  }
}

}  // namespace dram::database
