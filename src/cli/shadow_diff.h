#pragma once

namespace dram::cli {

// dram shadow-diff --live URL --candidate URL --requests FILE [flags]: replays recorded GET
// requests against two systems, compares the answers as data and writes a parity report.
// Exits 0 when the mismatch ratio is within --threshold, 1 above it, 2 on usage errors.
int ShadowDiffCommand(int argc, char** argv);

}  // namespace dram::cli
