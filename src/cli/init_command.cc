#include "cli/init_command.h"

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/data_inspector.h"
#include "cli/flags.h"
#include "cli/project_writer.h"
#include "common/log.h"
#include "store/store_uri.h"

namespace dram::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kInitHelp = R"(dram init DIR --from URI [--tenant-column COL]

Inspects the data at URI (a local directory, or a store location s3://bucket/prefix,
gs://bucket/prefix; credentials from the environment) and writes a project to DIR to start from:
dram.yml, one dataset over the directory (a table per top-level file or directory, key=value/
directories as columns, or the tables of one DuckDB file) with sort_by chosen from the data
(the tenant column, the most selective low-cardinality columns, the date column), and per table
a list endpoint (typed params for those columns, from/to on the date column, pagination, a
columns allowlist) and an aggregate endpoint (counts and sums, per day when there is a date).
Remote tables are profiled from a bounded sample of their files. The files say, in comments,
what to change. DIR must not exist or be empty.

  --from URI            the database directory to inspect
  --tenant-column COL   scope every endpoint of a table that has COL to the caller's tenant
                        (adds auth mode keys to dram.yml; create keys with dram keys create)
)";

// A directory under the system's temp dir, removed with everything in it when this dies.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "dram-init-XXXXXX").string();
    if (::mkdtemp(pattern.data())) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

int InitCommand(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv, 2, {"from", "tenant-column"});
  if (flags.help) return std::fputs(kInitHelp, stdout), 0;
  if (!flags.error.empty()) return std::fprintf(stderr, "dram init: %s\n", flags.error.c_str()), 2;
  if (flags.positional.size() != 1 || !flags.values.count("from")) {
    return std::fputs("dram init: expected DIR --from URI (see dram init --help)\n", stderr), 2;
  }
  const fs::path dir = flags.positional[0];
  std::error_code ec;
  if (fs::exists(dir, ec) && (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec))) {
    std::fprintf(stderr, "dram init: %s exists and is not an empty directory; refusing to overwrite it\n", dir.c_str());
    return 1;
  }
  std::string uri = flags.values.at("from");
  InitOptions options;
  options.tenant_column = flags.values.count("tenant-column") ? flags.values.at("tenant-column") : "";
  if (store::IsLocalUri(uri)) {
    // A local source is named absolutely, so the project can be served from anywhere.
    std::string path = uri.starts_with("file://") ? uri.substr(7) : uri;
    if (!fs::is_directory(path, ec)) return std::fprintf(stderr, "dram init: %s is not a directory\n", path.c_str()), 1;
    uri = fs::absolute(path).lexically_normal().string();
    while (uri.size() > 1 && uri.ends_with('/')) uri.pop_back();
  }
  options.source = uri;

  common::SetMinLogLevel(common::LogLevel::kWarn);
  const auto started = std::chrono::steady_clock::now();
  ScratchDir scratch;
  if (scratch.path().empty()) return std::fputs("dram init: cannot create a temporary directory\n", stderr), 1;
  Result<SourceProfile> profile = InspectSource(uri, scratch.path());
  if (!profile.ok()) return std::fprintf(stderr, "dram init: %s\n", profile.status().ToString().c_str()), 1;
  if (!options.tenant_column.empty()) {
    bool found = false;
    for (const auto& table : profile->tables) {
      for (const auto& column : table.columns) found = found || column.name == options.tenant_column;
    }
    if (!found) {
      std::fprintf(stderr, "dram init: no table has the tenant column '%s'\n", options.tenant_column.c_str());
      return 1;
    }
  }
  auto files = RenderProject(*profile, options);
  fs::create_directories(dir, ec);
  if (ec) return std::fprintf(stderr, "dram init: cannot create %s: %s\n", dir.c_str(), ec.message().c_str()), 1;
  for (const auto& [relative, text] : files) {
    fs::path path = dir / relative;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream out(path);
    out << text;
    if (!out.flush()) return std::fprintf(stderr, "dram init: cannot write %s\n", path.c_str()), 1;
  }
  const auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  std::printf("wrote %zu files to %s (%zu table%s inspected in %lld ms):\n", files.size(), dir.c_str(),
              profile->tables.size(), profile->tables.size() == 1 ? "" : "s", static_cast<long long>(elapsed_ms));
  for (const auto& [relative, text] : files) std::printf("  %s\n", relative.c_str());
  std::printf("next: edit them (the comments say what to change), then\n  dram validate %s\n  dram serve %s\n", dir.c_str(),
              dir.c_str());
  return 0;
}

}  // namespace dram::cli
