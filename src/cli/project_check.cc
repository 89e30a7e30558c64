#include "cli/project_check.h"

#include <cstdio>

#include "api/compiled_endpoint.h"
#include "database/snapshot_builder.h"
#include "database/source_files.h"

namespace dram::cli {

api::ProjectSpec CheckProject(const std::string& dir, common::Diagnostics& diagnostics) {
  api::ProjectSpec project = api::LoadProject(dir, diagnostics);
  // The schema checks run on every dataset and endpoint that parsed, even when others did not,
  // so one run lists every problem.
  for (const auto& dataset : project.datasets) {
    auto views = database::OpenSourceViews(dataset);
    if (views.status().code() == StatusCode::kUnimplemented) {
      std::fprintf(stderr, "note: %s: data is in a remote store; its schema is checked when the server loads it\n",
                   dataset.name.c_str());
      continue;
    }
    if (!views.ok()) {
      diagnostics.Add(dataset.file, 1, 1, "cannot read the data: " + views.status().message());
      continue;
    }
    for (const auto& endpoint : project.endpoints) {
      bool has_table = !endpoint.table.empty() || !endpoint.sql.empty() || endpoint.is_analysis();
      if (endpoint.dataset == dataset.name && has_table) api::CompiledEndpoint::Compile(endpoint, **views, diagnostics);
    }
  }
  return project;
}

Result<std::vector<std::string>> LocalDataFiles(const api::ProjectSpec& project) {
  std::vector<std::string> files;
  for (const auto& dataset : project.datasets) {
    ASSIGN_OR_RETURN(auto tables, database::ListSources(dataset, ""));
    for (const auto& table : tables) {
      if (table.store) continue;  // remote: the catalog names it by URI
      for (const auto& file : table.files) files.push_back(file.local_path);
    }
  }
  return files;
}

}  // namespace dram::cli
