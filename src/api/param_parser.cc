#include "api/param_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/civil_time.h"

namespace dram::api {

namespace {

Status Invalid(const ParamSpec& param, std::string_view expected) {
  return InvalidArgument("parameter '" + param.name + "' must be " + std::string(expected));
}

std::string Expected(const ParamSpec& param) {
  switch (param.type) {
    case ParamType::kString: return "a string of at most " + std::to_string(param.max_length) + " bytes";
    case ParamType::kInteger: return "an integer";
    case ParamType::kNumber: return "a number";
    case ParamType::kBoolean: return "true or false";
    case ParamType::kDate: return "a date (YYYY-MM-DD)";
    case ParamType::kTimestamp: return "a timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM])";
    case ParamType::kEnum: {
      std::string out = "one of: ";
      for (size_t i = 0; i < param.enum_values.size(); ++i) out += (i ? ", " : "") + param.enum_values[i];
      return out;
    }
  }
  return "valid";
}

Result<Value> ParseOne(const ParamSpec& param, std::string_view text) {
  auto alias = param.value_aliases.find(std::string(text));
  if (alias != param.value_aliases.end()) text = alias->second;
  if (param.type == ParamType::kEnum) {
    if (std::find(param.enum_values.begin(), param.enum_values.end(), text) == param.enum_values.end()) {
      return Invalid(param, Expected(param));
    }
    return Value(std::string(text));
  }
  if (param.type == ParamType::kString && text.size() > param.max_length) return Invalid(param, Expected(param));
  auto value = ParseScalar(param.type, text);
  if (!value.ok()) return Invalid(param, Expected(param));
  double number = value->is<int64_t>() ? static_cast<double>(value->as<int64_t>())
                  : value->is<double>() ? value->as<double>()
                                        : 0;
  if (value->is<int64_t>() || value->is<double>()) {
    if (param.min && number < *param.min) return Invalid(param, "at least " + std::to_string(static_cast<int64_t>(*param.min)));
    if (param.max && number > *param.max) return Invalid(param, "at most " + std::to_string(static_cast<int64_t>(*param.max)));
  }
  return value;
}

}  // namespace

Result<Value> ParseScalar(ParamType type, std::string_view text) {
  switch (type) {
    case ParamType::kString:
    case ParamType::kEnum: return Value(std::string(text));
    case ParamType::kInteger: {
      int64_t number = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return InvalidArgument("expected an integer");
      return Value(number);
    }
    case ParamType::kNumber: {
      double number = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(number)) {
        return InvalidArgument("expected a number");
      }
      return Value(number);
    }
    case ParamType::kBoolean:
      if (text == "true" || text == "1") return Value(true);
      if (text == "false" || text == "0") return Value(false);
      return InvalidArgument("expected true or false");
    case ParamType::kDate: {
      auto days = common::ParseIsoDate(text);
      if (!days) return InvalidArgument("expected a date");
      return Value(Date{static_cast<int32_t>(*days)});
    }
    case ParamType::kTimestamp: {
      auto micros = common::ParseIsoTimestamp(text);
      if (!micros) return InvalidArgument("expected a timestamp");
      return Value(Timestamp{*micros});
    }
  }
  return InvalidArgument("unknown type");
}

Result<Value> ParseParamValues(const ParamSpec& param, std::span<const std::string> texts) {
  if (!param.is_list) {
    if (texts.size() != 1) return InvalidArgument("parameter '" + param.name + "' must be given once");
    return ParseOne(param, texts[0]);
  }
  Value::List items;
  for (const std::string& text : texts) {
    size_t start = 0;
    while (start <= text.size()) {
      size_t comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      // An empty item (`?ids=`, `?ids=a,,b`) would silently match nothing, or rows with ''.
      if (comma == start) return InvalidArgument("parameter '" + param.name + "' has an empty item; leave the parameter out to not filter");
      if (items.size() >= param.max_items) {
        return InvalidArgument("parameter '" + param.name + "' takes at most " + std::to_string(param.max_items) + " values");
      }
      ASSIGN_OR_RETURN(Value item, ParseOne(param, std::string_view(text).substr(start, comma - start)));
      items.push_back(std::move(item));
      start = comma + 1;
    }
  }
  return Value(std::move(items));
}

}  // namespace dram::api
