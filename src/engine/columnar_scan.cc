#include "engine/columnar_scan.h"

#include <algorithm>
#include <cstring>

#include "common/sql_text.h"
#include "engine/duckdb_types.h"

namespace dram::engine::internal {

namespace {

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

// The largest magnitude a column's values may have, or 0 when any value of its width is one.
// DuckDB trusts its vectors: a DECIMAL beyond its precision, a TIME beyond a day, or a
// TIMESTAMP_S/_MS whose microseconds overflow int64 (the encoders multiply) would be read as
// if DuckDB had made it. A member's bytes are checked instead.
unsigned __int128 MaxMagnitude(const ColumnarColumn& column) {
  switch (column.type_id) {
    case DUCKDB_TYPE_DECIMAL: return DecimalLimit(column.decimal_width) - 1;
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

}  // namespace

// The DuckDB type a header's column declares; its storage must have the width the format gives.
Result<duckdb_logical_type> CreateColumnType(const ColumnarColumn& column) {
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

Result<ColumnInfo> DescribeColumn(const ColumnarColumn& column) {
  ASSIGN_OR_RETURN(duckdb_logical_type created, CreateColumnType(column));
  OwnedLogicalType type(created);
  ColumnInfo info{column.name, internal::DescribeType(type.type)};
  if (column.type_id == DUCKDB_TYPE_ENUM) {
    std::string name = "ENUM(";
    for (size_t i = 0; i < column.enum_values.size(); ++i) name += (i ? ", " : "") + common::QuoteLiteral(column.enum_values[i]);
    info.type.sql_name = name + ")";
  }
  return info;
}

Result<bool> ColumnarScan::NextChunk() {
  while (payload_ < payloads_.size()) {
    if (!reader_) reader_.emplace(payloads_[payload_], header_);
    ASSIGN_OR_RETURN(const size_t rows, reader_->Next());
    if (rows > 0) {
      chunk_rows_ = rows;
      chunk_row_ = 0;
      string_offsets_.assign(header_.columns.size(), 0);
      return true;
    }
    reader_.reset();
    ++payload_;
  }
  return false;
}

Result<size_t> ColumnarScan::Fill(duckdb_data_chunk output) {
  const size_t capacity = duckdb_vector_size();
  const auto& columns = header_.columns;
  size_t filled = 0;
  while (filled < capacity) {
    if (chunk_row_ == chunk_rows_) {
      ASSIGN_OR_RETURN(const bool more, NextChunk());
      if (!more) break;
    }
    // A payload's chunk may be split across outputs, and small ones share an output.
    const size_t rows = std::min(chunk_rows_ - chunk_row_, capacity - filled);
    for (size_t col = 0; col < columns.size(); ++col) {
      RETURN_IF_ERROR(CopyColumn(columns[col], reader_->slice(col), chunk_row_, rows, duckdb_data_chunk_get_vector(output, col),
                                 filled, string_offsets_[col]));
    }
    chunk_row_ += rows;
    filled += rows;
  }
  duckdb_data_chunk_set_size(output, filled);
  return filled;
}

}  // namespace dram::engine::internal
