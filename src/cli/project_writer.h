#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/data_inspector.h"

namespace dram::cli {

struct InitOptions {
  std::string source;         // what the dataset's `source:` says (an absolute path or a store URI)
  std::string tenant_column;  // empty: no tenant scoping
};

// What `dram init` decided for one table, exposed for tests.
struct TablePlan {
  std::string tenant;                  // the tenant column, if the table has it
  std::string date;                    // a DATE (else TIMESTAMP) column for from/to, if any
  std::vector<std::string> keys;       // low-cardinality columns, most selective first: eq params
  std::string id;                      // a column that identifies rows, if one looks like it
  std::vector<std::string> sort_by;
  std::vector<std::string> measures;   // numeric columns summed by the aggregate endpoint
};

TablePlan PlanTable(const TableProfile& table, const std::string& tenant_column);

// The project's files (path relative to the project directory → YAML text, with comments on
// what to change): dram.yml, datasets/<name>.yml and per table endpoints/<table>.yml (a list
// endpoint) and endpoints/<table>_summary.yml (an aggregate).
std::map<std::string, std::string> RenderProject(const SourceProfile& profile, const InitOptions& options);

}  // namespace dram::cli
