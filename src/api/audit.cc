#include "api/audit.h"

#include <string>

#include "common/json_text.h"
#include "common/log.h"

namespace dram::api {

void Audit(std::string_view event, std::string_view path, std::string_view remote, std::string_view detail) {
  constexpr size_t kMaxPath = 256;
  std::string fields = "\"audit\":true,\"event\":";
  common::AppendJsonString(fields, event);
  fields += ",\"path\":";
  common::AppendJsonString(fields, path.substr(0, kMaxPath));
  fields += ",\"remote\":";
  common::AppendJsonString(fields, remote);
  fields += ",\"detail\":";
  common::AppendJsonString(fields, detail);
  common::Log(common::LogLevel::kInfo, "audit", fields);
}

}  // namespace dram::api
