#pragma once

#include <cstddef>
#include <string>

#include "dram/status.h"
#include "engine/query_result.h"

namespace dram::engine {

struct ColumnarOptions {
  // Integer-like columns (integers, DECIMAL, DATE, TIME, TIMESTAMP, ENUM) as a base and deltas of
  // 1, 2, 4 or 8 bytes when that is shorter than their width. Off: every value as DuckDB holds it.
  bool narrow = true;
};

// Encodes every row of `result` in dram's columnar wire format, appending to `out`: the typed,
// binary form of a partial result for cluster members to send each other (read back by
// engine::ColumnarTableFunction). Walks DuckDB's data chunks and copies their vectors' bytes.
//
// The format (docs/columnar_format.md has it byte by byte), all integers little-endian:
//   header  "DRMC", version (u8, 1), column count (u32), per column: name (u32 length + bytes),
//           DUCKDB_TYPE id (u8), then DECIMAL: width, scale (u8 each); ENUM: its dictionary
//           (u32 count, then each value as u32 length + bytes).
//   chunks  row count (u32, > 0), then per column: flags (u8: 1 = a validity bitmap follows,
//           2 = narrowed), the bitmap (one bit per row, least significant first, 1 = valid), then
//             fixed-width types: rows × width bytes as in DuckDB's vectors (BOOLEAN, integers of
//             every width incl. HUGEINT/UHUGEINT, FLOAT/DOUBLE, DATE, TIME[_NS|_TZ], TIMESTAMP
//             [_S|_MS|_NS|_TZ], DECIMAL as its storage integer, ENUM as its index, UUID); narrowed,
//             a delta width (u8: 1, 2, 4 or 8), a base (width bytes) and rows × delta bytes, each
//             value being base + delta modulo 2^(8 × width);
//             VARCHAR: a length width (u8: 1, 2 or 4), rows lengths, then the bytes back to back.
//           NULL slots hold zeros (length 0, delta 0).
//   end     a row count of 0, the payload's last four bytes.
// Returns the number of rows; on error, `out` is as it was. Errors: Unimplemented for a column type
// the format does not carry: those TypeInfo::TravelsBetweenMembers rejects (BLOB, BIT, INTERVAL, LIST,
// ARRAY, STRUCT, MAP, UNION) and BIGNUM (variable width); Internal if DuckDB stores a DECIMAL or
// ENUM in another width than the format's rule (a DuckDB upgrade that changed it).
Result<size_t> EncodeColumnar(QueryResult& result, std::string& out, const ColumnarOptions& options = {});

}  // namespace dram::engine
