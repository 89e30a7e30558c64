#pragma once

#include <string_view>

namespace dram::api {

// One structured audit line (admin actions, authentication failures). Callers pass no secrets:
// the path is truncated and no credential or request value is ever an argument.
void Audit(std::string_view event, std::string_view path, std::string_view remote, std::string_view detail);

// A refusal (bad credentials, a browser origin): at most one line per second for each (event,
// remote, detail), carrying "count" when it stands for several. Thread-safe.
void AuditFailure(std::string_view event, std::string_view path, std::string_view remote, std::string_view detail);

}  // namespace dram::api
