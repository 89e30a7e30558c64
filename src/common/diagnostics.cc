#include "common/diagnostics.h"

#include <algorithm>
#include <tuple>

namespace dram::common {

std::string Diagnostic::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

std::string Diagnostics::ToString() const {
  std::vector<Diagnostic> sorted = items_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
  });
  std::string out;
  for (const auto& d : sorted) out += d.ToString() + "\n";
  return out;
}

}  // namespace dram::common
