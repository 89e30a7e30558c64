#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "dram/status.h"

namespace dram::catalog {

// A data file of the project, stored once by content under `_data/<sha256>` in the catalog's
// root (so versions that share a file share the object, and a retained version pins it).
struct DataRef {
  std::string sha256;
  int64_t size = 0;
  bool operator==(const DataRef&) const = default;
};

// One version of a deployment's durable state: the YAML project as written (dram.yml,
// datasets/*.yml, endpoints/*.yml, the keys file of hashes), the project's data files by content,
// and what was changed at runtime (databases added and aliases set through the admin API).
// Keeping the project's own text means a catalog version is exactly what `dram validate` checked,
// its diagnostics keep their file:line, and a version can be written back out as a project.
struct CatalogDocument {
  std::map<std::string, std::string> files;  // project-relative path → text
  std::map<std::string, DataRef> data;       // project-relative path → object
  std::string runtime;                       // JSON object text; "" when nothing was added at runtime
  std::string message;                       // what made this version: "apply …", "restore 3", …
  std::string created_at;                    // ISO-8601 UTC

  static Result<CatalogDocument> Parse(std::string_view json);
  std::string Serialize() const;
  // Equal content (files, data, runtime); message and time do not count.
  bool SameContent(const CatalogDocument& other) const;
};

// The key of a data object in the catalog's root.
std::string DataKey(const std::string& sha256);

// Three-way merge of runtime state ({"databases":[{"name",…}], "aliases":{name:{…}}}): the
// changes from `base` to `mine`, per database and per alias name, applied to `theirs`. Two
// members changing different names at once both keep their change; on the same name, mine wins.
std::string MergeRuntime(const std::string& base, const std::string& mine, const std::string& theirs);

// A readable description of what changes from `from` to `to`: one line per added (+), removed
// (-) or changed (~) file, with the changed lines of text files; "" when nothing changed.
std::string Diff(const CatalogDocument& from, const CatalogDocument& to);

}  // namespace dram::catalog
