#pragma once

#include <string>
#include <utility>

#include "api/project.h"
#include "dram/server.h"
#include "dram/status.h"

namespace dram::api {

// "host:port" → host and port ("[::1]:80" too); port 0 picks a free one.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& text);

// The command-line overrides of dram.yml's settings (listen addresses, cache directory, poll).
void ApplyServingOverrides(ServerSettings& settings, const ServerOverrides& overrides);

// The settings a running server bound at start (sockets, HTTP limits, the response cache and the
// request admission limits) that differ in `next`, comma-separated; a catalog version that changes
// them takes effect on restart only.
std::string StartBoundSettingsChanged(const ServerSettings& running, const ServerSettings& next);

}  // namespace dram::api
