#pragma once

#include <string>
#include <vector>

namespace dram::common {

// One problem found in a configuration file, with where it is (1-based line and column).
struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  // "file:line:column: message"
  std::string ToString() const;
};

// Collects every problem of a whole project so that all of them are reported in one pass.
// Not thread-safe.
class Diagnostics {
 public:
  void Add(std::string file, int line, int column, std::string message) {
    items_.push_back({std::move(file), line, column, std::move(message)});
  }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  // Every diagnostic, one per line, sorted by file and position.
  std::string ToString() const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace dram::common
