#include "common/sql_text.h"

namespace dram::common {

namespace {
std::string Enclose(std::string_view text, char quote) {
  std::string out(1, quote);
  for (char c : text) {
    if (c == quote) out.push_back(quote);
    out.push_back(c);
  }
  out.push_back(quote);
  return out;
}
}  // namespace

std::string QuoteIdentifier(std::string_view name) { return Enclose(name, '"'); }
std::string QuoteLiteral(std::string_view text) { return Enclose(text, '\''); }

}  // namespace dram::common
