#pragma once

#include <map>
#include <string>
#include <vector>

namespace dram::testing {

// Runs a command, returning its exit code and (combined) output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});

}  // namespace dram::testing
