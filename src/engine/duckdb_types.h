#pragma once

#include <duckdb.h>

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

// Describes a DuckDB logical type (borrowed, not destroyed here).
TypeInfo DescribeType(duckdb_logical_type type);

}  // namespace dram::engine::internal
