#include "engine/csv_table_function.h"

#include <duckdb.h>

#include "engine/connection_state.h"

namespace dram::engine {

namespace {

// More would be a sign of a malformed call, not of a real partial result.
constexpr int64_t kMaxColumns = 4096;

struct BindData {
  CsvTableFunction* function;
  idx_t columns;
  uint64_t connection_id;
};

// Where the scan is: which text, and where in it.
struct ScanState {
  std::vector<std::string_view> texts;
  size_t text = 0;
  size_t at = 0;  // 0: the text's header is still to skip
  std::string unquoted;
};

void Bind(duckdb_bind_info info) {
  auto* function = static_cast<CsvTableFunction*>(duckdb_bind_get_extra_info(info));
  duckdb_value parameter = duckdb_bind_get_parameter(info, 0);
  // NULL first: reading it as a number throws through this callback, past the value's release.
  const bool null = parameter == nullptr || duckdb_is_null_value(parameter);
  const int64_t columns = null ? 0 : duckdb_get_int64(parameter);
  duckdb_destroy_value(&parameter);
  if (columns < 1 || columns > kMaxColumns) {
    duckdb_bind_set_error(info, "the number of columns must be between 1 and 4096");
    return;
  }
  duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  for (int64_t i = 0; i < columns; ++i) duckdb_bind_add_result_column(info, ("c" + std::to_string(i)).c_str(), varchar);
  duckdb_destroy_logical_type(&varchar);
  duckdb_client_context context = nullptr;
  duckdb_table_function_get_client_context(info, &context);
  const uint64_t connection_id = duckdb_client_context_get_connection_id(context);
  duckdb_destroy_client_context(&context);
  duckdb_bind_set_bind_data(info, new BindData{function, static_cast<idx_t>(columns), connection_id},
                            [](void* data) { delete static_cast<BindData*>(data); });
}

// Per execution, so that a prepared statement run again reads what its connection holds now.
void Init(duckdb_init_info info) {
  auto* bind = static_cast<BindData*>(duckdb_init_get_bind_data(info));
  auto* state = new ScanState{.texts = bind->function->TextsOf(bind->connection_id)};
  duckdb_init_set_init_data(info, state, [](void* data) { delete static_cast<ScanState*>(data); });
  duckdb_init_set_max_threads(info, 1);  // one cursor through the texts
}

// One field starting at `at`; `at` moves past it (not past the separator after it). Sets `null`
// for an empty unquoted field. Returns false when a quoted field is not closed.
bool NextField(std::string_view text, size_t& at, std::string& unquoted, std::string_view& field, bool& null) {
  null = false;
  if (at < text.size() && text[at] == '"') {
    unquoted.clear();
    size_t from = at + 1;
    for (size_t i = from;; ++i) {
      if (i >= text.size()) return false;
      if (text[i] != '"') continue;
      if (i + 1 < text.size() && text[i + 1] == '"') {  // "" inside quotes: one quote
        unquoted.append(text.substr(from, i + 1 - from));
        from = ++i + 1;
        continue;
      }
      unquoted.append(text.substr(from, i - from));
      at = i + 1;
      field = unquoted;
      return true;
    }
  }
  const size_t end = text.find_first_of(",\r", at);
  field = text.substr(at, (end == std::string_view::npos ? text.size() : end) - at);
  at += field.size();
  null = field.empty();
  return true;
}

void Scan(duckdb_function_info info, duckdb_data_chunk output) {
  auto* bind = static_cast<BindData*>(duckdb_function_get_bind_data(info));
  auto* state = static_cast<ScanState*>(duckdb_function_get_init_data(info));
  std::vector<duckdb_vector> vectors(bind->columns);
  for (idx_t col = 0; col < bind->columns; ++col) vectors[col] = duckdb_data_chunk_get_vector(output, col);
  const idx_t capacity = duckdb_vector_size();
  idx_t row = 0;
  while (row < capacity && state->text < state->texts.size()) {
    const std::string_view text = state->texts[state->text];
    if (state->at == 0) state->at = CsvHeaderLength(text);
    if (state->at >= text.size()) {
      ++state->text;
      state->at = 0;
      continue;
    }
    for (idx_t col = 0; col < bind->columns; ++col) {
      std::string_view field;
      bool null = false;
      if (!NextField(text, state->at, state->unquoted, field, null)) {
        duckdb_function_set_error(info, "a CSV field is not closed by a quote");
        return;
      }
      const bool last = col + 1 == bind->columns;
      const bool row_ends = state->at == text.size() || text.compare(state->at, 2, "\r\n") == 0;
      if (last != row_ends || (!row_ends && text[state->at] != ',')) {
        duckdb_function_set_error(info, "a CSV record does not have as many fields as the header");
        return;
      }
      state->at += row_ends ? (state->at == text.size() ? 0 : 2) : 1;
      if (null) {
        duckdb_vector_ensure_validity_writable(vectors[col]);
        duckdb_validity_set_row_invalid(duckdb_vector_get_validity(vectors[col]), row);
      } else {
        duckdb_vector_assign_string_element_len(vectors[col], row, field.data(), field.size());
      }
    }
    ++row;
  }
  duckdb_data_chunk_set_size(output, row);
}

}  // namespace

size_t CsvHeaderLength(std::string_view csv) {
  bool quoted = false;
  for (size_t i = 0; i < csv.size(); ++i) {
    if (csv[i] == '"') quoted = !quoted;  // "" inside quotes toggles twice
    if (!quoted && csv[i] == '\r' && i + 1 < csv.size() && csv[i + 1] == '\n') return i + 2;
  }
  return csv.size();
}

Result<std::unique_ptr<CsvTableFunction>> CsvTableFunction::Register(Database& database, const std::string& name) {
  std::unique_ptr<CsvTableFunction> self(new CsvTableFunction());
  ASSIGN_OR_RETURN(auto connection, database.Connect());
  duckdb_table_function function = duckdb_create_table_function();
  duckdb_table_function_set_name(function, name.c_str());
  duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
  duckdb_table_function_add_parameter(function, bigint);
  duckdb_destroy_logical_type(&bigint);
  duckdb_table_function_set_extra_info(function, self.get(), nullptr);
  duckdb_table_function_set_bind(function, Bind);
  duckdb_table_function_set_init(function, Init);
  duckdb_table_function_set_function(function, Scan);
  const duckdb_state registered = duckdb_register_table_function(connection->state_->connection, function);
  duckdb_destroy_table_function(&function);
  if (registered == DuckDBError) return Internal("cannot register the table function", name);
  return self;
}

CsvTableFunction::Lease CsvTableFunction::Provide(Connection& connection, std::vector<std::string_view> texts) {
  const uint64_t id = connection.id();
  common::MutexLock lock(mu_);
  texts_[id] = std::move(texts);
  return Lease(*this, id);
}

CsvTableFunction::Lease::~Lease() {
  if (!function_) return;
  common::MutexLock lock(function_->mu_);
  function_->texts_.erase(connection_id_);
}

std::vector<std::string_view> CsvTableFunction::TextsOf(uint64_t connection_id) {
  common::MutexLock lock(mu_);
  auto found = texts_.find(connection_id);
  return found == texts_.end() ? std::vector<std::string_view>{} : found->second;
}

}  // namespace dram::engine
