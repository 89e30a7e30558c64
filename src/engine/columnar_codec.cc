#include "engine/columnar_codec.h"

#include <duckdb.h>

#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "engine/columnar_format.h"
#include "engine/duckdb_types.h"
#include "engine/result_handle.h"

namespace dram::engine {

namespace {

using internal::ColumnarColumn;
using internal::StringAt;
using internal::OwnedLogicalType;

// DuckDB's validity mask: 64 rows a word, least significant bit first; nullptr when all are valid.
class Validity {
 public:
  Validity(const uint64_t* words, size_t rows) : words_(words) {
    if (!words_) return;
    for (size_t word = 0; word < rows / 64; ++word) {
      if (words_[word] != ~uint64_t{0}) return;
    }
    const size_t tail = rows % 64;
    if (tail == 0 || (words_[rows / 64] & ((uint64_t{1} << tail) - 1)) == ((uint64_t{1} << tail) - 1)) words_ = nullptr;
  }
  bool all() const { return words_ == nullptr; }
  bool IsValid(size_t row) const { return !words_ || ((words_[row >> 6] >> (row & 63)) & 1); }
  // One bit per row, least significant first, as the format has it: the words' bytes on a
  // little-endian host, with the bits past the last row cleared so that equal data encodes alike.
  void AppendBitmap(size_t rows, std::string& out) const {
    const size_t bytes = (rows + 7) / 8;
    const size_t at = out.size();
    out.append(reinterpret_cast<const char*>(words_), bytes);
    if (rows % 8 != 0) out[at + bytes - 1] = static_cast<char>(out[at + bytes - 1] & ((1 << (rows % 8)) - 1));
  }

 private:
  const uint64_t* words_;
};

template <typename T>
struct UnsignedOf {
  using type = std::make_unsigned_t<T>;
};
template <>
struct UnsignedOf<__int128> {
  using type = unsigned __int128;
};
template <>
struct UnsignedOf<unsigned __int128> {
  using type = unsigned __int128;
};

// Narrow form of a column of T (a base and the smallest deltas that hold max − min); false, with
// nothing written, when the deltas would be no narrower than T. Min and max compare as T does
// (signed or not), so a column of small negative and positive numbers narrows too; decoding is
// plain unsigned addition modulo 2^(8 × sizeof(T)) either way.
template <typename T>
bool AppendNarrowed(const char* data, const Validity& validity, size_t rows, std::string& out) {
  using U = typename UnsignedOf<T>::type;
  T min{}, max{};
  bool any = false;
  for (size_t row = 0; row < rows; ++row) {
    if (!validity.IsValid(row)) continue;
    T value;
    std::memcpy(&value, data + row * sizeof(T), sizeof(T));
    if (!any || value < min) min = value;
    if (!any || value > max) max = value;
    any = true;
  }
  // Widened so that one comparison serves every T (and none is "always true" for a narrow T).
  const unsigned __int128 range = static_cast<U>(static_cast<U>(max) - static_cast<U>(min));
  const size_t delta = range <= 0xFF ? 1 : range <= 0xFFFF ? 2 : range <= 0xFFFFFFFFULL ? 4
                       : range <= std::numeric_limits<uint64_t>::max() ? 8 : 16;
  if (delta >= sizeof(T)) return false;
  out.push_back(static_cast<char>(delta));
  out.append(reinterpret_cast<const char*>(&min), sizeof(T));
  const size_t at = out.size();
  out.resize(at + rows * delta);
  char* to = out.data() + at;
  for (size_t row = 0; row < rows; ++row) {
    uint64_t offset = 0;
    if (validity.IsValid(row)) {
      T value;
      std::memcpy(&value, data + row * sizeof(T), sizeof(T));
      offset = static_cast<uint64_t>(static_cast<U>(static_cast<U>(value) - static_cast<U>(min)));
    }
    std::memcpy(to + row * delta, &offset, delta);  // the low bytes: the host is little-endian
  }
  return true;
}

// Narrows a column of an integer-like type; false (nothing written) for other types or no gain.
bool TryNarrow(const ColumnarColumn& column, const char* data, const Validity& validity, size_t rows, std::string& out) {
  switch (column.type_id) {
    case DUCKDB_TYPE_SMALLINT: return AppendNarrowed<int16_t>(data, validity, rows, out);
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_DATE: return AppendNarrowed<int32_t>(data, validity, rows, out);
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_TIME:
    case DUCKDB_TYPE_TIME_NS:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
    case DUCKDB_TYPE_TIMESTAMP_TZ: return AppendNarrowed<int64_t>(data, validity, rows, out);
    case DUCKDB_TYPE_HUGEINT: return AppendNarrowed<__int128>(data, validity, rows, out);
    case DUCKDB_TYPE_USMALLINT: return AppendNarrowed<uint16_t>(data, validity, rows, out);
    case DUCKDB_TYPE_UINTEGER: return AppendNarrowed<uint32_t>(data, validity, rows, out);
    case DUCKDB_TYPE_UBIGINT: return AppendNarrowed<uint64_t>(data, validity, rows, out);
    case DUCKDB_TYPE_UHUGEINT: return AppendNarrowed<unsigned __int128>(data, validity, rows, out);
    case DUCKDB_TYPE_DECIMAL:
    case DUCKDB_TYPE_ENUM:
      switch (column.width) {
        case 2: return column.type_id == DUCKDB_TYPE_ENUM ? AppendNarrowed<uint16_t>(data, validity, rows, out)
                                                          : AppendNarrowed<int16_t>(data, validity, rows, out);
        case 4: return column.type_id == DUCKDB_TYPE_ENUM ? AppendNarrowed<uint32_t>(data, validity, rows, out)
                                                          : AppendNarrowed<int32_t>(data, validity, rows, out);
        case 8: return AppendNarrowed<int64_t>(data, validity, rows, out);
        case 16: return AppendNarrowed<__int128>(data, validity, rows, out);
        default: return false;
      }
    default: return false;  // one byte wide, floats, UUIDs, TIME_TZ: deltas would not be smaller
  }
}

// The vector's bytes as they are, NULL slots zeroed: a payload carries no stale memory and equal
// data encodes to equal bytes.
void AppendPlain(const ColumnarColumn& column, const char* data, const Validity& validity, size_t rows, std::string& out) {
  const size_t at = out.size();
  out.append(data, rows * column.width);
  if (validity.all()) return;
  for (size_t row = 0; row < rows; ++row) {
    if (!validity.IsValid(row)) std::memset(out.data() + at + row * column.width, 0, column.width);
  }
}

// Lengths as narrow as the longest string allows, then the strings back to back.
void AppendStrings(const duckdb_string_t* data, const Validity& validity, size_t rows, std::string& out) {
  size_t longest = 0;
  size_t total = 0;
  for (size_t row = 0; row < rows; ++row) {
    if (!validity.IsValid(row)) continue;
    const size_t length = data[row].value.inlined.length;
    longest = std::max(longest, length);
    total += length;
  }
  const size_t width = longest <= 0xFF ? 1 : longest <= 0xFFFF ? 2 : 4;  // DuckDB's lengths are 32-bit
  out.push_back(static_cast<char>(width));
  size_t lengths_at = out.size();
  out.resize(lengths_at + rows * width, '\0');
  out.reserve(out.size() + total);
  for (size_t row = 0; row < rows; ++row) {
    if (!validity.IsValid(row)) continue;
    const std::string_view text = StringAt(data[row]);
    const uint32_t length = static_cast<uint32_t>(text.size());
    std::memcpy(out.data() + lengths_at + row * width, &length, width);
    out.append(text);
  }
}

void AppendColumn(const ColumnarColumn& column, duckdb_vector vector, size_t rows, bool narrow, std::string& out) {
  const Validity validity(duckdb_vector_get_validity(vector), rows);
  const auto* data = static_cast<const char*>(duckdb_vector_get_data(vector));
  const size_t flags_at = out.size();
  uint8_t flags = validity.all() ? 0 : internal::kColumnHasValidity;
  out.push_back('\0');
  if (!validity.all()) validity.AppendBitmap(rows, out);
  if (column.width == 0) {
    AppendStrings(reinterpret_cast<const duckdb_string_t*>(data), validity, rows, out);
  } else if (narrow && TryNarrow(column, data, validity, rows, out)) {
    flags |= internal::kColumnNarrowed;
  } else {
    AppendPlain(column, data, validity, rows, out);
  }
  out[flags_at] = static_cast<char>(flags);
}

// The header's description of one result column, checked against the storage DuckDB uses for it.
Result<ColumnarColumn> DescribeColumn(const std::string& name, duckdb_logical_type type) {
  const TypeInfo info = internal::DescribeType(type);
  ColumnarColumn column;
  column.name = name;
  column.type_id = static_cast<uint8_t>(duckdb_get_type_id(type));
  column.enum_values = info.enum_values;
  if (column.type_id == DUCKDB_TYPE_DECIMAL) {
    column.decimal_width = duckdb_decimal_width(type);
    column.decimal_scale = duckdb_decimal_scale(type);
  }
  const int width = info.TravelsBetweenMembers() ? internal::ValueWidth(column.type_id, column.decimal_width, column.enum_values.size()) : -1;
  if (width < 0) {
    return Unimplemented("column '" + name + "' (" + info.sql_name + ") cannot travel in the columnar format");
  }
  column.width = static_cast<uint8_t>(width);
  // The reader sizes values by the format's rule; DuckDB's own must agree or the bytes would be misread.
  duckdb_type storage = DUCKDB_TYPE_INVALID;
  if (column.type_id == DUCKDB_TYPE_DECIMAL) storage = duckdb_decimal_internal_type(type);
  if (column.type_id == DUCKDB_TYPE_ENUM) storage = duckdb_enum_internal_type(type);
  if (storage != DUCKDB_TYPE_INVALID) {
    const int storage_width = internal::ValueWidth(static_cast<uint8_t>(storage), 0, 0);
    if (storage_width != width) return Internal("DuckDB stores column '" + name + "' in another width than the columnar format");
  }
  return column;
}

}  // namespace

Result<size_t> EncodeColumnar(QueryResult& result, std::string& out, const ColumnarOptions& options) {
  duckdb_result& raw = result.handle().result;
  std::vector<ColumnarColumn> columns;
  for (size_t col = 0; col < result.column_count(); ++col) {
    OwnedLogicalType type(duckdb_column_logical_type(&raw, col));
    ASSIGN_OR_RETURN(ColumnarColumn column, DescribeColumn(result.column_name(col), type.type));
    columns.push_back(std::move(column));
  }
  internal::AppendColumnarHeader(columns, out);
  size_t rows = 0;
  while (duckdb_data_chunk raw_chunk = duckdb_fetch_chunk(raw)) {
    internal::OwnedDataChunk chunk(raw_chunk);
    const size_t size = duckdb_data_chunk_get_size(chunk.chunk);
    if (size == 0) continue;  // a row count of 0 is the end marker
    const uint32_t count = static_cast<uint32_t>(size);
    out.append(reinterpret_cast<const char*>(&count), sizeof(count));
    for (size_t col = 0; col < columns.size(); ++col) {
      AppendColumn(columns[col], duckdb_data_chunk_get_vector(chunk.chunk, col), size, options.narrow, out);
    }
    rows += size;
  }
  const uint32_t end = 0;
  out.append(reinterpret_cast<const char*>(&end), sizeof(end));
  return rows;
}

}  // namespace dram::engine
