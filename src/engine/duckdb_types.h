#pragma once

#include <duckdb.h>

#include "engine/type_info.h"

namespace dram::engine::internal {

// Describes a DuckDB logical type (borrowed, not destroyed here).
TypeInfo DescribeType(duckdb_logical_type type);

}  // namespace dram::engine::internal
