#pragma once

#include <duckdb.h>

#include <functional>
#include <string>
#include <vector>

#include "dram/status.h"
#include "engine/result_encoder.h"

namespace dram::engine::internal {

// EncodeResult over data chunks from any source: columns `names` of `types` (borrowed); `next`
// gives each chunk in turn (borrowed until the next call), then nullptr. For rows DuckDB did not
// query (MergePartials), written exactly as a query's would be.
Result<size_t> EncodeChunks(const std::vector<std::string>& names, const std::vector<duckdb_logical_type>& types,
                            const std::function<duckdb_data_chunk()>& next, Format format, std::string& out);

}  // namespace dram::engine::internal
