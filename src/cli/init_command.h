#pragma once

namespace dram::cli {

// `dram init DIR --from URI [--tenant-column COL]`: inspects the data at URI and writes a
// project into DIR (created; refused when it exists and is not empty). Returns the exit code.
int InitCommand(int argc, char** argv);

}  // namespace dram::cli
