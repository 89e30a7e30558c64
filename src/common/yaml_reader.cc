#include "common/yaml_reader.h"

#include <charconv>
#include <cmath>

#include "common/units.h"

namespace dram::common {

void AddDiagnostic(Diagnostics& diagnostics, const std::string& file, const YAML::Node& node, std::string message) {
  YAML::Mark mark = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
  int line = mark.line >= 0 ? mark.line + 1 : 0;
  int column = mark.column >= 0 ? mark.column + 1 : 0;
  diagnostics.Add(file, line, column, std::move(message));
}

YamlMap::YamlMap(const YAML::Node& node, std::string file, Diagnostics& diagnostics)
    : node_(node), file_(std::move(file)), diagnostics_(diagnostics), valid_(node.IsMap()) {
  if (!valid_) AddDiagnostic(diagnostics_, file_, node_, "expected a mapping of keys to values");
}

void YamlMap::Error(const YAML::Node& node, std::string message) {
  AddDiagnostic(diagnostics_, file_, node.IsDefined() && node.Mark().line >= 0 ? node : node_, std::move(message));
}

void YamlMap::Error(std::string message) { AddDiagnostic(diagnostics_, file_, node_, std::move(message)); }

YAML::Node YamlMap::Get(std::string_view key, bool required) {
  known_.emplace(key);
  if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
  YAML::Node value = node_[std::string(key)];
  if (!value.IsDefined() || value.IsNull()) {
    if (required) Error("missing required field '" + std::string(key) + "'");
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return value;
}

YAML::Node YamlMap::Child(std::string_view key) { return Get(key, false); }

std::optional<std::string> YamlMap::String(std::string_view key, bool required) {
  YAML::Node value = Get(key, required);
  if (!value.IsDefined()) return std::nullopt;
  if (!value.IsScalar()) {
    Error(value, "'" + std::string(key) + "' must be a string");
    return std::nullopt;
  }
  return value.Scalar();
}

std::optional<int64_t> YamlMap::Int(std::string_view key, int64_t min, int64_t max, bool required) {
  YAML::Node value = Get(key, required);
  if (!value.IsDefined()) return std::nullopt;
  int64_t number = 0;
  const std::string& text = value.IsScalar() ? value.Scalar() : std::string();
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (!value.IsScalar() || ec != std::errc() || end != text.data() + text.size()) {
    Error(value, "'" + std::string(key) + "' must be an integer");
    return std::nullopt;
  }
  if (number < min || number > max) {
    Error(value, "'" + std::string(key) + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return number;
}

std::optional<double> YamlMap::Number(std::string_view key) {
  YAML::Node value = Get(key, false);
  if (!value.IsDefined()) return std::nullopt;
  double number = 0;
  const std::string& text = value.IsScalar() ? value.Scalar() : std::string();
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (!value.IsScalar() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(number)) {
    Error(value, "'" + std::string(key) + "' must be a number");
    return std::nullopt;
  }
  return number;
}

std::optional<bool> YamlMap::Bool(std::string_view key) {
  YAML::Node value = Get(key, false);
  if (!value.IsDefined()) return std::nullopt;
  if (value.IsScalar() && (value.Scalar() == "true" || value.Scalar() == "false")) return value.Scalar() == "true";
  Error(value, "'" + std::string(key) + "' must be true or false");
  return std::nullopt;
}


std::optional<int64_t> YamlMap::DurationMs(std::string_view key) {
  YAML::Node value = Get(key, false);
  if (!value.IsDefined()) return std::nullopt;
  auto parsed = value.IsScalar()
                    ? ParseDurationMs(value.Scalar())
                    : std::nullopt;
  if (!parsed) Error(value, "'" + std::string(key) + "' must be a duration like 500ms, 30s, 5m, 1h or 1d");
  return parsed;
}

std::optional<int64_t> YamlMap::Bytes(std::string_view key) {
  YAML::Node value = Get(key, false);
  if (!value.IsDefined()) return std::nullopt;
  auto parsed = value.IsScalar() ? ParseBytes(value.Scalar()) : std::nullopt;
  if (!parsed) Error(value, "'" + std::string(key) + "' must be a size like 1048576, 64KB, 256MB or 2GB (KB = 1024)");
  return parsed;
}

std::optional<std::vector<std::string>> YamlMap::StringList(std::string_view key) {
  YAML::Node value = Get(key, false);
  if (!value.IsDefined()) return std::nullopt;
  if (value.IsScalar()) return std::vector<std::string>{value.Scalar()};
  if (!value.IsSequence()) {
    Error(value, "'" + std::string(key) + "' must be a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> items;
  for (const auto& item : value) {
    if (!item.IsScalar()) {
      Error(item, "'" + std::string(key) + "' must be a list of strings");
      return std::nullopt;
    }
    items.push_back(item.Scalar());
  }
  return items;
}

void YamlMap::Finish() {
  if (!valid_) return;
  for (const auto& entry : node_) {
    const std::string& key = entry.first.Scalar();
    if (!known_.contains(key)) {
      std::string expected;
      for (const auto& k : known_) expected += (expected.empty() ? "" : ", ") + k;
      Error(entry.first, "unknown key '" + key + "' (expected one of: " + expected + ")");
    }
  }
}

}  // namespace dram::common
