#include "database/lazy_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include "common/barrier.h"
#include "common/sql_text.h"
#include "engine/result_encoder.h"
#include "store/downloader.h"

namespace dram::database {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "PAR1";

// A sparse file of `size` bytes holding "PAR1" at the start and `footer` at the end: what DuckDB
// reads to bind and plan. Written beside and renamed into place.
Status WriteStub(const std::string& path, int64_t size, const std::string& footer) {
  static std::atomic<uint64_t> counter{0};
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string temp = path + ".stub." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("cannot create stub", path);
  bool ok = ::ftruncate(fd, size) == 0 &&
            ::pwrite(fd, kMagic.data(), kMagic.size(), 0) == static_cast<ssize_t>(kMagic.size()) &&
            ::pwrite(fd, footer.data(), footer.size(), size - static_cast<int64_t>(footer.size())) ==
                static_cast<ssize_t>(footer.size());
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return Unavailable("cannot write stub", path);
  }
  return Status::Ok();
}

// The footer of a Parquet object (its last 8 + footer-length bytes), by two ranged GETs pinned to
// the listed ETag: the length, then exactly the footer (no guessing: a guess larger than a small
// file's footer would fetch data that a selective query may never need).
Result<std::string> FetchFooter(store::ObjectStore& store, const SourceFile& file) {
  if (file.size < 12) return DataLoss("too small to be a Parquet file", file.key);
  auto read = [&](int64_t offset, int64_t length) -> Result<std::string> {
    std::string bytes;
    store::ByteSink sink = [&](std::string_view chunk) {
      bytes.append(chunk);
      return true;
    };
    RETURN_IF_ERROR(store.Read(file.key, store::ByteRange{offset, length}, sink, {.if_match_etag = file.etag}));
    if (static_cast<int64_t>(bytes.size()) != length) return DataLoss("short read of a Parquet footer", file.key);
    return bytes;
  };
  ASSIGN_OR_RETURN(std::string tail, read(file.size - 8, 8));
  if (tail.compare(4, 4, kMagic) != 0) return DataLoss("not a Parquet file (no PAR1 at the end)", file.key);
  uint32_t length = 0;
  std::memcpy(&length, tail.data(), 4);  // little-endian, as x86 is
  const int64_t needed = int64_t{length} + 8;
  if (needed > file.size - 4) return DataLoss("Parquet footer length out of range", file.key);
  return read(file.size - needed, needed);
}

std::map<std::string, std::string> PartitionValues(std::string_view relative) {
  std::map<std::string, std::string> values;
  size_t start = 0;
  while (true) {
    size_t slash = relative.find('/', start);
    if (slash == std::string_view::npos) break;  // the last segment is the file name
    std::string_view segment = relative.substr(start, slash - start);
    size_t equals = segment.find('=');
    if (equals != std::string_view::npos && equals > 0) values[std::string(segment.substr(0, equals))] = segment.substr(equals + 1);
    start = slash + 1;
  }
  return values;
}

// The row's fields split at the unit separator.
std::vector<std::string> SplitFields(const std::string& row) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    size_t cut = row.find('\x1f', start);
    fields.push_back(row.substr(start, cut == std::string::npos ? std::string::npos : cut - start));
    if (cut == std::string::npos) return fields;
    start = cut + 1;
  }
}

// Whether DuckDB's session TimeZone (the process default, the same for the serving databases) is
// UTC: then DATE and TIMESTAMP values cast to TIMESTAMP WITH TIME ZONE without an offset.
Result<bool> SessionIsUtc(engine::Connection& connection) {
  ASSIGN_OR_RETURN(auto result, connection.Query(
                                    "SELECT (TIMESTAMP '2024-01-15 12:00:00'::TIMESTAMPTZ = TIMESTAMPTZ '2024-01-15 12:00:00+00' AND "
                                    "TIMESTAMP '2024-07-15 12:00:00'::TIMESTAMPTZ = TIMESTAMPTZ '2024-07-15 12:00:00+00')::VARCHAR"));
  ASSIGN_OR_RETURN(std::vector<std::string> text, engine::ColumnText(result, 0));
  return !text.empty() && text[0] == "true";
}

}  // namespace


Result<std::shared_ptr<LazyFiles>> LazyFiles::Create(std::vector<TableSources> tables, const std::string& dir,
                                                     Options options) {
  std::shared_ptr<LazyFiles> lazy(new LazyFiles());
  lazy->options_ = options;
  ASSIGN_OR_RETURN(auto scratch_db, engine::Database::Open("", {.read_only = false, .threads = 1}));
  ASSIGN_OR_RETURN(auto scratch, scratch_db->Connect());
  ASSIGN_OR_RETURN(lazy->compare_options_.utc_session, SessionIsUtc(*scratch));
  // Statistics of zoned timestamps are then rendered with "+00" whatever the process's zone.
  RETURN_IF_ERROR(scratch->Execute("SET TimeZone = 'UTC'"));
  for (auto& sources : tables) {
    Table table;
    table.name = sources.spec.name;
    table.format = sources.format;
    table.store = sources.store;
    std::vector<store::DownloadItem> whole;  // CSV files have no footer: fetched now
    for (auto& source : sources.files) {
      auto file = std::make_unique<File>();
      file->source = source;
      if (!sources.store) {
        file->state = File::State::kComplete;  // local files are read in place
      } else {
        file->source.local_path = (fs::path(dir) / table.name / source.relative).string();
        file->partition = PartitionValues(source.relative);
        if (table.format == FileFormat::kParquet) {
          // Footers are fetched below, several at a time.
        } else {
          std::error_code ec;
          fs::create_directories(fs::path(file->source.local_path).parent_path(), ec);
          whole.push_back({{source.key, source.size, source.etag, source.mtime_ms}, file->source.local_path});
          file->state = File::State::kComplete;
          common::MutexLock lock(lazy->mu_);  // not shared yet: uncontended, for the analysis
          lazy->cached_bytes_ += source.size;
        }
      }
      table.files.push_back(std::move(file));
    }
    if (!whole.empty()) RETURN_IF_ERROR(store::DownloadAll(*sources.store, whole, {}));
    if (sources.store && table.format == FileFormat::kParquet) {
      // Two small GETs per file, latency-bound: run up to kFooterFetchers files at once.
      constexpr size_t kFooterFetchers = 8;
      std::atomic<size_t> next{0};
      common::Mutex error_mu;  // guards first_error (a local: the analysis checks fields only)
      Status first_error;
      auto fetch = [&] {
        for (size_t i = next++; i < table.files.size(); i = next++) {
          File& file = *table.files[i];
          Status status = [&]() -> Status {
            ASSIGN_OR_RETURN(file.footer, FetchFooter(*sources.store, file.source));
            return WriteStub(file.source.local_path, file.source.size, file.footer);
          }();
          if (!status.ok()) {
            common::MutexLock lock(error_mu);
            if (first_error.ok()) first_error = status;
          }
        }
      };
      // An exception on a fetcher thread fails this load instead of the process.
      auto guarded_fetch = [&] {
        if (common::RunBarrier("lazy footer fetch", "", fetch)) return;
        common::MutexLock lock(error_mu);
        if (first_error.ok()) first_error = Internal("a footer fetch thread failed");
      };
      std::vector<std::thread> fetchers;
      for (size_t t = 1; t < std::min(kFooterFetchers, table.files.size()); ++t) fetchers.emplace_back(guarded_fetch);
      guarded_fetch();
      for (auto& thread : fetchers) thread.join();
      RETURN_IF_ERROR(first_error);
      for (const auto& file : table.files) lazy->metadata_bytes_ += 8 + static_cast<int64_t>(file->footer.size());
    }
    if (table.format == FileFormat::kParquet && !table.files.empty()) RETURN_IF_ERROR(ReadStatistics(*scratch, table));
    lazy->tables_.push_back(std::move(table));
  }
  return lazy;
}

Status LazyFiles::ReadStatistics(engine::Connection& scratch, Table& table) {
  std::vector<std::string> paths;
  std::map<std::string, File*> by_path;
  for (auto& file : table.files) {
    paths.push_back(file->source.local_path);
    by_path[file->source.local_path] = file.get();
  }
  std::string list = "[";
  for (size_t i = 0; i < paths.size(); ++i) list += (i ? ", " : "") + common::QuoteLiteral(paths[i]);
  list += "]";
  // Statistics are read as the type of the table's column (all files unioned), which decides how
  // DuckDB compares it; columns of other types are never pruned on.
  std::map<std::string, ColumnType> types;
  ASSIGN_OR_RETURN(auto described, scratch.Describe("SELECT * FROM " + ReadExpression(paths, table.format)));
  for (const auto& column : described) types[column.name] = ColumnType::Of(column.type.sql_name);
  ASSIGN_OR_RETURN(auto meta, scratch.Query(
                                  "SELECT concat_ws(chr(31), file_name, path_in_schema, row_group_id, row_group_num_rows, "
                                  "CASE WHEN stats_min_value IS NULL OR stats_max_value IS NULL THEN '0' ELSE '1' END, "
                                  "coalesce(type, ''), coalesce(stats_min_value, ''), coalesce(stats_max_value, '')) "
                                  "FROM parquet_metadata(" + list + ")"));
  ASSIGN_OR_RETURN(std::vector<std::string> rows, engine::ColumnText(meta, 0));
  std::set<std::pair<File*, std::string>> counted_groups;
  std::set<std::pair<File*, std::string>> unknown;  // a row group without usable stats: no pruning on that column
  for (const auto& row : rows) {
    std::vector<std::string> fields = SplitFields(row);
    if (fields.size() < 5) continue;
    auto found = by_path.find(fields[0]);
    if (found == by_path.end()) continue;
    File* file = found->second;
    if (counted_groups.emplace(file, fields[2]).second) file->rows += std::atoll(fields[3].c_str());
    const std::string& column = fields[1];
    auto type = types.find(column);
    // Eight fields unless a statistic holds the separator itself: then it is not read.
    if (type == types.end() || fields.size() != 8 || fields[4] != "1") {
      unknown.emplace(file, column);
      continue;
    }
    auto low = ParseStatistic(type->second, fields[6], fields[5]);
    auto high = ParseStatistic(type->second, fields[7], fields[5]);
    if (!low || !high) {
      unknown.emplace(file, column);
      continue;
    }
    ColumnRange range{.type = type->second, .low = std::move(*low), .high = std::move(*high)};
    auto [it, inserted] = file->min_max.emplace(column, range);
    if (!inserted && !it->second.Merge(range)) unknown.emplace(file, column);
  }
  for (const auto& [file, column] : unknown) file->min_max.erase(column);
  // Hive partition columns come from the path; a data column of the same name would conflict.
  for (auto& file : table.files) {
    for (const auto& [key, value] : file->partition) file->min_max.erase(key);
  }
  return Status::Ok();
}

Status LazyFiles::CreateViews(engine::Connection& connection) {
  // The views' catalog, named in full where a temporary view of the same name shadows them.
  ASSIGN_OR_RETURN(auto current, connection.Query("SELECT current_database()"));
  ASSIGN_OR_RETURN(std::vector<std::string> name, engine::ColumnText(current, 0));
  catalog_ = name.at(0);
  for (const auto& table : tables_) {
    std::vector<std::string> paths;
    for (const auto& file : table.files) paths.push_back(file->source.local_path);
    RETURN_IF_ERROR(connection.Execute("CREATE OR REPLACE VIEW " + common::QuoteIdentifier(table.name) + " AS SELECT * FROM " +
                                       ReadExpression(paths, table.format)));
  }
  return Status::Ok();
}

int64_t LazyFiles::RowCount(const std::string& name) const {
  for (const auto& table : tables_) {
    if (table.name != name) continue;
    int64_t rows = 0;
    for (const auto& file : table.files) rows += file->rows;
    return table.format == FileFormat::kParquet ? rows : -1;
  }
  return -1;
}

bool LazyFiles::MayMatch(const File& file, const std::vector<Predicate>& predicates) const {
  for (const auto& predicate : predicates) {
    auto partition = file.partition.find(predicate.column);
    if (partition != file.partition.end()) {
      if (!PartitionMayMatch(partition->second, predicate, compare_options_)) return false;
      continue;
    }
    auto range = file.min_max.find(predicate.column);
    if (range != file.min_max.end() && !RangeMayMatch(range->second, predicate, compare_options_)) return false;
  }
  return true;
}

Result<LazyScope> LazyFiles::Prepare(const std::string& name, const std::vector<Predicate>& predicates, bool none) {
  Table* table = nullptr;
  for (auto& t : tables_) {
    if (t.name == name) table = &t;
  }
  if (!table) return NotFound("no such table", name);
  std::vector<File*> needed;
  {
    common::MutexLock lock(mu_);
    for (auto& file : table->files) {
      if (none || !MayMatch(*file, predicates)) continue;
      file->pins++;  // from now on it cannot be evicted
      needed.push_back(file.get());
    }
  }
  auto release = [this, needed] {
    common::MutexLock lock(mu_);
    for (File* file : needed) {
      file->pins--;
      file->last_used = std::chrono::steady_clock::now();
    }
  };
  // Fetch what is missing. A file another query is fetching is waited for, not fetched twice;
  // if that fetch fails, this query tries it itself.
  while (true) {
    std::vector<File*> mine;
    bool waiting = false;
    {
      common::MutexLock lock(mu_);
      for (File* file : needed) {
        if (file->state == File::State::kStub) {
          file->state = File::State::kFetching;
          mine.push_back(file);
        } else if (file->state == File::State::kFetching) {
          waiting = true;
        }
      }
      if (mine.empty() && !waiting) break;
      if (mine.empty()) {
        fetched_cv_.Wait(mu_);
        continue;
      }
    }
    std::vector<store::DownloadItem> items;
    int64_t bytes = 0;
    for (File* file : mine) {
      const SourceFile& s = file->source;
      items.push_back({{s.key, s.size, s.etag, s.mtime_ms}, s.local_path});
      bytes += s.size;
    }
    Status status = store::DownloadAll(*table->store, items, {});
    {
      common::MutexLock lock(mu_);
      for (File* file : mine) {
        file->state = status.ok() ? File::State::kComplete : File::State::kStub;
        file->last_used = std::chrono::steady_clock::now();
      }
      if (status.ok()) {
        cached_bytes_ += bytes;
        fetched_bytes_ += bytes;
      }
    }
    fetched_cv_.NotifyAll();
    if (!status.ok()) {
      // The failed download may have left nothing or a partial temp file; the stub is intact
      // (downloads are renamed into place only when complete and verified).
      release();
      return status;
    }
  }
  {
    common::MutexLock lock(mu_);
    EvictLocked();
  }
  std::vector<std::string> paths;
  for (File* file : needed) paths.push_back(file->source.local_path);
  std::string relation = paths.empty() ? "SELECT * FROM " + common::QuoteIdentifier(catalog_) + ".main." +
                                             common::QuoteIdentifier(name) + " LIMIT 0"
                                       : "SELECT * FROM " + ReadExpression(paths, table->format);
  return LazyScope(std::move(relation), std::move(release));
}

void LazyFiles::EvictLocked() {
  if (options_.budget_bytes <= 0) return;
  while (cached_bytes_ > options_.budget_bytes) {
    File* victim = nullptr;
    for (auto& table : tables_) {
      if (!table.store || table.format != FileFormat::kParquet) continue;
      for (auto& file : table.files) {
        if (file->state != File::State::kComplete || file->pins > 0) continue;
        if (!victim || file->last_used < victim->last_used) victim = file.get();
      }
    }
    if (!victim) return;  // everything left is in use: over budget until queries finish
    if (!WriteStub(victim->source.local_path, victim->source.size, victim->footer).ok()) return;
    victim->state = File::State::kStub;
    cached_bytes_ -= victim->source.size;
  }
}

std::vector<std::string> LazyFiles::table_names() const {
  std::vector<std::string> names;
  for (const auto& table : tables_) names.push_back(table.name);
  return names;
}

Result<std::vector<LazyScope>> ScopeLazyQuery(LazyFiles& lazy, engine::Connection& connection,
                                              const std::map<std::string, std::vector<Predicate>>& predicates,
                                              bool others_read_all) {
  std::vector<LazyScope> scopes;
  for (const auto& table : lazy.table_names()) {
    auto found = predicates.find(table);
    const bool named = found != predicates.end();
    ASSIGN_OR_RETURN(LazyScope scope, lazy.Prepare(table, named ? found->second : std::vector<Predicate>{},
                                                   /*none=*/!named && !others_read_all));
    RETURN_IF_ERROR(connection.Execute("CREATE OR REPLACE TEMP VIEW " + common::QuoteIdentifier(table) + " AS " +
                                       scope.relation_sql()));
    scopes.push_back(std::move(scope));
  }
  return scopes;
}

int64_t LazyFiles::remote_files() const {
  int64_t count = 0;
  for (const auto& table : tables_) {
    if (table.store) count += static_cast<int64_t>(table.files.size());
  }
  return count;
}

int64_t LazyFiles::cached_files() const {
  common::MutexLock lock(mu_);
  int64_t count = 0;
  for (const auto& table : tables_) {
    if (!table.store) continue;
    for (const auto& file : table.files) count += file->state == File::State::kComplete ? 1 : 0;
  }
  return count;
}

int64_t LazyFiles::total_bytes() const {
  int64_t bytes = 0;
  for (const auto& table : tables_) {
    for (const auto& file : table.files) bytes += file->source.size;
  }
  return bytes;
}

}  // namespace dram::database
