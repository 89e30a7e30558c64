#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostics.h"

namespace dram::common {

// Reads the fields of one YAML mapping strictly: each accessor checks the field's type and
// records a diagnostic (with file:line:column) when it is wrong; Finish() reports every key that
// no accessor asked for as unknown. Borrows the node and the Diagnostics; not thread-safe.
class YamlMap {
 public:
  YamlMap(const YAML::Node& node, std::string file, Diagnostics& diagnostics);
  YamlMap(const YamlMap&) = delete;
  YamlMap& operator=(const YamlMap&) = delete;

  bool valid() const { return valid_; }
  const std::string& file() const { return file_; }

  // Each returns nullopt when the key is absent (adding "missing required field" when required)
  // or malformed (with a diagnostic saying what was expected).
  std::optional<std::string> String(std::string_view key, bool required = false);
  std::optional<int64_t> Int(std::string_view key, int64_t min, int64_t max, bool required = false);
  std::optional<double> Number(std::string_view key);
  std::optional<bool> Bool(std::string_view key);
  // A duration such as "250ms", "30s", "5m", "1h" or a plain number of seconds; in milliseconds.
  std::optional<int64_t> DurationMs(std::string_view key);
  // A byte size such as 1048576, "64KB", "256MB", "2GB".
  std::optional<int64_t> Bytes(std::string_view key);
  std::optional<std::vector<std::string>> StringList(std::string_view key);
  // The raw child node (marked as known); an undefined node when absent.
  YAML::Node Child(std::string_view key);

  // Records a diagnostic at `node` (or at this mapping when node has no position).
  void Error(const YAML::Node& node, std::string message);
  void Error(std::string message);
  // Reports unknown keys. Call once after reading every field.
  void Finish();

 private:
  YAML::Node Get(std::string_view key, bool required);

  YAML::Node node_;
  std::string file_;
  Diagnostics& diagnostics_;
  bool valid_;
  std::set<std::string, std::less<>> known_;
};

// Records a diagnostic located at `node`.
void AddDiagnostic(Diagnostics& diagnostics, const std::string& file, const YAML::Node& node, std::string message);

}  // namespace dram::common
