#include "engine/library_version.h"

#include <duckdb.h>

namespace dram::engine {

std::string DuckDbLibraryVersion() {
  const char* version = duckdb_library_version();
  return version ? version : "unknown";
}

}  // namespace dram::engine
