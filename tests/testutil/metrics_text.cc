#include "testutil/metrics_text.h"

#include <cstdlib>

namespace dram::testing {

std::optional<double> SampleValue(const std::string& metrics_text, const std::string& series) {
  const std::string prefix = series + " ";
  for (size_t start = 0; start < metrics_text.size();) {
    size_t end = metrics_text.find('\n', start);
    if (end == std::string::npos) end = metrics_text.size();
    if (metrics_text.compare(start, prefix.size(), prefix) == 0) {
      return std::strtod(metrics_text.substr(start + prefix.size(), end - start - prefix.size()).c_str(), nullptr);
    }
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace dram::testing
