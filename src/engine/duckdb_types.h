#pragma once

#include <duckdb.h>

#include <string_view>

#include "engine/type_info.h"

namespace dram::engine::internal {

// Owns a duckdb_logical_type (the C API hands out types the caller must destroy).
struct OwnedLogicalType {
  duckdb_logical_type type;
  explicit OwnedLogicalType(duckdb_logical_type t) : type(t) {}
  ~OwnedLogicalType() { duckdb_destroy_logical_type(&type); }
  OwnedLogicalType(const OwnedLogicalType&) = delete;
  OwnedLogicalType& operator=(const OwnedLogicalType&) = delete;
};

// Owns a duckdb_data_chunk (as a result's fetch hands them out, to be destroyed by the caller).
struct OwnedDataChunk {
  duckdb_data_chunk chunk;
  explicit OwnedDataChunk(duckdb_data_chunk c) : chunk(c) {}
  ~OwnedDataChunk() { duckdb_destroy_data_chunk(&chunk); }
  OwnedDataChunk(const OwnedDataChunk&) = delete;
  OwnedDataChunk& operator=(const OwnedDataChunk&) = delete;
};

// A VARCHAR or BLOB value in a vector: inlined in its slot up to 12 bytes, else pointed to.
inline std::string_view StringAt(const duckdb_string_t& s) {
  const uint32_t length = s.value.inlined.length;
  if (length <= 12) return {s.value.inlined.inlined, length};
  return {s.value.pointer.ptr, length};
}

// Describes a DuckDB logical type (borrowed, not destroyed here).
TypeInfo DescribeType(duckdb_logical_type type);

}  // namespace dram::engine::internal
