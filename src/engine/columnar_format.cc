#include "engine/columnar_format.h"

#include <duckdb.h>

#include <limits>
#include <string>
#include <unordered_set>

namespace dram::engine::internal {

namespace {

// Far more than a partial result has; a corrupt count must not make the reader allocate for it.
constexpr uint32_t kMaxColumns = 1 << 16;
constexpr uint8_t kMaxDecimalWidth = 38;

// Reads a payload front to back; every read is checked against its end, so that a truncated or
// corrupt payload is an error and never a read past it.
class ByteReader {
 public:
  ByteReader(std::string_view data, size_t at) : data_(data), at_(at) {}
  size_t at() const { return at_; }
  size_t left() const { return data_.size() - at_; }
  bool Take(size_t bytes, const char*& from) {
    if (bytes > left()) return false;
    from = data_.data() + at_;
    at_ += bytes;
    return true;
  }
  bool U8(uint8_t& value) {
    const char* from = nullptr;
    if (!Take(1, from)) return false;
    value = static_cast<uint8_t>(*from);
    return true;
  }
  bool U32(uint32_t& value) {
    const char* from = nullptr;
    if (!Take(4, from)) return false;
    value = static_cast<uint32_t>(LoadUnsigned(from, 4));
    return true;
  }
  bool String(std::string& value) {
    uint32_t length = 0;
    const char* from = nullptr;
    if (!U32(length) || !Take(length, from)) return false;
    value.assign(from, length);
    return true;
  }

 private:
  std::string_view data_;
  size_t at_;
};

void AppendU32(std::string& out, uint32_t value) {
  char bytes[4];
  std::memcpy(bytes, &value, 4);  // little-endian: LoadUnsigned asserts the host is
  out.append(bytes, 4);
}

void AppendString(std::string& out, std::string_view text) {
  AppendU32(out, static_cast<uint32_t>(text.size()));
  out.append(text);
}

Status Truncated(std::string_view what) { return DataLoss("a columnar payload is truncated or corrupt", what); }

// An ENUM dictionary goes to duckdb_create_enum_type as C strings and becomes VARCHAR values.
Status CheckEnumValues(const std::vector<std::string>& values) {
  std::unordered_set<std::string_view> seen;
  for (const auto& value : values) {
    if (value.find('\0') != std::string::npos || !IsValidUtf8(value) || !seen.insert(value).second) {
      return DataLoss("a columnar payload's ENUM dictionary holds a duplicate, a NUL or invalid UTF-8");
    }
  }
  return Status::Ok();
}

Result<ColumnarColumn> ParseColumn(ByteReader& reader) {
  ColumnarColumn column;
  if (!reader.String(column.name) || !reader.U8(column.type_id)) return Truncated("column");
  // Names become DuckDB's column names (C strings) and JSON keys.
  if (column.name.find('\0') != std::string::npos || !IsValidUtf8(column.name)) {
    return DataLoss("a columnar payload's column name holds a NUL or invalid UTF-8");
  }
  if (column.type_id == DUCKDB_TYPE_DECIMAL) {
    if (!reader.U8(column.decimal_width) || !reader.U8(column.decimal_scale)) return Truncated("decimal");
    if (column.decimal_scale > column.decimal_width) return DataLoss("a columnar payload's DECIMAL has scale > width");
  } else if (column.type_id == DUCKDB_TYPE_ENUM) {
    uint32_t count = 0;
    if (!reader.U32(count) || count > reader.left() / 4) return Truncated("enum dictionary");
    column.enum_values.resize(count);
    for (auto& value : column.enum_values) {
      if (!reader.String(value)) return Truncated("enum dictionary");
    }
    RETURN_IF_ERROR(CheckEnumValues(column.enum_values));
  }
  const int width = ValueWidth(column.type_id, column.decimal_width, column.enum_values.size());
  if (width < 0) return DataLoss("a columnar payload names a type the format does not carry", std::to_string(column.type_id));
  column.width = static_cast<uint8_t>(width);
  return column;
}

// A chunk's validity bitmap: one bit per row, least significant first.
size_t BitmapBytes(size_t rows) { return (rows + 7) / 8; }

}  // namespace

int ValueWidth(uint8_t type_id, uint8_t decimal_width, size_t enum_size) {
  switch (type_id) {
    case DUCKDB_TYPE_VARCHAR: return 0;
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_UTINYINT: return 1;
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_USMALLINT: return 2;
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DATE: return 4;
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_TIME:
    case DUCKDB_TYPE_TIME_NS:
    case DUCKDB_TYPE_TIME_TZ:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
    case DUCKDB_TYPE_TIMESTAMP_TZ: return 8;
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_UUID: return 16;
    case DUCKDB_TYPE_DECIMAL:  // DuckDB's storage by width: int16 to 4 digits, int32 to 9, int64 to 18
      if (decimal_width < 1 || decimal_width > kMaxDecimalWidth) return -1;
      return decimal_width <= 4 ? 2 : decimal_width <= 9 ? 4 : decimal_width <= 18 ? 8 : 16;
    case DUCKDB_TYPE_ENUM:  // DuckDB's index type by dictionary size
      if (enum_size == 0 || enum_size > std::numeric_limits<uint32_t>::max()) return -1;
      return enum_size <= std::numeric_limits<uint8_t>::max() ? 1 : enum_size <= std::numeric_limits<uint16_t>::max() ? 2 : 4;
    default: return -1;
  }
}

void AppendColumnarHeader(const std::vector<ColumnarColumn>& columns, std::string& out) {
  out.append(kColumnarMagic, sizeof(kColumnarMagic));
  out.push_back(static_cast<char>(kColumnarVersion));
  AppendU32(out, static_cast<uint32_t>(columns.size()));
  for (const auto& column : columns) {
    AppendString(out, column.name);
    out.push_back(static_cast<char>(column.type_id));
    if (column.type_id == DUCKDB_TYPE_DECIMAL) {
      out.push_back(static_cast<char>(column.decimal_width));
      out.push_back(static_cast<char>(column.decimal_scale));
    } else if (column.type_id == DUCKDB_TYPE_ENUM) {
      AppendU32(out, static_cast<uint32_t>(column.enum_values.size()));
      for (const auto& value : column.enum_values) AppendString(out, value);
    }
  }
}

Result<ColumnarHeader> ParseColumnarHeader(std::string_view payload) {
  ByteReader reader(payload, 0);
  const char* magic = nullptr;
  uint8_t version = 0;
  if (!reader.Take(sizeof(kColumnarMagic), magic) || std::memcmp(magic, kColumnarMagic, sizeof(kColumnarMagic)) != 0) {
    return DataLoss("not a columnar payload (no DRMC magic)");
  }
  if (!reader.U8(version)) return Truncated("version");
  if (version != kColumnarVersion) return Unimplemented("a columnar payload of another version", std::to_string(version));
  uint32_t count = 0;
  if (!reader.U32(count)) return Truncated("column count");
  if (count == 0 || count > kMaxColumns) return DataLoss("a columnar payload's column count is out of range", std::to_string(count));
  ColumnarHeader header;
  header.columns.reserve(std::min<size_t>(count, reader.left() / 5));  // each column takes at least 5 bytes
  for (uint32_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(ColumnarColumn column, ParseColumn(reader));
    header.columns.push_back(std::move(column));
  }
  header.size = reader.at();
  return header;
}

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    // Eight ASCII bytes at a time: most partials' strings are ASCII.
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned char lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    size_t length;
    uint32_t min;
    uint32_t code;
    if ((lead & 0xE0) == 0xC0) {
      length = 2, min = 0x80, code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, min = 0x800, code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, min = 0x10000, code = lead & 0x07;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) < length) return false;
    for (size_t i = 1; i < length; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past Unicode's last are not UTF-8.
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    p += length;
  }
  return true;
}

ColumnarChunkReader::ColumnarChunkReader(std::string_view payload, const ColumnarHeader& header)
    : payload_(payload), header_(header), at_(header.size), slices_(header.columns.size()) {}

Result<size_t> ColumnarChunkReader::Next() {
  ByteReader reader(payload_, at_);
  uint32_t rows = 0;
  if (!reader.U32(rows)) return Truncated("chunk");
  if (rows == 0) {
    // The end marker, so that a payload cut at a chunk's end is not taken for a shorter one.
    if (reader.left() != 0) return DataLoss("a columnar payload has bytes after its end marker");
    at_ = reader.at();
    return size_t{0};
  }
  at_ = reader.at();
  for (size_t col = 0; col < header_.columns.size(); ++col) {
    RETURN_IF_ERROR(ReadColumn(header_.columns[col], rows, slices_[col]));
  }
  return size_t{rows};
}

Status ColumnarChunkReader::ReadColumn(const ColumnarColumn& column, size_t rows, ColumnarSlice& slice) {
  ByteReader reader(payload_, at_);
  slice = ColumnarSlice{};
  uint8_t flags = 0;
  if (!reader.U8(flags)) return Truncated("column flags");
  if ((flags & ~kColumnFlagsKnown) != 0 || ((flags & kColumnNarrowed) && column.width == 0)) {
    return DataLoss("a columnar payload's column flags are not known", std::to_string(flags));
  }
  const char* from = nullptr;
  if (flags & kColumnHasValidity) {
    if (!reader.Take(BitmapBytes(rows), from)) return Truncated("validity");
    slice.validity = reinterpret_cast<const uint8_t*>(from);
  }
  if (column.width == 0) {  // VARCHAR: lengths, then the bytes
    if (!reader.U8(slice.delta_width)) return Truncated("string lengths");
    if (slice.delta_width != 1 && slice.delta_width != 2 && slice.delta_width != 4) {
      return DataLoss("a columnar payload's string length width is not 1, 2 or 4");
    }
    if (!reader.Take(rows * slice.delta_width, slice.values)) return Truncated("string lengths");
    uint64_t total = 0;
    for (size_t row = 0; row < rows; ++row) total += LoadUnsigned(slice.values + row * slice.delta_width, slice.delta_width);
    if (!reader.Take(total, slice.bytes)) return Truncated("strings");
  } else if (flags & kColumnNarrowed) {
    if (!reader.U8(slice.delta_width)) return Truncated("delta width");
    if ((slice.delta_width != 1 && slice.delta_width != 2 && slice.delta_width != 4 && slice.delta_width != 8) ||
        slice.delta_width >= column.width) {
      return DataLoss("a columnar payload's delta width does not fit its column");
    }
    if (!reader.Take(column.width, slice.base) || !reader.Take(rows * slice.delta_width, slice.values)) {
      return Truncated("values");
    }
  } else if (!reader.Take(rows * column.width, slice.values)) {
    return Truncated("values");
  }
  at_ = reader.at();
  return Status::Ok();
}

}  // namespace dram::engine::internal
