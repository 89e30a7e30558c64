#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dram/status.h"

namespace dram::engine::internal {

// The layout of the columnar wire format (docs/columnar_format.md), shared by its encoder
// (columnar_codec.cc) and its reader (columnar_table_function.cc). Nothing here includes duckdb.h:
// type ids are DuckDB's DUCKDB_TYPE values as bytes.

inline constexpr char kColumnarMagic[4] = {'D', 'R', 'M', 'C'};
inline constexpr uint8_t kColumnarVersion = 1;

// The flags byte that opens each column of each chunk.
inline constexpr uint8_t kColumnHasValidity = 1;  // a validity bitmap follows
inline constexpr uint8_t kColumnNarrowed = 2;     // fixed-width values as a base plus narrow deltas
inline constexpr uint8_t kColumnFlagsKnown = kColumnHasValidity | kColumnNarrowed;

// One column as the header describes it.
struct ColumnarColumn {
  std::string name;
  uint8_t type_id = 0;  // DUCKDB_TYPE
  uint8_t decimal_width = 0;
  uint8_t decimal_scale = 0;
  std::vector<std::string> enum_values;
  // Bytes per value in DuckDB's vectors, derived from the above; 0 for VARCHAR.
  uint8_t width = 0;
};

struct ColumnarHeader {
  std::vector<ColumnarColumn> columns;
  size_t size = 0;  // bytes from the payload's start to its first chunk
};

// The bytes per value of a type in DuckDB's vectors: 0 for VARCHAR, -1 for a type the format does
// not carry. DECIMAL by its width (2, 4, 8 or 16 bytes), ENUM by its dictionary's size (1, 2 or 4).
int ValueWidth(uint8_t type_id, uint8_t decimal_width, size_t enum_size);

// Appends the header for `columns` (whose widths must be set).
void AppendColumnarHeader(const std::vector<ColumnarColumn>& columns, std::string& out);

// Reads and checks a payload's header. Errors: DataLoss when it is truncated or malformed (bad
// magic, a type the format does not carry, an ENUM dictionary with a duplicate, a NUL or invalid
// UTF-8), Unimplemented for another version of the format.
Result<ColumnarHeader> ParseColumnarHeader(std::string_view payload);

// Whether `text` is valid UTF-8 (DuckDB's VARCHAR vectors must hold nothing else).
bool IsValidUtf8(std::string_view text);

// One column of one chunk, located in the payload (pointers into it, checked against its bounds).
struct ColumnarSlice {
  const uint8_t* validity = nullptr;  // one bit per row, 1 = valid; nullptr: every row is valid
  // Fixed-width values: plain (rows × width bytes) or, when delta_width is set, base (width bytes)
  // plus rows × delta_width bytes. VARCHAR: rows lengths of delta_width bytes, then `bytes`.
  uint8_t delta_width = 0;
  const char* base = nullptr;
  const char* values = nullptr;
  const char* bytes = nullptr;

  bool IsValid(size_t row) const { return !validity || ((validity[row >> 3] >> (row & 7)) & 1); }
};

// Walks the chunks of one payload whose header is `header`; each chunk is checked against the
// payload's bounds before its slices are handed out. Borrows both.
class ColumnarChunkReader {
 public:
  ColumnarChunkReader(std::string_view payload, const ColumnarHeader& header);

  // Moves to the next chunk: its row count, or 0 at the payload's end marker. Errors: DataLoss for
  // a truncated or malformed chunk, or bytes after the end marker.
  Result<size_t> Next();
  const ColumnarSlice& slice(size_t col) const { return slices_[col]; }

 private:
  Status ReadColumn(const ColumnarColumn& column, size_t rows, ColumnarSlice& slice);

  std::string_view payload_;
  const ColumnarHeader& header_;
  size_t at_;
  std::vector<ColumnarSlice> slices_;
};

// A little-endian two's complement integer of 1, 2, 4, 8 or 16 bytes from unaligned memory.
inline __int128 LoadSigned(const char* from, size_t bytes) {
  static_assert(std::endian::native == std::endian::little, "the format is DuckDB's in-memory layout, little-endian");
  switch (bytes) {
    case 1: { int8_t v; std::memcpy(&v, from, 1); return v; }
    case 2: { int16_t v; std::memcpy(&v, from, 2); return v; }
    case 4: { int32_t v; std::memcpy(&v, from, 4); return v; }
    case 8: { int64_t v; std::memcpy(&v, from, 8); return v; }
    default: { __int128 v; std::memcpy(&v, from, 16); return v; }
  }
}

// 10^width: a DECIMAL(width, s)'s unscaled values are below it in magnitude.
inline unsigned __int128 DecimalLimit(int width) {
  unsigned __int128 limit = 1;
  for (int i = 0; i < width; ++i) limit *= 10;
  return limit;
}

// A little-endian unsigned integer of 1, 2, 4 or 8 bytes from unaligned memory.
inline uint64_t LoadUnsigned(const char* from, size_t bytes) {
  static_assert(std::endian::native == std::endian::little, "the format is DuckDB's in-memory layout, little-endian");
  uint64_t value = 0;
  std::memcpy(&value, from, bytes);
  return value;
}

}  // namespace dram::engine::internal
