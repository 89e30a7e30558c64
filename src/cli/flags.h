#pragma once

#include <map>
#include <string>
#include <vector>

namespace dram::cli {

// Command-line flags: positionals, --name value / --name=value for the `known` names, --help.
struct Flags {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  bool help = false;
  std::string error;  // set on an unknown flag or a flag without its value
};

// `switches` are flags without a value (--force): present means "true".
Flags ParseFlags(int argc, char** argv, int first, const std::vector<std::string>& known,
                 const std::vector<std::string>& switches = {});

// "a,b,,c" → {"a", "b", "c"}.
std::vector<std::string> SplitCommas(const std::string& text);

}  // namespace dram::cli
