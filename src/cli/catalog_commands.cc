// `dram apply` and `dram catalog`: the durable catalog in a store, read and written directly
// (these commands are writers; a server started with --role reader never is).
#include "cli/catalog_commands.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "catalog/catalog.h"
#include "catalog/project_tree.h"
#include "cli/flags.h"
#include "cli/project_check.h"
#include "common/failpoint.h"
#include "common/log.h"
#include "common/units.h"
#include "store/store_uri.h"

namespace dram::cli {

namespace {

constexpr const char* kApplyHelp = R"(dram apply DIR --catalog URI [--dry-run] [--message TEXT]

Validates the project in DIR (as `dram validate` does), prints what changes against the newest
catalog version, uploads the project's local data files by content (`_data/<sha256>`) and
commits the project as the next version. Databases and aliases changed at runtime are kept.
When another apply or restore changes the project between the diff and the commit, nothing is
committed (exit 1): run apply again to review the changes against the newest version.
With dram.yml `catalog: {retain_versions: N}`, older versions (and data only they reference) are
collected after the commit. Servers following the catalog pick the new version up on their own.

  --catalog URI   the catalog root: a directory, s3://bucket/prefix or gs://bucket/prefix
                  (default: $DRAM_CATALOG); credentials come from the environment
  --dry-run       print the diff only
  --message TEXT  recorded with the version (default: "apply DIR")
)";

constexpr const char* kCatalogHelp = R"(dram catalog COMMAND --catalog URI

  log                     every retained version: number, time, message
  show [V]                the files and data of version V (default: newest); --file PATH prints one file
  diff V1 V2              what changes from V1 to V2
  restore V               commit a new version whose content equals V's
  verify [V]              check that every data object the version (default: all) references exists
  gc --keep N [--grace D] delete all but the newest N versions, then unreferenced data older than D
                          (default 1h)
  export DEST             copy every version and data object to DEST (a directory or store URI)
  import SRC              copy SRC's newest version (and its data) in as a new version here
  checkout V DIR          write version V out as a project directory

--catalog defaults to $DRAM_CATALOG; credentials come from the environment.
)";

std::string FlagOr(const Flags& flags, const std::string& name, const std::string& fallback = "") {
  auto it = flags.values.find(name);
  return it != flags.values.end() ? it->second : fallback;
}

Result<std::unique_ptr<store::ObjectStore>> OpenRoot(const Flags& flags) {
  std::string uri = FlagOr(flags, "catalog");
  if (uri.empty()) {
    const char* env = std::getenv("DRAM_CATALOG");
    uri = env ? env : "";
  }
  if (uri.empty()) return InvalidArgument("no catalog: give --catalog URI or set DRAM_CATALOG");
  if (store::IsLocalUri(uri)) {
    std::error_code ec;
    std::filesystem::create_directories(uri.starts_with("file://") ? uri.substr(7) : uri, ec);
  }
  return store::OpenStore(uri);
}

int Fail(const char* command, const Status& status) {
  std::fprintf(stderr, "dram %s: %s\n", command, status.ToString().c_str());
  return 1;
}

// "latest" or a number; 0 when neither.
int64_t ParseVersion(const std::string& text, int64_t latest) {
  if (text == "latest") return latest;
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  return end && *end == '\0' && value > 0 ? value : 0;
}

}  // namespace

int ApplyCommand(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv, 2, {"catalog", "message"}, {"dry-run"});
  if (flags.help) return std::fputs(kApplyHelp, stdout), 0;
  if (!flags.error.empty()) return std::fprintf(stderr, "dram apply: %s\n", flags.error.c_str()), 2;
  if (flags.positional.size() != 1) return std::fputs("dram apply: expected one project directory\n", stderr), 2;
  common::SetMinLogLevel(common::LogLevel::kWarn);
  const std::string dir = flags.positional[0];
  common::Diagnostics diagnostics;
  api::ProjectSpec project = CheckProject(dir, diagnostics);
  if (!diagnostics.empty()) {
    std::fputs(diagnostics.ToString().c_str(), stderr);
    std::fprintf(stderr, "%zu problem%s found; nothing applied\n", diagnostics.size(), diagnostics.size() == 1 ? "" : "s");
    return 1;
  }
  auto data_files = LocalDataFiles(project);
  if (!data_files.ok()) return Fail("apply", data_files.status());
  // The keys file (hashes only) and a JWKS file (public keys) belong to the deployment; TLS keys do not.
  auto document = catalog::ReadProject(dir, {project.settings.auth.keys_file, project.settings.auth.jwks_file}, *data_files);
  if (!document.ok()) return Fail("apply", document.status());
  auto root = OpenRoot(flags);
  if (!root.ok()) return Fail("apply", root.status());
  catalog::Catalog catalog(**root);
  auto latest = catalog.Latest();
  if (!latest.ok()) return Fail("apply", latest.status());
  auto newest = catalog.Read(*latest);
  if (!newest.ok()) return Fail("apply", newest.status());
  catalog::CatalogDocument proposed = *newest;
  proposed.files = document->files;
  proposed.data = document->data;
  std::string diff = catalog::Diff(*newest, proposed);
  if (diff.empty() && *latest > 0) {
    std::printf("no changes: the catalog stays at version %lld\n", static_cast<long long>(*latest));
    return 0;
  }
  std::printf("changes against version %lld:\n%s", static_cast<long long>(*latest), diff.c_str());
  if (flags.values.count("dry-run")) return std::puts("(dry run: nothing committed)"), 0;

  // Data first: a version is committed only once everything it references is in the store.
  auto uploaded = catalog::UploadData(**root, dir, *document, *newest);
  if (!uploaded.ok()) return Fail("apply", uploaded.status());
  common::Failpoint("apply.before_commit");
  std::string message = FlagOr(flags, "message", "apply " + std::filesystem::path(dir).filename().string());
  auto version = catalog.Update(
      [&](catalog::CatalogDocument& current) {
        // Objects skipped above because the version read then held them may have been dropped by
        // a newer version since (and so be collectable): those are written again before the commit.
        RETURN_IF_ERROR(catalog::RenewUnpinned(**root, *document, current, *uploaded,
                                               [&](const std::string& path, const catalog::DataRef&) {
                                                 return catalog::ReadDataFile(dir, path);
                                               }));
        return catalog::ApplyProject(current, *newest, *document);
      },
      message);
  if (!version.ok()) return Fail("apply", version.status());
  common::Failpoint("apply.after_commit");
  std::printf("committed version %lld\n", static_cast<long long>(*version));
  if (project.settings.catalog_retain_versions > 0) {
    auto collected = catalog.Collect(static_cast<size_t>(project.settings.catalog_retain_versions), std::chrono::hours(1));
    if (!collected.ok()) return Fail("apply (collecting old versions)", collected.status());
    if (collected->versions_deleted + collected->objects_deleted > 0) {
      std::printf("collected %d old version%s and %d data object%s\n", collected->versions_deleted,
                  collected->versions_deleted == 1 ? "" : "s", collected->objects_deleted, collected->objects_deleted == 1 ? "" : "s");
    }
  }
  return 0;
}

namespace {

int Show(catalog::Catalog& catalog, int64_t version, const std::string& file) {
  auto document = catalog.Read(version);
  if (!document.ok()) return Fail("catalog show", document.status());
  if (!file.empty()) {
    auto it = document->files.find(file);
    if (it == document->files.end()) return std::fprintf(stderr, "dram catalog show: no text file %s in version %lld\n", file.c_str(), static_cast<long long>(version)), 1;
    return std::fputs(it->second.c_str(), stdout), 0;
  }
  std::printf("version %lld  %s  %s\n", static_cast<long long>(version), document->created_at.c_str(), document->message.c_str());
  for (const auto& [path, text] : document->files) std::printf("  %-48s %zu bytes\n", path.c_str(), text.size());
  for (const auto& [path, ref] : document->data) {
    std::printf("  %-48s %lld bytes  sha256:%s\n", path.c_str(), static_cast<long long>(ref.size), ref.sha256.c_str());
  }
  if (!document->runtime.empty()) std::printf("  runtime: %s\n", document->runtime.c_str());
  return 0;
}

}  // namespace

int CatalogCommand(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv, 2, {"catalog", "file", "keep", "grace"});
  if (flags.help || flags.positional.empty()) return std::fputs(kCatalogHelp, flags.help ? stdout : stderr), flags.help ? 0 : 2;
  if (!flags.error.empty()) return std::fprintf(stderr, "dram catalog: %s\n", flags.error.c_str()), 2;
  common::SetMinLogLevel(common::LogLevel::kWarn);
  const std::string command = flags.positional[0];
  auto root = OpenRoot(flags);
  if (!root.ok()) return Fail("catalog", root.status());
  catalog::Catalog catalog(**root);
  auto latest = catalog.Latest();
  if (!latest.ok()) return Fail("catalog", latest.status());
  auto version_arg = [&](size_t index, int64_t fallback) -> int64_t {
    return flags.positional.size() > index ? ParseVersion(flags.positional[index], *latest) : fallback;
  };

  if (command == "log") {
    auto history = catalog.History();
    if (!history.ok()) return Fail("catalog log", history.status());
    for (const auto& entry : *history) {
      std::printf("%-6lld %-24s %s\n", static_cast<long long>(entry.version), entry.created_at.c_str(), entry.message.c_str());
    }
    if (history->empty()) std::puts("(no versions yet: `dram apply DIR --catalog URI` commits the first)");
    return 0;
  }
  if (command == "show") {
    int64_t version = version_arg(1, *latest);
    if (version <= 0) return std::fputs("dram catalog show: expected a version number or 'latest'\n", stderr), 2;
    return Show(catalog, version, FlagOr(flags, "file"));
  }
  if (command == "diff") {
    int64_t from = version_arg(1, 0), to = version_arg(2, 0);
    if (from <= 0 || to <= 0) return std::fputs("dram catalog diff: expected two versions\n", stderr), 2;
    auto a = catalog.Read(from);
    if (!a.ok()) return Fail("catalog diff", a.status());
    auto b = catalog.Read(to);
    if (!b.ok()) return Fail("catalog diff", b.status());
    std::string diff = catalog::Diff(*a, *b);
    std::fputs(diff.empty() ? "(no differences)\n" : diff.c_str(), stdout);
    return 0;
  }
  if (command == "restore") {
    int64_t version = version_arg(1, 0);
    if (version <= 0) return std::fputs("dram catalog restore: expected a version number\n", stderr), 2;
    auto restored = catalog.Restore(version);
    if (!restored.ok()) return Fail("catalog restore", restored.status());
    std::printf("committed version %lld (the content of version %lld)\n", static_cast<long long>(*restored), static_cast<long long>(version));
    return 0;
  }
  if (command == "verify") {
    std::vector<int64_t> versions;
    if (flags.positional.size() > 1) {
      versions.push_back(version_arg(1, 0));
    } else {
      auto history = catalog.History();
      if (!history.ok()) return Fail("catalog verify", history.status());
      for (const auto& entry : *history) versions.push_back(entry.version);
    }
    for (int64_t version : versions) {
      Status status = catalog.Verify(version);
      if (!status.ok()) return Fail("catalog verify", status);
    }
    std::printf("ok: %zu version%s, every referenced data object present\n", versions.size(), versions.size() == 1 ? "" : "s");
    return 0;
  }
  if (command == "gc") {
    int64_t keep = std::atoll(FlagOr(flags, "keep", "0").c_str());
    if (keep <= 0) return std::fputs("dram catalog gc: --keep N (N >= 1) is required\n", stderr), 2;
    auto grace = common::ParseDurationMs(FlagOr(flags, "grace", "1h"));
    if (!grace) return std::fputs("dram catalog gc: --grace is a duration like 30m, 1h or 0s\n", stderr), 2;
    auto report = catalog.Collect(static_cast<size_t>(keep), std::chrono::milliseconds(*grace));
    if (!report.ok()) return Fail("catalog gc", report.status());
    std::printf("deleted %d version%s and %d data object%s (%lld bytes)\n", report->versions_deleted,
                report->versions_deleted == 1 ? "" : "s", report->objects_deleted, report->objects_deleted == 1 ? "" : "s",
                static_cast<long long>(report->bytes_freed));
    return 0;
  }
  if (command == "export") {
    if (flags.positional.size() != 2) return std::fputs("dram catalog export: expected DEST\n", stderr), 2;
    if (store::IsLocalUri(flags.positional[1])) std::filesystem::create_directories(flags.positional[1]);
    auto dest = store::OpenStore(flags.positional[1]);
    if (!dest.ok()) return Fail("catalog export", dest.status());
    auto report = catalog.ExportTo(**dest);
    if (!report.ok()) return Fail("catalog export", report.status());
    std::printf("exported %d version%s and %d data object%s to %s\n", report->versions, report->versions == 1 ? "" : "s",
                report->objects, report->objects == 1 ? "" : "s", flags.positional[1].c_str());
    return 0;
  }
  if (command == "import") {
    if (flags.positional.size() != 2) return std::fputs("dram catalog import: expected SRC\n", stderr), 2;
    auto source = store::OpenStore(flags.positional[1]);
    if (!source.ok()) return Fail("catalog import", source.status());
    int64_t imported = 0;
    auto version = catalog.ImportFrom(**source, &imported);
    if (!version.ok()) return Fail("catalog import", version.status());
    std::printf("committed version %lld (imported version %lld)\n", static_cast<long long>(*version), static_cast<long long>(imported));
    return 0;
  }
  if (command == "checkout") {
    if (flags.positional.size() != 3) return std::fputs("dram catalog checkout: expected V DIR\n", stderr), 2;
    int64_t version = version_arg(1, 0);
    auto document = catalog.Read(version);
    if (version <= 0 || !document.ok()) return Fail("catalog checkout", version <= 0 ? InvalidArgument("bad version") : document.status());
    std::filesystem::path dir = flags.positional[2];
    Status synced = catalog::SyncTree(**root, *document, dir.string(), (dir / ".dram" / "objects").string());
    if (!synced.ok()) return Fail("catalog checkout", synced);
    std::printf("wrote version %lld to %s\n", static_cast<long long>(version), dir.c_str());
    return 0;
  }
  std::fprintf(stderr, "dram catalog: unknown command '%s'\n\n%s", command.c_str(), kCatalogHelp);
  return 2;
}

}  // namespace dram::cli
