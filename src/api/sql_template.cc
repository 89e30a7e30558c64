#include "api/sql_template.h"

#include <algorithm>

namespace dram::api {

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Drops trailing whitespace, `;` and whole `--` comment lines, which cannot stand inside a
// subquery. A comment after code on the same line is left: the wrapped query then fails to
// prepare at validate time, with DuckDB's message.
std::string TrimTail(std::string sql) {
  while (true) {
    while (!sql.empty() && IsSpace(sql.back())) sql.pop_back();
    if (!sql.empty() && sql.back() == ';') {
      sql.pop_back();
      continue;
    }
    size_t line_start = sql.find_last_of('\n');
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    size_t code = sql.find_first_not_of(" \t", line_start);
    if (code != std::string::npos && sql.compare(code, 2, "--") == 0 && line_start > 0) {
      sql.resize(line_start);
      continue;
    }
    return sql;
  }
}

}  // namespace

std::string SqlTypeOf(const ParamSpec& param) {
  std::string type;
  switch (param.type) {
    case ParamType::kString:
    case ParamType::kEnum: type = "VARCHAR"; break;
    case ParamType::kInteger: type = "BIGINT"; break;
    case ParamType::kNumber: type = "DOUBLE"; break;
    case ParamType::kBoolean: type = "BOOLEAN"; break;
    case ParamType::kDate: type = "DATE"; break;
    case ParamType::kTimestamp: type = "TIMESTAMP"; break;
  }
  return param.is_list ? type + "[]" : type;
}

namespace {

// Expands every {{name}}; `placeholder` gives the text for a declared param (by index).
template <typename Placeholder>
ExpandedTemplate Expand(std::string_view text, const std::vector<ParamSpec>& params, Placeholder placeholder) {
  ExpandedTemplate out;
  const std::string sql = TrimTail(std::string(text));
  size_t pos = 0;
  while (pos < sql.size()) {
    size_t open = sql.find("{{", pos);
    size_t close = open == std::string::npos ? std::string::npos : sql.find("}}", open);
    if (close == std::string::npos) {
      out.sql.append(sql, pos);
      break;
    }
    out.sql.append(sql, pos, open - pos);
    std::string name = sql.substr(open + 2, close - open - 2);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    auto found = std::find_if(params.begin(), params.end(), [&](const ParamSpec& p) { return p.name == name; });
    if (found == params.end()) {
      out.unknown.push_back(name);
    } else {
      out.used.insert(name);
      const int index = static_cast<int>(found - params.begin());
      out.sql += "CAST($" + std::to_string(placeholder(index)) + " AS " + SqlTypeOf(*found) + ")";
    }
    pos = close + 2;
  }
  return out;
}

}  // namespace

ExpandedTemplate ExpandTemplate(const EndpointSpec& spec) {
  return Expand(spec.sql, spec.params, [](int index) { return index + 1; });
}

ExpandedTemplate ExpandTemplateText(std::string_view text, const std::vector<ParamSpec>& params, std::vector<int>& slots) {
  return Expand(text, params, [&](int index) {
    auto found = std::find(slots.begin(), slots.end(), index);
    if (found == slots.end()) found = slots.insert(slots.end(), index);
    return static_cast<int>(found - slots.begin()) + 1;
  });
}

std::string WrapTemplate(std::string_view sql) {
  std::string out = "(\n";
  out += sql;
  out += "\n) AS q";
  return out;
}

}  // namespace dram::api
