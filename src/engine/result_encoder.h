#pragma once

#include <string>
#include <vector>

#include "dram/status.h"
#include "engine/query_result.h"

namespace dram::engine {

// kCsvExact: CSV in which an empty string is written as "" and NULL as an empty field (plain CSV
// writes both as an empty field), so that DuckDB's read_csv (allow_quoted_nulls = false) reads
// back every value as it was: the wire format between cluster members.
enum class Format { kJson, kNdjson, kCsv, kCsvExact };

// Encodes every row of `result`, appending to `out`, by walking DuckDB's data chunks and vectors
// directly (no per-value conversion calls):
//   kJson   → [{"col":value,…},…]
//   kNdjson → {"col":value,…}\n per row
//   kCsv    → RFC 4180: a header line, then one line per row; NULL is an empty field.
// Types: integers of every width, HUGEINT and DECIMAL exactly (as JSON numbers), floats (NaN and
// infinities become null in JSON and NaN/Infinity/-Infinity in CSV), DATE/TIME/TIMESTAMP[_TZ] as
// ISO 8601, INTERVAL as an ISO 8601 duration, UUID, ENUM, BLOB as base64, and STRUCT, LIST, ARRAY,
// MAP (a JSON object keyed by the key's text) and UNION as native JSON (in CSV, as a JSON text field).
// Returns the number of rows written. Errors: Unimplemented for a column type it cannot encode.
Result<size_t> EncodeResult(QueryResult& result, Format format, std::string& out);

// Every value of one column as bare text (the CSV form; NULL is ""), for small internal results
// such as file listings and counts. Consumes the result. Errors: OutOfRange for a bad column,
// Unimplemented for a type the encoders cannot write.
Result<std::vector<std::string>> ColumnText(QueryResult& result, size_t column);

}  // namespace dram::engine
