#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "catalog/catalog_document.h"
#include "catalog/catalog_log.h"
#include "common/mutex.h"
#include "store/object_store.h"

namespace dram::catalog {

struct VersionInfo {
  int64_t version = 0;
  std::string message;
  std::string created_at;
};

struct ExportReport {
  int versions = 0;  // copied (already there with the same size: skipped)
  int objects = 0;
};

struct CollectReport {
  int versions_deleted = 0;
  int objects_deleted = 0;
  int64_t bytes_freed = 0;
};

// Where the bytes of a data object can be read again (the project file, or the store itself).
using DataSource = std::function<Result<std::string>(const std::string& path, const DataRef& ref)>;

// Keeps a version about to be committed on `parent` safe from a concurrent Collect: an object
// `parent` references is safe (the newest version is never collected, and every later version
// descends from it); any other object `document` references, unless in `fresh` (written during
// this operation), is written again from `source`, which renews its age past the grace period.
// Call it inside the edit, where `parent` is the document the edit is applied to.
Status RenewUnpinned(store::ObjectStore& store, const CatalogDocument& document, const CatalogDocument& parent,
                     const std::set<std::string>& fresh, const DataSource& source);

// The edit `dram apply` commits: the project's files and data replace those of `current` (the
// newest version), and runtime state is kept. `base` is the version whose diff the user saw: when
// another apply or restore has changed the project since, the edit is Aborted rather than
// silently reverting a change that was never shown (the apply is then run again, against the
// newest version). Runtime-only changes in between (databases, aliases) do not conflict.
Status ApplyProject(CatalogDocument& current, const CatalogDocument& base, const CatalogDocument& project);

// The operations on a catalog root (what `dram apply`, `dram catalog …` and the admin API do):
// read versions, commit edits, restore, check and collect garbage. Edits made concurrently in one
// process are batched into one commit (the write coalescer): the first caller commits what has
// queued while the others wait, so N admins clicking at once cost one round of store writes, not
// N racing ones. Edits from other processes race through CatalogLog's compare-and-swap.
// Thread-safe.
class Catalog {
 public:
  explicit Catalog(store::ObjectStore& store, CatalogLog::Options options = {}) : store_(store), log_(store, options) {}

  store::ObjectStore& store() { return store_; }
  Result<int64_t> Latest() const { return log_.Latest(); }
  // True when a version newer than `known` exists: one HEAD, for cheap polling.
  Result<bool> HasNewerThan(int64_t known) const;
  // The document of one version (0: an empty catalog). NotFound when there is no such version.
  Result<CatalogDocument> Read(int64_t version) const;
  // Every retained version, newest first.
  Result<std::vector<VersionInfo>> History() const;

  // Changes the newest document and commits it as the next version. `edit` may be called more
  // than once (again after a lost race, on the newer document); it must only derive the change
  // from what it is given. Returns the version that holds the change; when the edit leaves the
  // content as it was, nothing is committed and the newest version is returned.
  using Edit = std::function<Status(CatalogDocument&)>;
  Result<int64_t> Update(const Edit& edit, std::string message);
  // Commits a new version whose content equals `version`'s.
  Result<int64_t> Restore(int64_t version);

  // Every data object `version` references exists with its recorded size.
  Status Verify(int64_t version) const;
  // Deletes all but the newest `keep_versions` versions (at least 1), then every data object no
  // remaining version references and that is older than `grace` (an apply uploads its data
  // before it commits, so a fresh unreferenced object may be about to be referenced).
  Result<CollectReport> Collect(size_t keep_versions, std::chrono::milliseconds grace);

  // Off-site backup: copies every data object, then every version, to `destination` (itself a
  // catalog root afterwards). Data first, so a partial export is an older consistent catalog.
  Result<ExportReport> ExportTo(store::ObjectStore& destination) const;
  // Restore from a backup: copies the newest version of the catalog in `source` and its data in,
  // and commits its content as a new version here (history here is kept). Returns that version
  // and, in `source_version`, the one imported.
  Result<int64_t> ImportFrom(store::ObjectStore& source, int64_t* source_version = nullptr);

 private:
  struct Pending;
  void CommitBatch(const std::vector<Pending*>& batch);
  Result<int64_t> CommitContentOf(const CatalogDocument& content, store::ObjectStore& objects, std::string message);

  store::ObjectStore& store_;
  CatalogLog log_;
  common::Mutex mu_;
  std::deque<Pending*> queue_ GUARDED_BY(mu_);
  bool committing_ GUARDED_BY(mu_) = false;  // a caller is committing the queue
};

}  // namespace dram::catalog
