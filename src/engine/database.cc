#include "engine/database.h"

#include <dlfcn.h>
#include <duckdb.h>

#include <mutex>

#include "common/sql_text.h"
#include "engine/connection_state.h"

namespace dram::engine {

namespace internal {
struct DatabaseState {
  duckdb_database database = nullptr;
  ~DatabaseState() { duckdb_close(&database); }
};
}  // namespace internal

namespace {

class Config {
 public:
  Config() { duckdb_create_config(&config_); }
  ~Config() { duckdb_destroy_config(&config_); }
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;
  Status Set(const char* name, const std::string& value) {
    if (duckdb_set_config(config_, name, value.c_str()) == DuckDBError) return InvalidArgument("bad DuckDB option", name);
    return Status::Ok();
  }
  duckdb_config get() { return config_; }

 private:
  duckdb_config config_ = nullptr;
};

// DuckDB's allocator is a jemalloc of its own (one for the whole process, every database and
// thread), set up by DuckDB to purge memory freed more than 1 s ago. A server's threads run every
// database's queries: with scans freeing hundreds of MB a second, a small query kept getting
// freshly purged memory back and paid to fault it in again, or did the purge itself. Measured on a
// cluster member's reduce step (4 partials, 50 groups; bench/distributed.sh): 1.1 ms, but 3.7 ms
// (a purge) or 6.5-7.5 ms (a purge and 512 page faults) in half the requests, and 0.64 ms in
// bench/reduce_bench.cc alone; with 10 s (jemalloc's own default) the slow ones went, p50
// 3.75 → 1.13 ms. Freed memory then goes back to the system within ~10 s instead of ~1 s.
// Tuned through jemalloc's mallctl when the library exports it (the pinned build does), by name
// at run time so that a DuckDB built without jemalloc still loads.
void KeepFreedMemoryLonger() {
  using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);
  auto mallctl = reinterpret_cast<Mallctl>(::dlsym(RTLD_DEFAULT, "duckdb_je_mallctl"));
  if (mallctl == nullptr) return;
  ssize_t decay_ms = 10000;
  mallctl("arenas.dirty_decay_ms", nullptr, nullptr, &decay_ms, sizeof(decay_ms));  // arenas made later
  unsigned arenas = 0;
  size_t size = sizeof(arenas);
  if (mallctl("arenas.narenas", &arenas, &size, nullptr, 0) != 0) return;
  for (unsigned i = 0; i < arenas; ++i) {  // those in use (one that is not initialized yet refuses)
    const std::string name = "arena." + std::to_string(i) + ".dirty_decay_ms";
    mallctl(name.c_str(), nullptr, nullptr, &decay_ms, sizeof(decay_ms));
  }
}

std::once_flag allocator_tuned;

}  // namespace

Database::Database(std::string path, std::unique_ptr<internal::DatabaseState> state)
    : path_(std::move(path)), state_(std::move(state)) {}
Database::~Database() = default;

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const DatabaseOptions& options) {
  std::call_once(allocator_tuned, KeepFreedMemoryLonger);
  Config config;
  if (options.read_only && !path.empty()) RETURN_IF_ERROR(config.Set("access_mode", "READ_ONLY"));
  if (options.threads > 0) RETURN_IF_ERROR(config.Set("threads", std::to_string(options.threads)));
  if (!options.memory_limit.empty()) RETURN_IF_ERROR(config.Set("memory_limit", options.memory_limit));
  if (!options.temp_directory.empty()) RETURN_IF_ERROR(config.Set("temp_directory", options.temp_directory));
  // Served data never needs extensions from the network, and this build cannot fetch them.
  RETURN_IF_ERROR(config.Set("autoinstall_known_extensions", "false"));
  RETURN_IF_ERROR(config.Set("autoload_known_extensions", "false"));
  // Memory the allocator gives back is purged by its background thread, not by whichever query
  // thread happens to free or allocate next (see KeepFreedMemoryLonger).
  RETURN_IF_ERROR(config.Set("allocator_background_threads", "true"));

  auto state = std::make_unique<internal::DatabaseState>();
  char* error = nullptr;
  if (duckdb_open_ext(path.empty() ? nullptr : path.c_str(), &state->database, config.get(), &error) == DuckDBError) {
    Status status = Unavailable(error ? error : "cannot open database", path);
    duckdb_free(error);
    return status;
  }
  std::unique_ptr<Database> database(new Database(path, std::move(state)));
  // Answers must not depend on the host's time zone: DuckDB takes TZ or /etc/localtime as the
  // zone, which decides every DATE vs TIMESTAMPTZ comparison and cast. (The option is ICU's, so
  // duckdb_open_ext's config does not know it yet; set globally, every connection inherits it.)
  ASSIGN_OR_RETURN(auto setup, database->Connect());
  RETURN_IF_ERROR(setup->Execute("SET GLOBAL TimeZone = 'UTC'"));
  // DuckDB's default, stated: scans return rows in the order stored, through filters, LIMIT and
  // OFFSET. Snapshots are written in their storage order and pages of it are read without ORDER
  // BY (api's StorageOrderAnswers); Seal locks it.
  RETURN_IF_ERROR(setup->Execute("SET GLOBAL preserve_insertion_order = true"));
  return database;
}

Status Database::Seal(const std::vector<std::string>& allowed_directories) {
  ASSIGN_OR_RETURN(auto setup, Connect());
  std::string list;
  for (const auto& dir : allowed_directories) {
    list += (list.empty() ? "" : ", ") + common::QuoteLiteral(dir.ends_with('/') ? dir : dir + "/");
  }
  // Order matters: directories are allowed while external access is on; the lock comes last.
  const std::string statements[] = {"SET allowed_directories = [" + list + "]", "SET enable_external_access = false",
                                    "SET allow_community_extensions = false", "SET lock_configuration = true"};
  for (const auto& sql : statements) {
    if (Status status = setup->Execute(sql); !status.ok()) return Internal("cannot seal the database: " + status.message(), path_);
  }
  return Status::Ok();
}

Result<std::unique_ptr<Connection>> Database::Connect() {
  auto state = std::make_unique<internal::ConnectionState>();
  if (duckdb_connect(state_->database, &state->connection) == DuckDBError) {
    return Unavailable("cannot connect to database", path_);
  }
  duckdb_client_context context = nullptr;
  duckdb_connection_get_client_context(state->connection, &context);
  state->id = duckdb_client_context_get_connection_id(context);
  duckdb_destroy_client_context(&context);
  return std::make_unique<Connection>(std::move(state));
}

}  // namespace dram::engine
