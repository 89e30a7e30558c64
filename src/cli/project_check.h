#pragma once

#include <string>
#include <vector>

#include "api/project.h"
#include "common/diagnostics.h"

namespace dram::cli {

// Loads the project in `dir` and checks it the way `dram validate` does: YAML, references, and
// every endpoint compiled against the schema of its local data. Every problem goes into
// `diagnostics`; datasets in a remote store are noted on stderr and checked when a server loads them.
api::ProjectSpec CheckProject(const std::string& dir, common::Diagnostics& diagnostics);

// The local files the project's datasets read (globs expanded, resolvers applied): what
// `dram apply` stores in the catalog by content.
Result<std::vector<std::string>> LocalDataFiles(const api::ProjectSpec& project);

}  // namespace dram::cli
