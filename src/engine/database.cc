#include "engine/database.h"

#include <duckdb.h>

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

}  // namespace

Database::Database(std::string path, std::unique_ptr<internal::DatabaseState> state)
    : path_(std::move(path)), state_(std::move(state)) {}
Database::~Database() = default;

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const DatabaseOptions& options) {
  Config config;
  if (options.read_only && !path.empty()) RETURN_IF_ERROR(config.Set("access_mode", "READ_ONLY"));
  if (options.threads > 0) RETURN_IF_ERROR(config.Set("threads", std::to_string(options.threads)));
  if (!options.memory_limit.empty()) RETURN_IF_ERROR(config.Set("memory_limit", options.memory_limit));
  if (!options.temp_directory.empty()) RETURN_IF_ERROR(config.Set("temp_directory", options.temp_directory));
  // Served data never needs extensions from the network, and this build cannot fetch them.
  RETURN_IF_ERROR(config.Set("autoinstall_known_extensions", "false"));
  RETURN_IF_ERROR(config.Set("autoload_known_extensions", "false"));

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
