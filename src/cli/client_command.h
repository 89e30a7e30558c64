#pragma once

namespace dram::cli {

// `dram client query TARGET --members HOST:PORT,… [--zone Z] [--timeout 10s] [--no-hedge]
// [--verbose]`: asks a cluster through the smart client (include/dram/client.h) and prints the
// answer. Returns the exit code.
int ClientCommand(int argc, char** argv);

}  // namespace dram::cli
