#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dram::auth {

// Who is calling, as established by the Authenticator: never holds the credential itself.
struct Principal {
  enum class Kind { kAnonymous, kApiKey, kJwt };
  Kind kind = Kind::kAnonymous;
  std::string id;                       // key id or JWT subject; safe to log
  // Whose budget a request spends: "key:<id>", "jwt:<iss>/<sub>", "jwt-token:<hash>" (a token
  // without a subject), "addr:<client address>" (anonymous). Each kind in its own namespace.
  std::string limiter_id;
  std::string tenant;                   // empty: not bound to a tenant
  std::vector<std::string> grants;      // endpoint names or globs ("daily_*", "*"); empty: none
  int64_t quota_per_minute = 0;         // 0: the server's default rate limit

  // Whether this principal may call endpoint `name` (globs with '*' and '?').
  bool MayCall(std::string_view name) const;
};

// Glob match with '*' (any run) and '?' (any one character).
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace dram::auth
