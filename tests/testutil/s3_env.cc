#include "testutil/s3_env.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace dram::testing {

const std::map<std::string, std::string>& S3TestEnvironment() {
  static const std::map<std::string, std::string> values = [] {
    std::map<std::string, std::string> out;
    const char* path = std::getenv("DRAM_TEST_S3_ENV");
    std::ifstream in(path ? path : "");
    if (!in) {
      std::fprintf(stderr, "DRAM_TEST_S3_ENV does not name the S3 server's env file; run through ctest\n");
      std::abort();
    }
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("export ")) line.erase(0, 7);
      size_t equals = line.find('=');
      if (equals != std::string::npos) out[line.substr(0, equals)] = line.substr(equals + 1);
    }
    return out;
  }();
  return values;
}

store::EnvLookup S3TestLookup(std::map<std::string, std::string> overrides) {
  std::map<std::string, std::string> values = S3TestEnvironment();
  for (auto& [name, value] : overrides) values[name] = value;
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

std::string S3TestUri(const std::string& prefix) {
  return "s3://" + S3TestEnvironment().at("DRAM_TEST_BUCKET") + "/" + prefix;
}

}  // namespace dram::testing
