#include "engine/columnar_table_function.h"

#include <duckdb.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/sql_text.h"
#include "engine/columnar_format.h"
#include "engine/connection_state.h"
#include "engine/duckdb_types.h"

namespace dram::engine {

namespace {

using internal::ColumnarChunkReader;
using internal::ColumnarColumn;
using internal::ColumnarHeader;
using internal::ColumnarSlice;
using internal::LoadUnsigned;
using internal::OwnedLogicalType;

// The DuckDB type a header's column declares; its storage must have the width the format gives.
Result<duckdb_logical_type> CreateType(const ColumnarColumn& column) {
  duckdb_logical_type type = nullptr;
  duckdb_type storage = DUCKDB_TYPE_INVALID;
  if (column.type_id == DUCKDB_TYPE_DECIMAL) {
    type = duckdb_create_decimal_type(column.decimal_width, column.decimal_scale);
    if (type) storage = duckdb_decimal_internal_type(type);
  } else if (column.type_id == DUCKDB_TYPE_ENUM) {
    std::vector<const char*> values;
    values.reserve(column.enum_values.size());
    for (const auto& value : column.enum_values) values.push_back(value.c_str());  // checked: no NUL inside
    type = duckdb_create_enum_type(values.data(), values.size());
    if (type) storage = duckdb_enum_internal_type(type);
  } else {
    type = duckdb_create_logical_type(static_cast<duckdb_type>(column.type_id));
  }
  if (!type) return DataLoss("a columnar payload declares a type DuckDB cannot create", column.name);
  if (storage != DUCKDB_TYPE_INVALID && internal::ValueWidth(static_cast<uint8_t>(storage), 0, 0) != column.width) {
    duckdb_destroy_logical_type(&type);
    return Internal("DuckDB stores column '" + column.name + "' in another width than the columnar format");
  }
  return type;
}

// The column as QueryResult::Columns would describe it, an ENUM spelled with its values (as
// api's PartialOf spells it for the CSV path), so that the name identifies the type.
Result<ColumnInfo> Describe(const ColumnarColumn& column) {
  ASSIGN_OR_RETURN(duckdb_logical_type created, CreateType(column));
  OwnedLogicalType type(created);
  ColumnInfo info{column.name, internal::DescribeType(type.type)};
  if (column.type_id == DUCKDB_TYPE_ENUM) {
    std::string name = "ENUM(";
    for (size_t i = 0; i < column.enum_values.size(); ++i) name += (i ? ", " : "") + common::QuoteLiteral(column.enum_values[i]);
    info.type.sql_name = name + ")";
  }
  return info;
}

struct BindData {
  ColumnarTableFunction* function;
  uint64_t connection_id;
  std::string header_bytes;  // what every payload of every run must start with
  ColumnarHeader header;
};

// The type names the call gives (its one parameter, a list of VARCHAR).
Result<std::vector<std::string>> TypeNamesOf(duckdb_bind_info info) {
  duckdb_value list = duckdb_bind_get_parameter(info, 0);
  std::vector<std::string> names;
  bool null = list == nullptr || duckdb_is_null_value(list);
  const idx_t count = null ? 0 : duckdb_get_list_size(list);
  for (idx_t i = 0; i < count && !null; ++i) {
    duckdb_value child = duckdb_get_list_child(list, i);
    // NULL first: reading a NULL as text would throw through this callback, past the releases.
    null = child == nullptr || duckdb_is_null_value(child);
    if (!null) {
      char* text = duckdb_get_varchar(child);
      names.emplace_back(text ? text : "");
      duckdb_free(text);
    }
    duckdb_destroy_value(&child);
  }
  duckdb_destroy_value(&list);
  if (null) return InvalidArgument("the columnar function takes a list of the columns' type names, none of them NULL");
  return names;
}

Status CheckHeaders(const std::vector<std::string_view>& payloads, std::string_view header_bytes) {
  for (std::string_view payload : payloads) {
    if (payload.substr(0, header_bytes.size()) != header_bytes) {
      return InvalidArgument("columnar payloads read together must have the same columns (names and types) as the statement was bound with");
    }
  }
  return Status::Ok();
}

// Everything Bind decides, as a Status so that each failure is one line.
Status BindColumns(duckdb_bind_info info, BindData& bind) {
  const auto payloads = bind.function->PayloadsOf(bind.connection_id);
  if (payloads.empty()) return FailedPrecondition("no columnar payloads were handed to this connection before the statement was bound");
  ASSIGN_OR_RETURN(bind.header, internal::ParseColumnarHeader(payloads.front()));
  bind.header_bytes = std::string(payloads.front().substr(0, bind.header.size));
  RETURN_IF_ERROR(CheckHeaders(payloads, bind.header_bytes));
  ASSIGN_OR_RETURN(const std::vector<std::string> names, TypeNamesOf(info));
  if (names.size() != bind.header.columns.size()) {
    return InvalidArgument("the statement names " + std::to_string(names.size()) + " column types; the payloads have " +
                           std::to_string(bind.header.columns.size()) + " columns");
  }
  for (size_t col = 0; col < names.size(); ++col) {
    ASSIGN_OR_RETURN(const ColumnInfo described, Describe(bind.header.columns[col]));
    if (described.type.sql_name != names[col]) {
      return InvalidArgument("the statement names column " + std::to_string(col) + " '" + described.name + "' " + names[col] +
                             "; the payloads carry " + described.type.sql_name);
    }
  }
  for (const auto& column : bind.header.columns) {
    ASSIGN_OR_RETURN(duckdb_logical_type created, CreateType(column));
    OwnedLogicalType type(created);
    duckdb_bind_add_result_column(info, column.name.c_str(), type.type);
  }
  return Status::Ok();
}

void Bind(duckdb_bind_info info) {
  auto bind = std::make_unique<BindData>();
  bind->function = static_cast<ColumnarTableFunction*>(duckdb_bind_get_extra_info(info));
  duckdb_client_context context = nullptr;
  duckdb_table_function_get_client_context(info, &context);
  bind->connection_id = duckdb_client_context_get_connection_id(context);
  duckdb_destroy_client_context(&context);
  if (const Status status = BindColumns(info, *bind); !status.ok()) {
    duckdb_bind_set_error(info, status.message().c_str());
    return;
  }
  duckdb_bind_set_bind_data(info, bind.release(), [](void* data) { delete static_cast<BindData*>(data); });
}

// Where the scan is: which payload, which of its chunks, and how far into that chunk.
struct ScanState {
  std::vector<std::string_view> payloads;
  size_t payload = 0;
  std::optional<ColumnarChunkReader> reader;  // over payloads[payload]
  size_t chunk_rows = 0;
  size_t chunk_row = 0;
  std::vector<size_t> string_offsets;  // per VARCHAR column: where its next row's bytes start
};

// Per execution, so that a prepared statement run again reads what its connection holds now.
void Init(duckdb_init_info info) {
  auto* bind = static_cast<BindData*>(duckdb_init_get_bind_data(info));
  auto state = std::make_unique<ScanState>();
  state->payloads = bind->function->PayloadsOf(bind->connection_id);
  // A prepared statement run again outside a lease would otherwise read no rows, silently.
  if (state->payloads.empty()) {
    duckdb_init_set_error(info, "no columnar payloads were handed to this connection for this run");
    return;
  }
  if (const Status status = CheckHeaders(state->payloads, bind->header_bytes); !status.ok()) {
    duckdb_init_set_error(info, status.message().c_str());
    return;
  }
  duckdb_init_set_init_data(info, state.release(), [](void* data) { delete static_cast<ScanState*>(data); });
  duckdb_init_set_max_threads(info, 1);  // one cursor through the payloads
}

// Values of a narrowed column: base + delta, modulo 2^(8 × sizeof(V)) (V unsigned, as wide as the
// column's values; D the deltas' type).
template <typename V, typename D>
void Widen(const char* base, const char* deltas, size_t rows, char* to) {
  V first;
  std::memcpy(&first, base, sizeof(V));
  for (size_t row = 0; row < rows; ++row) {
    D delta;
    std::memcpy(&delta, deltas + row * sizeof(D), sizeof(D));
    const V value = static_cast<V>(first + static_cast<V>(delta));
    std::memcpy(to + row * sizeof(V), &value, sizeof(V));
  }
}

template <typename V>
void WidenFrom(size_t delta_width, const char* base, const char* deltas, size_t rows, char* to) {
  switch (delta_width) {  // the reader let through only widths narrower than V
    case 1: Widen<V, uint8_t>(base, deltas, rows, to); break;
    case 2: Widen<V, uint16_t>(base, deltas, rows, to); break;
    case 4: Widen<V, uint32_t>(base, deltas, rows, to); break;
    default: Widen<V, uint64_t>(base, deltas, rows, to); break;
  }
}

void CopyFixed(const ColumnarColumn& column, const ColumnarSlice& slice, size_t from, size_t rows, char* to) {
  if (slice.delta_width == 0) {
    std::memcpy(to, slice.values + from * column.width, rows * column.width);
    return;
  }
  const char* deltas = slice.values + from * slice.delta_width;
  switch (column.width) {
    case 2: WidenFrom<uint16_t>(slice.delta_width, slice.base, deltas, rows, to); break;
    case 4: WidenFrom<uint32_t>(slice.delta_width, slice.base, deltas, rows, to); break;
    case 8: WidenFrom<uint64_t>(slice.delta_width, slice.base, deltas, rows, to); break;
    default: WidenFrom<unsigned __int128>(slice.delta_width, slice.base, deltas, rows, to); break;
  }
}

// The signed value of `width` bytes (2, 4, 8 or 16) at `from`.
__int128 LoadSigned(const char* from, size_t width) {
  switch (width) {
    case 2: { int16_t v; std::memcpy(&v, from, 2); return v; }
    case 4: { int32_t v; std::memcpy(&v, from, 4); return v; }
    case 8: { int64_t v; std::memcpy(&v, from, 8); return v; }
    default: { __int128 v; std::memcpy(&v, from, 16); return v; }
  }
}

// The largest magnitude a column's values may have, or 0 when any value of its width is one.
// DuckDB trusts its vectors: a DECIMAL beyond its precision, a TIME beyond a day, or a
// TIMESTAMP_S/_MS whose microseconds overflow int64 (the encoders multiply) would be read as
// if DuckDB had made it. A member's bytes are checked instead.
unsigned __int128 MaxMagnitude(const ColumnarColumn& column) {
  switch (column.type_id) {
    case DUCKDB_TYPE_DECIMAL: {
      unsigned __int128 limit = 1;
      for (int i = 0; i < column.decimal_width; ++i) limit *= 10;
      return limit - 1;
    }
    case DUCKDB_TYPE_TIME: return 86'400'000'000ULL;  // 24:00:00 is a TIME DuckDB makes
    case DUCKDB_TYPE_TIME_NS: return 86'400'000'000'000ULL;
    case DUCKDB_TYPE_TIMESTAMP_S: return static_cast<unsigned __int128>(INT64_MAX / 1'000'000);
    case DUCKDB_TYPE_TIMESTAMP_MS: return static_cast<unsigned __int128>(INT64_MAX / 1'000);
    default: return 0;
  }
}

// BOOLEANs must be 0 or 1 and ENUM indexes inside the dictionary, or DuckDB would read past it;
// other values within their type (MaxMagnitude; TIMEs not negative). NULL slots are zeroed so
// that nothing that ignores validity meets a bad value either.
Status CheckValues(const ColumnarColumn& column, const ColumnarSlice& slice, size_t from, size_t rows, char* to) {
  const bool is_enum = column.type_id == DUCKDB_TYPE_ENUM;
  const bool is_index = is_enum || column.type_id == DUCKDB_TYPE_BOOLEAN;
  const unsigned __int128 magnitude = MaxMagnitude(column);
  if (!is_index && magnitude == 0) return Status::Ok();
  const bool non_negative = column.type_id == DUCKDB_TYPE_TIME || column.type_id == DUCKDB_TYPE_TIME_NS;
  const uint64_t limit = is_enum ? column.enum_values.size() : 2;
  for (size_t row = 0; row < rows; ++row) {
    char* value = to + row * column.width;
    if (!slice.IsValid(from + row)) {
      std::memset(value, 0, column.width);
      continue;
    }
    bool bad;
    if (is_index) {
      bad = LoadUnsigned(value, column.width) >= limit;
    } else {
      const __int128 v = LoadSigned(value, column.width);
      const unsigned __int128 size = v < 0 ? static_cast<unsigned __int128>(-(v + 1)) + 1 : static_cast<unsigned __int128>(v);
      bad = size > magnitude || (non_negative && v < 0);
    }
    if (bad) return DataLoss("a columnar payload holds a value outside its column's type", column.name);
  }
  return Status::Ok();
}

Status CopyStrings(const ColumnarColumn& column, const ColumnarSlice& slice, size_t from, size_t rows, duckdb_vector vector,
                   size_t to, size_t& offset) {
  for (size_t row = 0; row < rows; ++row) {
    const size_t length = LoadUnsigned(slice.values + (from + row) * slice.delta_width, slice.delta_width);
    const std::string_view text(slice.bytes + offset, length);  // the reader checked the lengths' sum
    offset += length;
    if (!slice.IsValid(from + row)) continue;
    if (!internal::IsValidUtf8(text)) return DataLoss("a columnar payload holds a string that is not UTF-8", column.name);
    duckdb_vector_assign_string_element_len(vector, to + row, text.data(), text.size());
  }
  return Status::Ok();
}

// Rows [from, from + rows) of one column of the current chunk into output rows [to, to + rows).
Status CopyColumn(const ColumnarColumn& column, const ColumnarSlice& slice, size_t from, size_t rows, duckdb_vector vector,
                  size_t to, size_t& string_offset) {
  if (slice.validity) {
    uint64_t* validity = nullptr;
    for (size_t row = 0; row < rows; ++row) {
      if (slice.IsValid(from + row)) continue;
      if (!validity) {
        duckdb_vector_ensure_validity_writable(vector);
        validity = duckdb_vector_get_validity(vector);
      }
      duckdb_validity_set_row_invalid(validity, to + row);
    }
  }
  if (column.width == 0) return CopyStrings(column, slice, from, rows, vector, to, string_offset);
  char* data = static_cast<char*>(duckdb_vector_get_data(vector)) + to * column.width;
  CopyFixed(column, slice, from, rows, data);
  return CheckValues(column, slice, from, rows, data);
}

// Moves to the next chunk with rows, across payloads; false when all are read.
Result<bool> NextChunk(const BindData& bind, ScanState& state) {
  while (state.payload < state.payloads.size()) {
    if (!state.reader) state.reader.emplace(state.payloads[state.payload], bind.header);
    ASSIGN_OR_RETURN(const size_t rows, state.reader->Next());
    if (rows > 0) {
      state.chunk_rows = rows;
      state.chunk_row = 0;
      state.string_offsets.assign(bind.header.columns.size(), 0);
      return true;
    }
    state.reader.reset();
    ++state.payload;
  }
  return false;
}

Status Fill(const BindData& bind, ScanState& state, duckdb_data_chunk output, size_t& filled) {
  const size_t capacity = duckdb_vector_size();
  const auto& columns = bind.header.columns;
  while (filled < capacity) {
    if (state.chunk_row == state.chunk_rows) {
      ASSIGN_OR_RETURN(const bool more, NextChunk(bind, state));
      if (!more) break;
    }
    // A payload's chunk may be split across outputs, and small ones share an output.
    const size_t rows = std::min(state.chunk_rows - state.chunk_row, capacity - filled);
    for (size_t col = 0; col < columns.size(); ++col) {
      RETURN_IF_ERROR(CopyColumn(columns[col], state.reader->slice(col), state.chunk_row, rows,
                                 duckdb_data_chunk_get_vector(output, col), filled, state.string_offsets[col]));
    }
    state.chunk_row += rows;
    filled += rows;
  }
  return Status::Ok();
}

void Scan(duckdb_function_info info, duckdb_data_chunk output) {
  auto* bind = static_cast<BindData*>(duckdb_function_get_bind_data(info));
  auto* state = static_cast<ScanState*>(duckdb_function_get_init_data(info));
  size_t filled = 0;
  if (const Status status = Fill(*bind, *state, output, filled); !status.ok()) {
    duckdb_function_set_error(info, status.message().c_str());
    return;
  }
  duckdb_data_chunk_set_size(output, filled);
}

}  // namespace

Result<std::unique_ptr<ColumnarTableFunction>> ColumnarTableFunction::Register(Database& database, const std::string& name) {
  std::unique_ptr<ColumnarTableFunction> self(new ColumnarTableFunction());
  ASSIGN_OR_RETURN(auto connection, database.Connect());
  duckdb_table_function function = duckdb_create_table_function();
  duckdb_table_function_set_name(function, name.c_str());
  OwnedLogicalType varchar(duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
  OwnedLogicalType names(duckdb_create_list_type(varchar.type));
  duckdb_table_function_add_parameter(function, names.type);  // the C API has no varargs for table functions
  duckdb_table_function_set_extra_info(function, self.get(), nullptr);
  duckdb_table_function_set_bind(function, Bind);
  duckdb_table_function_set_init(function, Init);
  duckdb_table_function_set_function(function, Scan);
  const duckdb_state registered = duckdb_register_table_function(connection->state_->connection, function);
  duckdb_destroy_table_function(&function);
  if (registered == DuckDBError) return Internal("cannot register the table function", name);
  return self;
}

Result<std::vector<ColumnInfo>> ColumnarTableFunction::Columns(std::string_view payload) {
  ASSIGN_OR_RETURN(const ColumnarHeader header, internal::ParseColumnarHeader(payload));
  std::vector<ColumnInfo> columns;
  for (const auto& column : header.columns) {
    ASSIGN_OR_RETURN(ColumnInfo info, Describe(column));
    columns.push_back(std::move(info));
  }
  return columns;
}

std::string ColumnarTableFunction::Call(std::string_view name, const std::vector<ColumnInfo>& columns) {
  std::string call = std::string(name) + "([";
  for (size_t i = 0; i < columns.size(); ++i) call += (i ? ", " : "") + common::QuoteLiteral(columns[i].type.sql_name);
  // The names too, as the relation's column aliases: a statement is bound to its payloads' whole
  // header, names included, and reused by its text, so two column sets of the same types must
  // not share one text ("SELECT * FROM partials" over two analyses' rows).
  call += "]) AS columnar(";
  for (size_t i = 0; i < columns.size(); ++i) call += (i ? ", " : "") + common::QuoteIdentifier(columns[i].name);
  return call + ")";
}

ColumnarTableFunction::Lease ColumnarTableFunction::Provide(Connection& connection, std::vector<std::string_view> payloads) {
  const uint64_t id = connection.id();
  common::MutexLock lock(mu_);
  payloads_[id] = std::move(payloads);
  return Lease(*this, id);
}

ColumnarTableFunction::Lease::~Lease() {
  if (!function_) return;
  common::MutexLock lock(function_->mu_);
  function_->payloads_.erase(connection_id_);
}

std::vector<std::string_view> ColumnarTableFunction::PayloadsOf(uint64_t connection_id) {
  common::MutexLock lock(mu_);
  auto found = payloads_.find(connection_id);
  return found == payloads_.end() ? std::vector<std::string_view>{} : found->second;
}

}  // namespace dram::engine
