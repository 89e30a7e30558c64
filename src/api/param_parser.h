#pragma once

#include <span>
#include <string>
#include <string_view>

#include "api/endpoint_spec.h"
#include "dram/status.h"
#include "dram/value.h"

namespace dram::api {

// Turns a param's raw request texts into a typed Value: a scalar from one text, or a List from
// several texts (repeated `?p=a&p=b`) or comma-separated ones (`?p=a,b`). Applies value aliases,
// enum membership, integer/number bounds, string length and list size limits.
// Errors: InvalidArgument naming the param and what was expected, never echoing the value.
Result<Value> ParseParamValues(const ParamSpec& param, std::span<const std::string> texts);

// Parses one scalar text of `type`; the error message describes the expected form.
Result<Value> ParseScalar(ParamType type, std::string_view text);

}  // namespace dram::api
