#include "database/snapshot_builder.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <filesystem>

#include "common/hash.h"
#include "common/sql_text.h"
#include "database/lazy_files.h"
#include "engine/result_encoder.h"

namespace dram::database {

namespace fs = std::filesystem;

std::string SnapshotId(const DatasetSpec& spec, const std::vector<TableSources>& tables) {
  // Bump kLayoutVersion whenever materialization changes how a snapshot file is laid out.
  constexpr int64_t kLayoutVersion = 4;  // 4: ties of sort_by stored in key order (StorageOrder)
  common::Fnv1a64 hash;
  hash.Add(kLayoutVersion).Add(spec.name).Add(EffectiveRowGroupSize(spec)).Add(int64_t{spec.lazy});
  // A shard's copy (its name already says which shard) also depends on how the data is split.
  if (spec.shard >= 0) hash.Add(int64_t{spec.placement.shards}).Add(spec.placement.shard_by);
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
  // A shard's copy leads with its data version (DataVersionOf), shared by every shard of it.
  if (spec.shard >= 0 && !tables.empty() && !tables.front().whole_listing.empty()) return tables.front().whole_listing + "-" + hash.hex();
  return hash.hex();
}

int64_t SourceWatermark(const std::vector<TableSources>& tables) {
  int64_t newest = 0;
  for (const auto& table : tables) {
    for (const auto& file : table.files) newest = std::max(newest, file.mtime_ms);
  }
  return newest;
}

namespace {

using common::QuoteIdentifier;
using common::QuoteLiteral;

std::string ReadExpression(const TableSources& sources) {
  std::vector<std::string> paths;
  paths.reserve(sources.files.size());
  for (const auto& file : sources.files) paths.push_back(file.local_path);
  return database::ReadExpression(paths, sources.format == FileFormat::kParquet ? FileFormat::kParquet : FileFormat::kCsv);
}

// The order a materialized table's rows are stored in: its sort_by, then the key's columns not in
// it (so rows tied on sort_by are stored by key, and a declared order that ends with the key, as
// ordered endpoints' do, is the storage order). Empty without sort_by: rows stay in file order.
std::vector<std::string> StorageOrder(const TableSpec& table) {
  std::vector<std::string> order = table.sort_by;
  if (order.empty()) return order;
  for (const auto& column : table.key) {
    if (std::find(order.begin(), order.end(), column) == order.end()) order.push_back(column);
  }
  return order;
}

// What a snapshot file records on each table it stored sorted (a table comment), naming the
// snapshot so that no other file's comment, a DuckDB file served as it is included, is taken
// for it.
std::string StorageOrderMarker(const std::string& snapshot_id) { return "dram storage order of " + snapshot_id + ": "; }

// Creates every table of the dataset in `connection`, as tables (materialized) or views;
// `prefix` names the attached database they go in ("" for the default one).
Status CreateTables(engine::Connection& connection, const std::vector<TableSources>& tables, bool as_views,
                    const std::string& prefix = "") {
  for (const auto& table : tables) {
    std::string sql = std::string(as_views ? "CREATE VIEW " : "CREATE TABLE ") + prefix + QuoteIdentifier(table.spec.name) +
                      " AS SELECT * FROM " + ReadExpression(table);
    if (!table.row_filter.empty()) sql += " WHERE " + table.row_filter;
    const std::vector<std::string> order = as_views ? std::vector<std::string>{} : StorageOrder(table.spec);
    for (size_t i = 0; i < order.size(); ++i) sql += (i > 0 ? ", " : " ORDER BY ") + QuoteIdentifier(order[i]);
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

// Writes every table into a new DuckDB file at `path`. Row groups are smaller than DuckDB's
// default (122,880 rows): with data sorted by the lookup keys, a selective query then reads a few
// thousand rows instead of a hundred thousand (measured: 1.4x the lookups per second on the demo),
// while full scans cost the same.
Status Materialize(const DatasetSpec& spec, const std::vector<TableSources>& tables, const std::string& id, const std::string& path,
                   const engine::DatabaseOptions& engine_options) {
  engine::DatabaseOptions options = engine_options;
  options.read_only = false;
  ASSIGN_OR_RETURN(auto database, engine::Database::Open("", options));
  ASSIGN_OR_RETURN(auto connection, database->Connect());
  RETURN_IF_ERROR(connection->Execute("ATTACH " + QuoteLiteral(path) + " AS snapshot (ROW_GROUP_SIZE " +
                                      std::to_string(EffectiveRowGroupSize(spec)) + ")"));
  RETURN_IF_ERROR(CreateTables(*connection, tables, /*as_views=*/false, "snapshot."));
  for (const auto& table : tables) {
    const std::vector<std::string> order = StorageOrder(table.spec);
    if (order.empty()) continue;
    boost::json::array columns(order.begin(), order.end());
    RETURN_IF_ERROR(connection->Execute("COMMENT ON TABLE snapshot." + QuoteIdentifier(table.spec.name) + " IS " +
                                        QuoteLiteral(StorageOrderMarker(id) + boost::json::serialize(columns))));
  }
  RETURN_IF_ERROR(connection->Execute("CHECKPOINT snapshot"));
  return connection->Execute("DETACH snapshot");
}

// Reads the storage order Materialize recorded on each table of the snapshot `id`; a comment
// that is not this snapshot's marker, or names a column the table lacks, is no order.
Status ReadStorageOrders(engine::Connection& connection, const std::string& id, std::vector<TableInfo>& infos) {
  // (ColumnText consumes its result: one query per column, in one order.)
  auto column = [&](const char* expression) -> Result<std::vector<std::string>> {
    ASSIGN_OR_RETURN(auto result, connection.Query(std::string("SELECT ") + expression + " FROM duckdb_tables() WHERE database_name = "
                                                   "current_database() AND schema_name = 'main' ORDER BY table_name"));
    return engine::ColumnText(result, 0);
  };
  ASSIGN_OR_RETURN(std::vector<std::string> names, column("table_name"));
  ASSIGN_OR_RETURN(std::vector<std::string> comments, column("coalesce(comment, '')"));
  if (names.size() != comments.size()) return Status::Ok();
  const std::string marker = StorageOrderMarker(id);
  for (size_t i = 0; i < names.size(); ++i) {
    if (!comments[i].starts_with(marker)) continue;
    auto info = std::find_if(infos.begin(), infos.end(), [&](const TableInfo& t) { return t.name == names[i]; });
    if (info == infos.end()) continue;
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(std::string_view(comments[i]).substr(marker.size()), ec);
    if (ec || !parsed.is_array()) continue;
    std::vector<std::string> order;
    for (const auto& column : parsed.as_array()) {
      const bool known = column.is_string() && std::any_of(info->columns.begin(), info->columns.end(),
                                                           [&](const auto& c) { return c.name == column.as_string(); });
      if (!known) {
        order.clear();
        break;
      }
      order.emplace_back(column.as_string());
    }
    info->storage_order = std::move(order);
  }
  return Status::Ok();
}

// Opens a snapshot file read-only with its pool. Its tables are `tables` when the sources were
// just listed, or (warm start, a served DuckDB file) read from the file's own catalog, with keys
// from the spec.
Result<std::unique_ptr<Snapshot>> OpenSnapshot(const std::string& id, const std::string& path, const SnapshotOpenOptions& options,
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
    RETURN_IF_ERROR(ReadStorageOrders(*lease, id, infos));
  }
  // Everything it serves is in its own file: no other file may be touched.
  RETURN_IF_ERROR(database->Seal({}));
  std::error_code ec;
  auto bytes = static_cast<int64_t>(fs::file_size(path, ec));
  return std::make_unique<Snapshot>(id, path, std::move(database), std::move(pool), std::move(infos), watermark_ms, load_ms,
                                    bytes);
}

// A lazy database: an in-memory DuckDB whose tables are views over stubs and fetched files.
Result<std::unique_ptr<Snapshot>> OpenLazySnapshot(const std::string& id, const SnapshotOpenOptions& options,
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
                                             SourceWatermark(tables), load_ms, bytes);
  snapshot->set_lazy(std::move(lazy));
  return snapshot;
}

constexpr std::string_view kBuildingSuffix = ".duckdb.building-";

// A name of its own for each build: two builds of the same version (a catalog reload's manager
// and the serving one's refresher, in one process) must never write one file.
std::string BuildingName(const std::string& id) {
  static std::atomic<uint64_t> builds{0};
  return id + std::string(kBuildingSuffix) + std::to_string(::getpid()) + "-" + std::to_string(builds.fetch_add(1));
}

}  // namespace

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


Result<std::unique_ptr<Snapshot>> BuildSnapshot(const DatasetSpec& spec, std::vector<TableSources>& tables, const std::string& id,
                                                const std::string& dir_name, const SnapshotOpenOptions& options, bool force,
                                                store::TransferProgress* progress, const std::function<void()>& before_download,
                                                std::chrono::steady_clock::time_point started) {
  const fs::path dir(dir_name);
  const fs::path final_path = dir / (id + ".duckdb");
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  };
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create cache directory", dir.string());
  if (tables.size() == 1 && tables.front().format == FileFormat::kDuckdb) {
    // One DuckDB file: fetched (when remote), copied into place as this version, opened as it is.
    if (force || !fs::exists(final_path, ec)) {
      RETURN_IF_ERROR(FetchRemote(tables, dir.string(), progress));
      fs::path building = dir / BuildingName(id);
      fs::copy_file(tables.front().files.front().local_path, building, fs::copy_options::overwrite_existing, ec);
      if (ec) return Unavailable("cannot copy the DuckDB file into the cache", building.string());
      fs::rename(building, final_path, ec);
      if (ec) return Internal("cannot rename snapshot into place", final_path.string());
    }
    return OpenSnapshot(id, final_path.string(), options, spec, nullptr, SourceWatermark(tables), 0);
  }
  if (spec.lazy) {
    // Metadata only: stubs with the Parquet footers, in a directory of this build's own. Not the
    // version's: a catalog switch or a forced refresh builds the same id again while the serving
    // snapshot still reads its files (bench/soak.sh saw 503s and torn Parquet reads when both
    // shared one). The snapshot removes its directory when its last user is done.
    static std::atomic<uint64_t> builds{0};
    fs::path lazy_dir = dir / "lazy" / (id + "~" + std::to_string(::getpid()) + "~" + std::to_string(builds.fetch_add(1)));
    fs::remove_all(lazy_dir, ec);
    ASSIGN_OR_RETURN(auto lazy, LazyFiles::Create(tables, lazy_dir.string(), {.budget_bytes = spec.lazy_budget_bytes}));
    auto snapshot = OpenLazySnapshot(id, options, std::move(lazy), lazy_dir.string(), tables, elapsed_ms());
    if (!snapshot.ok()) {
      fs::remove_all(lazy_dir, ec);
      return snapshot;
    }
    (*snapshot)->set_owned_dir(lazy_dir.string());
    return snapshot;
  }
  // The rename below is atomic, so a file under the final name is always complete: reuse it.
  if (force || !fs::exists(final_path, ec)) {
    if (before_download) before_download();
    RETURN_IF_ERROR(FetchRemote(tables, dir.string(), progress));
    fs::path building = dir / BuildingName(id);
    Status built = Materialize(spec, tables, id, building.string(), options.engine);
    if (!built.ok()) {
      fs::remove(building, ec);
      fs::remove(building.string() + ".wal", ec);
      return built;
    }
    fs::rename(building, final_path, ec);
    if (ec) return Internal("cannot rename snapshot into place", final_path.string());
  }
  return OpenSnapshot(id, final_path.string(), options, spec, &tables, SourceWatermark(tables), elapsed_ms());
}

Result<std::unique_ptr<Snapshot>> OpenBuiltSnapshot(const DatasetSpec& spec, const std::string& id, const std::string& path,
                                                    const SnapshotOpenOptions& options, int64_t watermark_ms) {
  return OpenSnapshot(id, path, options, spec, nullptr, watermark_ms, 0);
}

Result<std::unique_ptr<Snapshot>> OpenSourceViews(const DatasetSpec& spec) {
  ASSIGN_OR_RETURN(auto tables, ListSources(spec, ""));
  for (const auto& table : tables) {
    if (table.store) return Unimplemented("checking a dataset from a remote store needs a running server (dram serve)", spec.name);
  }
  if (tables.size() == 1 && tables.front().format == FileFormat::kDuckdb) {
    // One DuckDB file is served as it is, so it is checked as it is: opened read-only.
    SnapshotOpenOptions options;
    options.engine.threads = 1;
    options.pool_size = 1;
    return OpenSnapshot(SnapshotId(spec, tables), tables.front().files.front().local_path, options, spec, nullptr,
                        SourceWatermark(tables), 0);
  }
  ASSIGN_OR_RETURN(auto database, engine::Database::Open("", {.read_only = false, .threads = 1}));
  ASSIGN_OR_RETURN(auto pool, engine::ConnectionPool::Create(*database, 1));
  std::vector<TableInfo> infos;
  {
    ASSIGN_OR_RETURN(auto lease, pool->Acquire(std::chrono::seconds(10)));
    RETURN_IF_ERROR(CreateTables(*lease, tables, /*as_views=*/true));
    ASSIGN_OR_RETURN(infos, DescribeTables(*lease, tables, false));
  }
  return std::make_unique<Snapshot>(SnapshotId(spec, tables), "", std::move(database), std::move(pool),
                                    std::move(infos), SourceWatermark(tables), 0, 0);
}

void RemoveStaleSnapshotFiles(const std::string& dir, const std::set<std::string>& keep) {
  std::error_code ec;
  const std::string ours = std::string(kBuildingSuffix) + std::to_string(::getpid()) + "-";
  for (const auto& file : fs::directory_iterator(dir, ec)) {
    const std::string name = file.path().filename().string();
    if (file.path().extension() == ".duckdb" && !keep.contains(file.path().stem().string())) fs::remove(file.path(), ec);
    // Left by a build of a process that died (this process's own may be running now).
    if (name.find(kBuildingSuffix) != std::string::npos && name.find(ours) == std::string::npos) fs::remove(file.path(), ec);
  }
  // Lazy builds are "<id>~<pid>~<n>": a kept version's directories of this process belong to live
  // snapshots (each removes its own); anything else is left by a dead process or a dropped version.
  const std::string our_pid = std::to_string(::getpid());
  for (const auto& version : fs::directory_iterator(fs::path(dir) / "lazy", ec)) {
    const std::string name = version.path().filename().string();
    const size_t first = name.find('~');
    const size_t second = first == std::string::npos ? std::string::npos : name.find('~', first + 1);
    const bool ours = second != std::string::npos && name.substr(first + 1, second - first - 1) == our_pid;
    if (!ours || !keep.contains(name.substr(0, first))) fs::remove_all(version.path(), ec);
  }
}

}  // namespace dram::database
