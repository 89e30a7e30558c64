#include "database/source_files.h"

#include "database/shard.h"

#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/sql_text.h"
#include "database/shard.h"
#include "engine/database.h"
#include "engine/result_encoder.h"
#include "store/local_object_store.h"
#include "store/store_uri.h"

namespace dram::database {

namespace fs = std::filesystem;

namespace {

// Every object under the store's root, following continuations.
Result<std::vector<store::ObjectInfo>> ListEverything(store::ObjectStore& store) {
  std::vector<store::ObjectInfo> objects;
  std::string token;
  do {
    ASSIGN_OR_RETURN(store::ListResult page, store.List("", "", token, 1000));
    for (auto& object : page.objects) objects.push_back(std::move(object));
    token = page.continuation;
  } while (!token.empty());
  return objects;
}

std::string_view FileName(std::string_view key) {
  size_t slash = key.rfind('/');
  return slash == std::string_view::npos ? key : key.substr(slash + 1);
}

std::string_view DirectoryOf(std::string_view key) {
  size_t slash = key.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : key.substr(0, slash + 1);
}

// Markers (_SUCCESS, _committed_…), hidden files and anything in such a directory are not data.
bool IsHiddenPath(std::string_view key) {
  size_t start = 0;
  while (start < key.size()) {
    size_t slash = key.find('/', start);
    std::string_view segment = key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!segment.empty() && (segment.front() == '_' || segment.front() == '.')) return true;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return false;
}

// An identifier DuckDB and the endpoint YAML accept: letters, digits, '_', not starting with a digit.
std::string TableNameOf(std::string_view text) {
  std::string name;
  for (char c : text) name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) name.insert(0, "t_");
  return name;
}

// "k=v/" directories at the top level, newest value last (numbers by value, the rest as text).
std::vector<std::string> PartitionDirectories(const std::vector<store::ObjectInfo>& objects) {
  std::set<std::string> dirs;
  for (const auto& object : objects) {
    size_t slash = object.key.find('/');
    if (slash == std::string::npos) continue;
    std::string dir = object.key.substr(0, slash + 1);
    if (dir.find('=') != std::string::npos) dirs.insert(dir);
  }
  std::vector<std::string> sorted(dirs.begin(), dirs.end());
  auto value_of = [](const std::string& dir) { return dir.substr(dir.find('=') + 1, dir.size() - dir.find('=') - 2); };
  std::sort(sorted.begin(), sorted.end(), [&](const std::string& a, const std::string& b) {
    std::string va = value_of(a), vb = value_of(b);
    bool na = !va.empty() && std::all_of(va.begin(), va.end(), ::isdigit);
    bool nb = !vb.empty() && std::all_of(vb.begin(), vb.end(), ::isdigit);
    if (na && nb && va.size() != vb.size()) return va.size() < vb.size();
    return va < vb;
  });
  return sorted;
}

std::vector<store::ObjectInfo> Under(const std::vector<store::ObjectInfo>& objects, const std::string& prefix) {
  std::vector<store::ObjectInfo> out;
  for (const auto& object : objects) {
    if (object.key.starts_with(prefix)) out.push_back(object);
  }
  return out;
}

// Databricks' commit protocol: per directory, _started_<tid> opens a transaction and
// _committed_<tid> (JSON: {"added": [file names], "removed": [...]}) completes it. The latest
// completed transaction's added files are the directory's data; a directory with markers but
// no completed transaction contributes nothing; one without markers contributes every file.
Result<std::vector<store::ObjectInfo>> ResolveDatabricks(store::ObjectStore& store,
                                                         const std::vector<store::ObjectInfo>& objects) {
  std::map<std::string, std::vector<const store::ObjectInfo*>> by_directory;
  for (const auto& object : objects) by_directory[std::string(DirectoryOf(object.key))].push_back(&object);
  std::vector<store::ObjectInfo> chosen;
  for (const auto& [directory, files] : by_directory) {
    const store::ObjectInfo* latest = nullptr;
    bool has_markers = false;
    for (const auto* file : files) {
      std::string_view name = FileName(file->key);
      if (name.starts_with("_started_") || name.starts_with("_committed_")) has_markers = true;
      if (!name.starts_with("_committed_")) continue;
      if (!latest || std::pair(file->modified_ms, file->key) > std::pair(latest->modified_ms, latest->key)) latest = file;
    }
    if (!has_markers) {
      for (const auto* file : files) chosen.push_back(*file);
      continue;
    }
    if (!latest) continue;
    ASSIGN_OR_RETURN(std::string manifest, store.Get(latest->key));
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(manifest, ec);
    const boost::json::array* added = nullptr;
    if (!ec && parsed.is_object()) {
      if (auto* value = parsed.as_object().if_contains("added"); value && value->is_array()) added = &value->as_array();
    }
    if (!added) return InvalidArgument("commit marker is not {\"added\": [...]}", latest->key);
    std::set<std::string, std::less<>> names;
    for (const auto& name : *added) {
      if (name.is_string()) names.insert(std::string(name.as_string()));
    }
    for (const auto* file : files) {
      if (names.contains(FileName(file->key))) chosen.push_back(*file);
    }
  }
  return chosen;
}

// Local files by DuckDB's glob (a file, a directory or a pattern), sorted.
Result<std::vector<SourceFile>> ListLocal(const std::string& path) {
  ASSIGN_OR_RETURN(auto scratch_db, engine::Database::Open("", {.read_only = false, .threads = 1}));
  ASSIGN_OR_RETURN(auto scratch, scratch_db->Connect());
  std::string pattern = path;
  std::error_code ec;
  if (fs::is_directory(pattern, ec)) pattern = (fs::path(pattern) / "**" / "*").string();
  ASSIGN_OR_RETURN(auto listing, scratch->Query("SELECT file FROM glob(" + common::QuoteLiteral(pattern) + ") ORDER BY file"));
  ASSIGN_OR_RETURN(std::vector<std::string> paths, engine::ColumnText(listing, 0));
  std::vector<SourceFile> files;
  for (auto& file : paths) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) continue;  // vanished meanwhile
    files.push_back({file, "", "", static_cast<int64_t>(info.st_size), "",
                     int64_t{info.st_mtim.tv_sec} * 1000 + info.st_mtim.tv_nsec / 1000000});
  }
  return files;
}

Status AddFile(TableSources& table, SourceFile file) {
  FileFormat format = FormatOf(file.key.empty() ? file.local_path : file.key);
  if (format == FileFormat::kAuto) return Status::Ok();  // not a data file (READMEs, markers, …)
  if (table.spec.format != FileFormat::kAuto && format != table.spec.format) return Status::Ok();
  if (table.format == FileFormat::kAuto) table.format = format;
  if (format != table.format) return InvalidArgument("table mixes Parquet and CSV files", table.spec.name);
  table.files.push_back(std::move(file));
  return Status::Ok();
}

SourceFile RemoteFile(const store::ObjectInfo& object, std::string relative) {
  return {"", object.key, std::move(relative), object.size, object.etag, object.modified_ms};
}

// A table whose path is a store URI: a directory of objects, or one object.
Result<TableSources> ListRemoteTable(const TableSpec& spec) {
  TableSources table{spec};
  ASSIGN_OR_RETURN(std::unique_ptr<store::ObjectStore> opened, store::OpenStore(spec.path));
  table.store = std::move(opened);
  auto objects = ListEverything(*table.store);
  if (objects.ok() && !objects->empty()) {
    for (const auto& object : *objects) {
      if (!IsHiddenPath(object.key)) RETURN_IF_ERROR(AddFile(table, RemoteFile(object, object.key)));
    }
    return table;
  }
  // Not a directory: one object, addressed from its parent.
  std::string uri = spec.path;
  while (uri.ends_with('/')) uri.pop_back();
  size_t slash = uri.rfind('/');
  if (slash == std::string::npos || slash < uri.find("://") + 3) return NotFound("no files at", spec.path);
  ASSIGN_OR_RETURN(std::unique_ptr<store::ObjectStore> parent, store::OpenStore(uri.substr(0, slash)));
  table.store = std::move(parent);
  ASSIGN_OR_RETURN(store::ObjectInfo object, table.store->Head(uri.substr(slash + 1)));
  RETURN_IF_ERROR(AddFile(table, RemoteFile(object, object.key)));
  return table;
}

// Tables discovered in a database directory.
Result<std::vector<TableSources>> ListSourceDirectory(const DatasetSpec& spec) {
  ASSIGN_OR_RETURN(std::unique_ptr<store::ObjectStore> opened, store::OpenStore(spec.source));
  std::shared_ptr<store::ObjectStore> store = std::move(opened);
  const bool local = store::IsLocalUri(spec.source);
  const std::string local_root = spec.source.starts_with("file://") ? spec.source.substr(7) : spec.source;
  ASSIGN_OR_RETURN(auto objects, ListEverything(*store));
  std::string base;
  ASSIGN_OR_RETURN(auto chosen, Resolve(spec.resolver, *store, objects, base));
  // A directory with one DuckDB file at its top is that database, served as it is.
  std::vector<const store::ObjectInfo*> duckdb_files;
  for (const auto& object : chosen) {
    std::string_view relative = std::string_view(object.key).substr(base.size());
    if (relative.find('/') == std::string_view::npos && relative.ends_with(".duckdb")) duckdb_files.push_back(&object);
  }
  if (duckdb_files.size() > 1) return InvalidArgument("the directory holds several DuckDB files; name one", spec.source);
  if (duckdb_files.size() == 1) {
    const store::ObjectInfo& object = *duckdb_files.front();
    TableSources table;
    table.spec.name = "";  // the file's own tables
    table.format = FileFormat::kDuckdb;
    SourceFile file = RemoteFile(object, std::string(FileName(object.key)));
    if (local) {
      file.local_path = (fs::path(local_root) / object.key).string();
      file.key.clear();
      file.etag.clear();
    } else {
      table.store = store;
    }
    table.files.push_back(std::move(file));
    std::vector<TableSources> out;
    out.push_back(std::move(table));
    return out;
  }
  std::map<std::string, TableSources> tables;
  for (const auto& object : chosen) {
    std::string_view relative = std::string_view(object.key).substr(base.size());
    if (IsHiddenPath(relative) || FormatOf(relative) == FileFormat::kAuto) continue;
    size_t slash = relative.find('/');
    std::string name = TableNameOf(slash != std::string_view::npos ? relative.substr(0, slash)
                                                                   : FileName(relative).substr(0, FileName(relative).find('.')));
    TableSources& table = tables[name];
    if (table.spec.name.empty()) {
      table.spec.name = name;
      table.spec.path = spec.source + "/" + base + std::string(slash != std::string_view::npos ? relative.substr(0, slash) : relative);
      for (const auto& refine : spec.tables) {
        if (refine.name == name) {
          table.spec.sort_by = refine.sort_by;
          table.spec.key = refine.key;
          table.spec.format = refine.format;
        }
      }
      if (!local) table.store = store;
    }
    // Below the table's directory (or the file's own name for a one-file table): the snapshot
    // directory a resolver chose is a version, not a column, so it is not kept in the local path.
    SourceFile file = RemoteFile(object, std::string(slash != std::string_view::npos ? relative.substr(slash + 1)
                                                                                     : FileName(relative)));
    if (local) {
      file.local_path = (fs::path(local_root) / object.key).string();
      file.key.clear();
      file.etag.clear();  // local files are identified by size and mtime, like any local table
    }
    // The format check needs the name even for local files.
    if (FormatOf(object.key) == FileFormat::kAuto) continue;
    if (table.format == FileFormat::kAuto) table.format = FormatOf(object.key);
    if (FormatOf(object.key) != table.format) return InvalidArgument("table mixes Parquet and CSV files", name);
    table.files.push_back(std::move(file));
  }
  for (const auto& refine : spec.tables) {
    if (!tables.contains(refine.name)) return NotFound("table not found in the source directory", refine.name);
  }
  if (tables.empty()) return NotFound("no Parquet or CSV files in", spec.source);
  // Naming tables selects them; without names every discovered table is served.
  std::vector<TableSources> out;
  for (auto& [name, table] : tables) {
    bool named = spec.tables.empty() || !spec.named_tables_only;
    for (const auto& refine : spec.tables) named = named || refine.name == name;
    if (named) out.push_back(std::move(table));
  }
  return out;
}

}  // namespace

std::string ReadExpression(const std::vector<std::string>& paths, FileFormat format) {
  std::string list = "[";
  for (size_t i = 0; i < paths.size(); ++i) list += (i ? ", " : "") + common::QuoteLiteral(paths[i]);
  list += "]";
  if (format == FileFormat::kCsv) return "read_csv(" + list + ", header = true, union_by_name = true, hive_partitioning = true)";
  return "read_parquet(" + list + ", hive_partitioning = true, union_by_name = true)";
}

FileFormat FormatOf(std::string_view path) {
  if (path.ends_with(".parquet") || path.ends_with(".pq")) return FileFormat::kParquet;
  if (path.ends_with(".csv") || path.ends_with(".csv.gz") || path.ends_with(".tsv")) return FileFormat::kCsv;
  return FileFormat::kAuto;  // .duckdb files are recognized only as a whole database directory
}

Result<std::vector<store::ObjectInfo>> Resolve(Resolver resolver, store::ObjectStore& store,
                                               const std::vector<store::ObjectInfo>& objects, std::string& base) {
  base.clear();
  switch (resolver) {
    case Resolver::kAll:
      return objects;
    case Resolver::kDatabricks:
      return ResolveDatabricks(store, objects);
    case Resolver::kLatestPartition: {
      auto dirs = PartitionDirectories(objects);
      if (dirs.empty()) return NotFound("no key=value/ snapshot directories to choose from");
      base = dirs.back();
      return Under(objects, base);
    }
    case Resolver::kSuccessMarker: {
      auto dirs = PartitionDirectories(objects);
      for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
        for (const auto& object : objects) {
          if (object.key == *it + "_SUCCESS") {
            base = *it;
            return Under(objects, base);
          }
        }
      }
      for (const auto& object : objects) {
        if (object.key == "_SUCCESS") return objects;
      }
      return FailedPrecondition("no complete version yet: no _SUCCESS marker");
    }
  }
  return Internal("unknown resolver");
}

Result<std::vector<TableSources>> ListSources(const DatasetSpec& spec, const std::string& cache_dir) {
  ASSIGN_OR_RETURN(std::vector<TableSources> tables, ListWholeSources(spec, cache_dir));
  if (spec.shard >= 0) {
    const std::string version = WholeListingDigest(spec, tables);
    for (auto& table : tables) table.whole_listing = version;
  }
  NarrowToShard(spec, tables);
  return tables;
}

Result<std::vector<TableSources>> ListWholeSources(const DatasetSpec& spec, const std::string&) {
  if (!spec.source.empty()) return ListSourceDirectory(spec);
  std::vector<TableSources> tables;
  for (const auto& table_spec : spec.tables) {
    Result<TableSources> listed = [&]() -> Result<TableSources> {
      if (!store::IsLocalUri(table_spec.path)) return ListRemoteTable(table_spec);
      TableSources table{table_spec};
      ASSIGN_OR_RETURN(auto files, ListLocal(table_spec.path));
      for (auto& file : files) RETURN_IF_ERROR(AddFile(table, std::move(file)));
      return table;
    }();
    if (listed.ok() && listed->files.empty()) listed = NotFound("no Parquet or CSV files match", table_spec.path);
    if (!listed.ok()) return Status(listed.status().code(), "table " + table_spec.name + ": " + listed.status().message());
    tables.push_back(std::move(listed).value());
  }
  return tables;
}

Status FetchRemote(std::vector<TableSources>& tables, const std::string& dataset_cache_dir,
                   store::TransferProgress* progress) {
  const fs::path root = fs::path(dataset_cache_dir) / "files";
  const fs::path manifest_path = root / "manifest.tsv";
  // What is already here from an earlier load: relative path → "size\tetag".
  std::map<std::string, std::string> cached;
  {
    std::ifstream in(manifest_path);
    std::string line;
    while (std::getline(in, line)) {
      size_t tab = line.find('\t');
      size_t second = tab == std::string::npos ? tab : line.find('\t', tab + 1);
      if (second != std::string::npos) cached[line.substr(second + 1)] = line.substr(0, second);
    }
  }
  std::map<std::string, std::string> now;
  std::error_code ec;
  const bool any_remote = std::any_of(tables.begin(), tables.end(), [](const TableSources& t) { return t.store != nullptr; });
  if (!any_remote && cached.empty()) return Status::Ok();
  for (auto& table : tables) {
    if (!table.store) continue;
    std::vector<store::DownloadItem> to_fetch;
    for (auto& file : table.files) {
      // Keep the key's directories (Hive partitions are read from the path).
      std::string relative = (table.spec.name.empty() ? std::string("_duckdb") : table.spec.name) + "/" + file.relative;
      if (relative.find('\n') != std::string::npos || relative.find('\t') != std::string::npos) {
        return InvalidArgument("object key has a tab or newline", file.key);
      }
      fs::path local = root / relative;
      file.local_path = local.string();
      const std::string identity = std::to_string(file.size) + "\t" + file.etag;
      now[relative] = identity;
      auto known = cached.find(relative);
      if (known != cached.end() && known->second == identity && fs::file_size(local, ec) == static_cast<uintmax_t>(file.size) && !ec) {
        continue;  // unchanged since it was fetched and verified
      }
      fs::create_directories(local.parent_path(), ec);
      if (ec) return Unavailable("cannot create cache directory", local.parent_path().string());
      to_fetch.push_back({{file.key, file.size, file.etag, file.mtime_ms}, local.string()});
    }
    RETURN_IF_ERROR(store::DownloadAll(*table.store, to_fetch, {}, progress));
  }
  // Record what is here now, then drop copies no table lists any more.
  fs::create_directories(root, ec);
  {
    std::ofstream out(manifest_path.string() + ".tmp", std::ios::trunc);
    for (const auto& [relative, identity] : now) out << identity << "\t" << relative << "\n";
    if (!out) return Unavailable("cannot write the cache manifest", manifest_path.string());
  }
  fs::rename(manifest_path.string() + ".tmp", manifest_path, ec);
  if (ec) return Unavailable("cannot write the cache manifest", manifest_path.string());
  std::vector<fs::path> stale;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code stat_error;
    if (!it->is_regular_file(stat_error)) continue;
    std::string relative = it->path().lexically_relative(root).generic_string();
    if (relative != "manifest.tsv" && !now.contains(relative)) stale.push_back(it->path());
  }
  for (const auto& path : stale) fs::remove(path, ec);
  return Status::Ok();
}

}  // namespace dram::database
