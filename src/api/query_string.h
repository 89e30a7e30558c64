#pragma once

#include <string_view>

#include "api/compiled_endpoint.h"
#include "dram/status.h"

namespace dram::api {

// Splits and percent-decodes `a=1&b=x%20y` ('+' is a space). Empty keys are skipped.
// Errors: InvalidArgument for malformed percent escapes.
Result<QueryParams> ParseQueryString(std::string_view query);

}  // namespace dram::api
