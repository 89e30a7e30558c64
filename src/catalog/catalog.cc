#include "catalog/catalog.h"

#include <future>
#include <set>

#include "common/civil_time.h"
#include "common/failpoint.h"
#include "common/sha256.h"

namespace dram::catalog {

struct Catalog::Pending {
  const Edit* edit;
  std::string message;
  std::promise<Result<int64_t>> done;
};

Status RenewUnpinned(store::ObjectStore& store, const CatalogDocument& document, const CatalogDocument& parent,
                     const std::set<std::string>& fresh, const DataSource& source) {
  std::set<std::string> safe = fresh;
  for (const auto& [path, ref] : parent.data) safe.insert(ref.sha256);
  for (const auto& [path, ref] : document.data) {
    if (!safe.insert(ref.sha256).second) continue;
    ASSIGN_OR_RETURN(std::string bytes, source(path, ref));
    if (static_cast<int64_t>(bytes.size()) != ref.size || common::Sha256Hex(bytes) != ref.sha256) {
      return DataLoss("data changed since it was read", path);
    }
    RETURN_IF_ERROR(store.Put(DataKey(ref.sha256), bytes).status());
  }
  return Status::Ok();
}

Status ApplyProject(CatalogDocument& current, const CatalogDocument& base, const CatalogDocument& project) {
  const bool project_moved = current.files != base.files || current.data != base.data;
  const bool already_there = current.files == project.files && current.data == project.data;
  if (project_moved && !already_there) {
    return Aborted("the project changed after its diff was shown (by \"" + current.message + "\" at " + current.created_at +
                   "); nothing applied: run apply again to review the changes against the newest version");
  }
  current.files = project.files;
  current.data = project.data;
  return Status::Ok();
}

Result<bool> Catalog::HasNewerThan(int64_t known) const {
  auto head = store_.Head(CatalogLog::KeyOf(known + 1));
  if (head.ok()) return true;
  if (head.status().code() == StatusCode::kNotFound) return false;
  return head.status();
}

Result<CatalogDocument> Catalog::Read(int64_t version) const {
  if (version == 0) return CatalogDocument{};
  ASSIGN_OR_RETURN(std::string text, log_.Read(version));
  return CatalogDocument::Parse(text);
}

Result<std::vector<VersionInfo>> Catalog::History() const {
  ASSIGN_OR_RETURN(std::vector<int64_t> versions, log_.Versions());
  std::vector<VersionInfo> history;
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    auto document = Read(*it);
    if (!document.ok() && document.status().code() == StatusCode::kNotFound) continue;  // collected meanwhile
    if (!document.ok()) return document.status();
    history.push_back({*it, document->message, document->created_at});
  }
  return history;
}

Result<int64_t> Catalog::Update(const Edit& edit, std::string message) {
  Pending pending{&edit, std::move(message), {}};
  auto done = pending.done.get_future();
  {
    common::MutexLock lock(mu_);
    queue_.push_back(&pending);
    if (committing_) {
      lock.Unlock();
      return done.get();
    }
    committing_ = true;
  }
  // This caller commits for everyone queued, batch after batch, until the queue is empty.
  for (;;) {
    std::vector<Pending*> batch;
    {
      common::MutexLock lock(mu_);
      if (queue_.empty()) {
        committing_ = false;
        break;
      }
      batch.assign(queue_.begin(), queue_.end());
      queue_.clear();
    }
    CommitBatch(batch);
  }
  return done.get();
}

void Catalog::CommitBatch(const std::vector<Pending*>& batch) {
  std::vector<Status> outcomes(batch.size());
  bool nothing_to_commit = false;  // set by the last attempt: the edits left the content as it was
  int64_t unchanged_version = 0;
  auto committed = log_.Commit([&](const std::string& current_text, int64_t current_version) -> Result<std::string> {
    nothing_to_commit = false;
    CatalogDocument current;
    if (!current_text.empty()) {
      ASSIGN_OR_RETURN(current, CatalogDocument::Parse(current_text));
    }
    CatalogDocument next = current;
    std::string message;
    bool any_edit = false;
    for (size_t i = 0; i < batch.size(); ++i) {
      CatalogDocument edited = next;
      outcomes[i] = (*batch[i]->edit)(edited);
      if (!outcomes[i].ok()) continue;  // this edit fails alone; the others still commit
      any_edit = true;
      next = std::move(edited);
      if (!batch[i]->message.empty()) message += (message.empty() ? "" : "; ") + batch[i]->message;
    }
    // The first version is committed even when empty (it starts the history); failed edits alone commit nothing.
    if (!any_edit || (next.SameContent(current) && current_version > 0)) {
      nothing_to_commit = true;
      unchanged_version = current_version;
      return FailedPrecondition("nothing to commit");
    }
    next.message = message;
    next.created_at = common::IsoTimeOf(std::chrono::system_clock::now());
    return next.Serialize();
  });
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!outcomes[i].ok()) {
      batch[i]->done.set_value(outcomes[i]);
    } else if (nothing_to_commit) {
      batch[i]->done.set_value(unchanged_version);
    } else {
      batch[i]->done.set_value(committed);
    }
  }
}

// Commits a version whose content equals `content`; objects the newest version does not hold are
// written again from `objects` (checked against their digests), so they exist and are renewed
// before the commit references them.
Result<int64_t> Catalog::CommitContentOf(const CatalogDocument& content, store::ObjectStore& objects, std::string message) {
  return Update(
      [&](CatalogDocument& document) {
        RETURN_IF_ERROR(RenewUnpinned(store_, content, document, {},
                                      [&](const std::string&, const DataRef& ref) { return objects.Get(DataKey(ref.sha256)); }));
        document.files = content.files;
        document.data = content.data;
        document.runtime = content.runtime;
        return Status::Ok();
      },
      std::move(message));
}

Result<int64_t> Catalog::Restore(int64_t version) {
  ASSIGN_OR_RETURN(CatalogDocument old, Read(version));
  RETURN_IF_ERROR(Verify(version));
  return CommitContentOf(old, store_, "restore " + std::to_string(version));
}

Status Catalog::Verify(int64_t version) const {
  ASSIGN_OR_RETURN(CatalogDocument document, Read(version));
  for (const auto& [path, ref] : document.data) {
    auto head = store_.Head(DataKey(ref.sha256));
    if (!head.ok() && head.status().code() == StatusCode::kNotFound) {
      return DataLoss("version " + std::to_string(version) + " references a missing data object", path);
    }
    if (!head.ok()) return head.status();
    if (head->size != ref.size) return DataLoss("data object has the wrong size", path);
  }
  return Status::Ok();
}

Result<CollectReport> Catalog::Collect(size_t keep_versions, std::chrono::milliseconds grace) {
  keep_versions = std::max<size_t>(keep_versions, 1);
  CollectReport report;
  ASSIGN_OR_RETURN(std::vector<int64_t> versions, log_.Versions());
  size_t drop = versions.size() > keep_versions ? versions.size() - keep_versions : 0;
  // Oldest first: a crash part way leaves a shorter history, never a gap before the newest.
  for (size_t i = 0; i < drop; ++i) {
    RETURN_IF_ERROR(store_.Delete(CatalogLog::KeyOf(versions[i])));
    common::Failpoint("gc.after_delete_version");
    ++report.versions_deleted;
  }
  // What the retained versions reference, read after the deletes: a version committed meanwhile
  // is newer than all of them and is read here too.
  std::set<std::string> referenced;
  ASSIGN_OR_RETURN(versions, log_.Versions());
  for (int64_t version : versions) {
    auto document = Read(version);
    if (!document.ok()) return document.status();
    for (const auto& [path, ref] : document->data) referenced.insert(ref.sha256);
  }
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  std::string token;
  do {
    ASSIGN_OR_RETURN(store::ListResult page, store_.List("_data/", "", token, 1000));
    for (const auto& object : page.objects) {
      std::string sha = object.key.substr(6);
      // An object whose age the store does not tell counts as fresh.
      const bool fresh = object.modified_ms > now_ms - grace.count() || (grace.count() > 0 && object.modified_ms <= 0);
      if (referenced.contains(sha) || fresh) continue;
      RETURN_IF_ERROR(store_.Delete(object.key));
      ++report.objects_deleted;
      report.bytes_freed += object.size;
    }
    token = page.continuation;
  } while (!token.empty());
  return report;
}

namespace {

// Copies every object under `prefix`, skipping those already there with the same size (data
// objects are immutable by content, versions by number).
Result<int> CopyPrefix(store::ObjectStore& from, store::ObjectStore& to, const std::string& prefix) {
  int copied = 0;
  std::string token;
  do {
    ASSIGN_OR_RETURN(store::ListResult page, from.List(prefix, "", token, 1000));
    for (const auto& object : page.objects) {
      auto there = to.Head(object.key);
      if (there.ok() && there->size == object.size) continue;
      ASSIGN_OR_RETURN(std::string bytes, from.Get(object.key));
      RETURN_IF_ERROR(to.Put(object.key, bytes).status());
      ++copied;
    }
    token = page.continuation;
  } while (!token.empty());
  return copied;
}

}  // namespace

Result<ExportReport> Catalog::ExportTo(store::ObjectStore& destination) const {
  ExportReport report;
  ASSIGN_OR_RETURN(report.objects, CopyPrefix(store_, destination, "_data/"));
  ASSIGN_OR_RETURN(report.versions, CopyPrefix(store_, destination, "_catalog/"));
  return report;
}

Result<int64_t> Catalog::ImportFrom(store::ObjectStore& source, int64_t* source_version) {
  Catalog from(source);
  ASSIGN_OR_RETURN(int64_t newest, from.Latest());
  if (newest == 0) return NotFound("the source holds no catalog");
  ASSIGN_OR_RETURN(CatalogDocument document, from.Read(newest));
  if (source_version) *source_version = newest;
  return CommitContentOf(document, source, "import of version " + std::to_string(newest));
}

}  // namespace dram::catalog
