#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/endpoint_spec.h"

namespace dram::api {

// A SQL template endpoint's text made ready to prepare. Each {{param}} becomes
// `CAST($k AS <declared type>)` (k = declared index + 1): DuckDB then knows every parameter's type
// when it prepares the template at load, so `{{to}} + INTERVAL 1 DAY` or `{{state}} IS NULL`
// compile (and fail) at validate time instead of on every request. Trailing `;` and trailing
// `--` comment lines are dropped so the template can be wrapped as a subquery.
struct ExpandedTemplate {
  std::string sql;
  std::set<std::string> used;         // declared params the template names
  std::vector<std::string> unknown;   // names in {{…}} that are not declared params
};
ExpandedTemplate ExpandTemplate(const EndpointSpec& spec);

// The same for one text of an analysis (map or reduce), whose statements do not bind every
// declared param: placeholders are numbered in order of first use, continuing after those already
// in `slots`, and `slots` records which declared param each one binds (a param used again reuses
// its placeholder). Expanding the map and then the reduce into one `slots` numbers a statement
// holding both; a fresh `slots` numbers a statement of its own.
ExpandedTemplate ExpandTemplateText(std::string_view text, const std::vector<ParamSpec>& params, std::vector<int>& slots);

// "(\n<sql>\n) AS q": the newlines end a `--` comment the template may still end with, so the
// closing parenthesis is never commented out.
std::string WrapTemplate(std::string_view sql);

// The DuckDB type a param of this type is bound as ("BIGINT", "DATE[]", …).
std::string SqlTypeOf(const ParamSpec& param);

}  // namespace dram::api
