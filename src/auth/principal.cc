#include "auth/principal.h"

namespace dram::auth {

bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool Principal::MayCall(std::string_view name) const {
  if (kind == Kind::kAnonymous) return true;  // mode none: every endpoint is public
  for (const auto& grant : grants) {
    if (GlobMatch(grant, name)) return true;
  }
  return false;
}

}  // namespace dram::auth
