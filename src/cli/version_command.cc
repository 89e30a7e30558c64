#include "cli/version_command.h"

#include "engine/library_version.h"

// Set by src/cli/CMakeLists.txt from the CMake project and configuration.
#ifndef DRAM_VERSION
#error "DRAM_VERSION must be defined by the build"
#endif

namespace dram::cli {

std::string VersionText() {
  std::string text = "dram " DRAM_VERSION "\n";
  text += std::string("commit: ") + GitCommit() + "\n";
  text += "duckdb: " + engine::DuckDbLibraryVersion() + "\n";
  text += "build: " DRAM_BUILD_TYPE ", " DRAM_COMPILER "\n";
  text += "flags: " DRAM_BUILD_FLAGS "\n";
  return text;
}

}  // namespace dram::cli
