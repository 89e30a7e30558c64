#pragma once

namespace dram::cli {

// `dram report [DIR] [--from URI] [--since WHEN] [--until WHEN] [--by …] [--format …] [--price-per-query X]
// [--price-per-tb X]`: sums the usage log under `_usage/` of a store. Returns the exit code.
int ReportCommand(int argc, char** argv);

}  // namespace dram::cli
