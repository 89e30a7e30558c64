#pragma once

#include <string>
#include <string_view>

namespace dram::common {

// "name" with embedded double quotes doubled: a SQL identifier that can be any string.
std::string QuoteIdentifier(std::string_view name);

// 'text' with embedded single quotes doubled: a SQL string literal. Only for text dram itself
// controls (file paths from configuration); request values are always bound, never quoted in.
std::string QuoteLiteral(std::string_view text);

}  // namespace dram::common
