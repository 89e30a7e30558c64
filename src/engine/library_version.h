#pragma once

#include <string>

namespace dram::engine {

// The version of the DuckDB library loaded at run time (e.g. "v1.1.3"), asked of the library
// itself: libduckdb.so is shipped beside the binary and could differ from the header built against.
std::string DuckDbLibraryVersion();

}  // namespace dram::engine
