#include "cli/flags.h"

#include <algorithm>

namespace dram::cli {

Flags ParseFlags(int argc, char** argv, int first, const std::vector<std::string>& known,
                 const std::vector<std::string>& switches) {
  Flags flags;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
    } else if (arg.rfind("--", 0) == 0) {
      std::string name = arg.substr(2);
      std::string value;
      size_t equals = name.find('=');
      if (equals == std::string::npos && std::find(switches.begin(), switches.end(), name) != switches.end()) {
        flags.values[name] = "true";
        continue;
      }
      if (equals != std::string::npos) {
        value = name.substr(equals + 1);
        name = name.substr(0, equals);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        flags.error = "flag --" + name + " needs a value";
        return flags;
      }
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        flags.error = "unknown flag --" + name;
        return flags;
      }
      flags.values[name] = value;
    } else {
      flags.positional.push_back(arg);
    }
  }
  return flags;
}


std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace dram::cli
