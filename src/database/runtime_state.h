#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "database/dataset_spec.h"
#include "dram/status.h"

namespace dram::database {

struct RuntimeAlias {
  std::string database;
  std::string pinned;  // a snapshot id, or empty: follows the database's current version
  bool operator==(const RuntimeAlias&) const = default;
};

// The runtime part of the catalog: databases added through the admin API and every alias
// (declared ones included, since they may have been repointed). Kept as one JSON object in a
// catalog version, or in <cache>/.dram-state.json for a server without a catalog.
struct RuntimeState {
  std::vector<DatasetSpec> databases;
  std::map<std::string, RuntimeAlias, std::less<>> aliases;
};

// A malformed document is InvalidArgument; an entry that does not parse is skipped and logged,
// so one bad entry never hides the others (and nothing is half-read).
Result<RuntimeState> ParseRuntimeState(std::string_view json);
std::string SerializeRuntimeState(const RuntimeState& state);

}  // namespace dram::database
