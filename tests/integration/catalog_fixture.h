#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "testutil/server_process.h"

namespace dram::testing {

// A small project for the catalog tests: dataset `shop` (data/sales.csv, ids 1..50, amount =
// id * 10 * version) and endpoint /v1/sales; `with_v2` adds /v2/sales.
void WriteCatalogProject(const TempDir& dir, int version, bool with_v2);

// The `amount` column of a JSON response's rows.
std::vector<int64_t> Amounts(const std::string& body);

// Runs `writers` catalog_writer processes at once, `edits` commits each, against the catalog at
// `uri`; then checks the history: every edit is in the newest version, and each version adds
// exactly one edit to its parent (so none was lost or applied twice).
void ExpectNoLostUpdate(const std::string& uri, const std::map<std::string, std::string>& env, int writers, int edits);

}  // namespace dram::testing
