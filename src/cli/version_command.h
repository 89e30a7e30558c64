#pragma once

#include <string>

namespace dram::cli {

// What `dram --version` prints: the version, the commit it was built from, the DuckDB library
// loaded at run time, and how it was built (type, compiler, flags that change behaviour).
std::string VersionText();

// The short hash of the commit the binary was built from, "-dirty" appended when tracked files
// were modified, "unknown" when built outside git. Defined in a file generated at every build
// (cmake/git_commit.cmake).
const char* GitCommit();

}  // namespace dram::cli
