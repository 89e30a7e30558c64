// Fuzzes query-string decoding and typed param parsing (every type, scalar and list).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "api/param_parser.h"
#include "api/query_string.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto query = dram::api::ParseQueryString(input);
  if (!query.ok()) return 0;
  static const dram::api::ParamType kTypes[] = {
      dram::api::ParamType::kString, dram::api::ParamType::kInteger, dram::api::ParamType::kNumber,
      dram::api::ParamType::kBoolean, dram::api::ParamType::kDate, dram::api::ParamType::kTimestamp,
      dram::api::ParamType::kEnum};
  for (const auto& [key, value] : *query) {
    for (auto type : kTypes) {
      for (bool is_list : {false, true}) {
        dram::api::ParamSpec param;
        param.name = "p";
        param.type = type;
        param.is_list = is_list;
        param.enum_values = {"a", "b"};
        param.value_aliases = {{"x", "a"}};
        param.min = -5;
        param.max = 1e9;
        std::vector<std::string> texts = {value, key};
        auto parsed = dram::api::ParseParamValues(param, texts);
        // A parse error must never quote the value back (messages reach clients). The fixed
        // wording itself ("a timestamp (YYYY-MM-DD…") may contain the fuzzed text, so compare
        // with the message for an input that cannot appear in it.
        if (!parsed.ok() && value.size() > 8 && parsed.status().message().find(value) != std::string::npos) {
          std::vector<std::string> neutral = {std::string("\x01"), key};
          auto reference = dram::api::ParseParamValues(param, neutral);
          if (reference.ok() || reference.status().message().find(value) == std::string::npos) __builtin_trap();
        }
      }
    }
  }
  return 0;
}
