#include "database/dataset_manager.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>

#include <boost/json.hpp>

#include "common/barrier.h"
#include "common/civil_time.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/sql_text.h"
#include "database/runtime_state.h"
#include "database/shard.h"
#include "database/snapshot_builder.h"
#include "database/source_files.h"
#include "engine/result_encoder.h"
#include "store/local_object_store.h"

namespace dram::database {

namespace fs = std::filesystem;


namespace {

constexpr size_t kHistoryLength = 20;
constexpr const char* kStateFile = ".dram-state.json";

}  // namespace

DatasetManager::DatasetManager(ManagerOptions options, std::vector<DatasetSpec> specs, Validator validator,
                               SwapListener listener, std::map<std::string, std::string> declared_aliases, UsersOf users_of)
    : options_(std::move(options)), validator_(std::move(validator)), listener_(std::move(listener)),
      users_of_(std::move(users_of)) {
  for (auto& spec : specs) {
    auto entry = std::make_shared<Entry>(std::move(spec));
    entry->status.declared = true;
    entries_.emplace(entry->spec.name, std::move(entry));
  }
  for (auto& [alias, database] : declared_aliases) aliases_[alias] = Alias{database, ""};
  LoadState();
  for (auto& [name, entry] : entries_) {
    entry->status.name = entry->spec.name;
    entry->status.source = !entry->spec.source.empty() ? entry->spec.source
                           : entry->spec.tables.empty() ? "" : entry->spec.tables.front().path;
    entry->status.refresh_interval_ms = entry->spec.refresh_interval_ms;
    entry->status.max_age_ms = entry->spec.max_age_ms;
    entry->status.idle_evict_ms = entry->spec.idle_evict_ms;
    entry->status.placement = entry->spec.placement;
  }
}

DatasetManager::~DatasetManager() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
    for (auto& [name, entry] : entries_) entries.push_back(entry);
  }
  stop_cv_.NotifyAll();
  for (auto& entry : entries) {
    if (entry->refresher.joinable()) entry->refresher.join();
  }
  for (auto& thread : warmers_) thread.join();
  if (evictor_.joinable()) evictor_.join();
}

// The runtime catalog: databases added through Add() and every alias (declared ones included,
// since they may have been repointed). A malformed file is logged and ignored, never half-read.
void DatasetManager::LoadState() {
  Result<std::string> bytes = NotFound("no runtime state");
  if (options_.load_runtime_state) {
    std::string text = options_.load_runtime_state();
    if (!text.empty()) bytes = std::move(text);
  } else {
    store::LocalObjectStore local(options_.cache_dir);
    bytes = static_cast<store::ObjectStore&>(local).Get(kStateFile);
  }
  if (!bytes.ok()) return;
  auto state = ParseRuntimeState(*bytes);
  if (!state.ok()) {
    common::Log(common::LogLevel::kError, "runtime catalog unreadable; ignored", "\"file\":\"" + std::string(kStateFile) + "\"");
    return;
  }
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> added;
  for (auto& spec : state->databases) {
    if (entries_.contains(spec.name)) {
      common::Log(common::LogLevel::kWarn, "runtime database shadowed by a declared dataset", "\"dataset\":\"" + spec.name + "\"");
      continue;
    }
    auto entry = std::make_shared<Entry>(std::move(spec));
    added.emplace(entry->spec.name, std::move(entry));
  }
  for (auto& [name, entry] : added) entries_.emplace(name, std::move(entry));
  for (auto& [alias, target] : state->aliases) aliases_[alias] = std::move(target);
}

Status DatasetManager::SaveState() const {
  RuntimeState runtime;
  {
    common::MutexLock lock(mu_);
    for (const auto& [name, entry] : entries_) {
      if (!entry->status.declared && entry->spec.copy_of.empty()) runtime.databases.push_back(entry->spec);
    }
    runtime.aliases = aliases_;
  }
  std::string state = SerializeRuntimeState(runtime);
  if (options_.save_runtime_state) return options_.save_runtime_state(state);
  std::error_code ec;
  fs::create_directories(options_.cache_dir, ec);
  store::LocalObjectStore local(options_.cache_dir);
  store::ObjectStore& state_store = local;
  auto put = state_store.Put(kStateFile, state);
  return put.ok() ? Status::Ok() : put.status();
}

bool DatasetManager::Removed(const Entry& entry) const {
  common::MutexLock lock(mu_);
  return entry.removed;
}

std::shared_ptr<DatasetManager::Entry> DatasetManager::Find(const std::string& name) const {
  common::MutexLock lock(mu_);
  auto found = entries_.find(name);
  if (found != entries_.end()) return found->second;
  auto alias = aliases_.find(name);
  if (alias != aliases_.end()) {
    found = entries_.find(alias->second.database);
    if (found != entries_.end()) return found->second;
  }
  return nullptr;
}

Status DatasetManager::LoadAll() {
  if (options_.placed) {
    Status first_error;
    for (const CopyId& copy : options_.held ? options_.held() : CopiesOnDisk()) {
      Status status = HoldCopy(copy);
      if (!status.ok() && first_error.ok()) first_error = Status(status.code(), "copy of " + copy.database + ": " + status.message());
    }
    return first_error;
  }
  std::vector<std::shared_ptr<Entry>> entries;
  {
    common::MutexLock lock(mu_);
    for (auto& [name, entry] : entries_) entries.push_back(entry);
  }
  Status first_error;
  for (auto& entry : entries) {
    // A verified version already on disk serves at once; the source is checked in the background,
    // so a slow or unreachable store does not hold up the boot.
    if (options_.warm_start && WarmStart(*entry)) {
      common::MutexLock lock(mu_);
      warmers_.emplace_back([this, entry] {
        common::RunBarrier("warm start check " + entry->spec.name, "", [&] { [[maybe_unused]] Status status = Build(*entry, false); });
      });
      continue;
    }
    Status status = Build(*entry, false);
    if (!status.ok() && first_error.ok()) first_error = Status(status.code(), "dataset " + entry->spec.name + ": " + status.message());
  }
  return first_error;
}

// <cache>/<dataset>/CURRENT names the serving version ("<id> <watermark ms>"), written after
// every swap: what a restart opens before it can reach the store.
void DatasetManager::RecordCurrent(const Entry& entry) {
  std::shared_ptr<const Snapshot> current;
  {
    common::MutexLock lock(mu_);
    current = entry.status.current;
  }
  if (!current || current->lazy() || current->path().empty()) return;
  store::LocalObjectStore local((fs::path(options_.cache_dir) / entry.spec.name).string());
  [[maybe_unused]] auto put = static_cast<store::ObjectStore&>(local).Put(
      "CURRENT", current->id() + " " + std::to_string(current->watermark_ms()) + "\n");
}

bool DatasetManager::WarmStart(Entry& entry) {
  if (entry.spec.lazy) return false;
  store::LocalObjectStore local((fs::path(options_.cache_dir) / entry.spec.name).string());
  auto text = static_cast<store::ObjectStore&>(local).Get("CURRENT");
  if (!text.ok()) return false;
  std::string id = text->substr(0, text->find(' '));
  int64_t watermark = std::atoll(text->c_str() + std::min(text->size(), id.size() + 1));
  fs::path path = fs::path(options_.cache_dir) / entry.spec.name / (id + ".duckdb");
  std::error_code ec;
  if (id.empty() || !fs::exists(path, ec)) return false;
  common::MutexLock build_lock(entry.build_mu);
  auto opened = OpenBuiltSnapshot(entry.spec, id, path.string(), OpenOptions(), watermark);
  if (!opened.ok()) return false;
  std::shared_ptr<const Snapshot> snapshot = std::move(opened).value();
  const std::vector<std::string> followers = FollowersOf(entry.spec.name);
  if (!Validate(entry.spec, *snapshot, followers).ok()) return false;
  {
    common::MutexLock lock(mu_);
    entry.status.current = snapshot;
    entry.status.loads_ok++;
    entry.status.last_success = std::chrono::system_clock::now();
  }
  common::Log(common::LogLevel::kInfo, "dataset served from disk (warm start)",
              "\"dataset\":\"" + entry.spec.name + "\",\"snapshot\":\"" + id + "\"");
  if (listener_) {
    listener_(entry.spec.name);
    for (const auto& alias : followers) listener_(alias);
  }
  return true;
}

Status DatasetManager::Refresh(const std::string& name, bool force) {
  auto entry = Find(name);
  if (!entry) return NotFound("unknown dataset", name);
  return Build(*entry, force);
}

Status DatasetManager::Build(Entry& entry, bool force) {
  const DatasetSpec& spec = entry.spec;
  common::MutexLock build_lock(entry.build_mu);
  auto started = std::chrono::steady_clock::now();
  auto record = [&](LoadRecord r) {
    r.at = std::chrono::system_clock::now();
    r.load_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    entry.status.history.push_back(std::move(r));
    if (entry.status.history.size() > kHistoryLength) entry.status.history.pop_front();
  };
  auto fail = [&](Status cause) {
    Status status = AsLoadFailure(cause, options_.cache_dir);
    common::MutexLock lock(mu_);
    entry.status.last_error = status.message();
    entry.status.loads_failed++;
    entry.status.loading = false;
    entry.status.last_attempt = std::chrono::system_clock::now();
    record({.ok = false, .error = status.message()});
    common::Log(common::LogLevel::kError, "dataset load failed",
                "\"dataset\":\"" + spec.name + "\",\"error_code\":\"" + std::string(StatusCodeName(status.code())) + "\"");
    return status;
  };

  // A refresh that found the entry before a Remove must not rebuild into the removed directory.
  if (Removed(entry)) return NotFound("database was removed", spec.name);
  if (options_.placed) {
    common::MutexLock lock(mu_);
    if (!entry.held) return FailedPrecondition("not held by this member (placement puts its copies elsewhere)", spec.name);
  }
  auto tables = ListSources(spec, options_.cache_dir);
  if (!tables.ok()) return fail(tables.status());
  std::string id = SnapshotId(spec, *tables);
  int64_t source_bytes = 0, source_files = 0, remote_files = 0;
  for (const auto& table : *tables) {
    for (const auto& file : table.files) {
      source_bytes += file.size;
      ++source_files;
      if (table.store) ++remote_files;
    }
  }
  {
    common::MutexLock lock(mu_);
    entry.status.last_attempt = std::chrono::system_clock::now();
    if (!force && entry.status.current && entry.status.current->id() == id) {
      record({.snapshot_id = id, .ok = true, .reused = true});
      entry.status.last_error.clear();
      entry.status.last_success = entry.status.last_attempt;
      return Status::Ok();
    }
    entry.status.loading = true;
  }

  // Read by StatusSnapshot under mu_ while this load runs.
  auto reset_progress = [&] {
    common::MutexLock lock(mu_);
    entry.progress.total_bytes = 0;
    entry.progress.done_bytes = 0;
    entry.progress.started = std::chrono::steady_clock::now();
  };
  auto opened = BuildSnapshot(spec, *tables, id, (fs::path(options_.cache_dir) / spec.name).string(), OpenOptions(), force,
                              &entry.progress, reset_progress, started);
  if (!opened.ok()) return fail(opened.status());
  std::shared_ptr<const Snapshot> snapshot = std::move(opened).value();
  const std::vector<std::string> followers = FollowersOf(spec.name);
  if (Status valid = Validate(spec, *snapshot, followers); !valid.ok()) return fail(valid);
  {
    common::MutexLock lock(mu_);
    // Removed while this build ran: Remove deletes the files once we release build_mu; nothing
    // may be published under the name again.
    if (entry.removed) {
      entry.status.loading = false;
      return NotFound("database was removed", spec.name);
    }
    // Idleness spans refreshes: the replaced snapshot's last request still counts. A dataset that
    // starts serving (first load, re-warm after eviction) counts as used now.
    const int64_t now_ms = common::WallMillis();
    entry.last_used_ms = entry.status.current ? std::max(entry.last_used_ms, entry.status.current->last_access_ms()) : now_ms;
    if (entry.status.previous) entry.last_used_ms = std::max(entry.last_used_ms, entry.status.previous->last_access_ms());
    entry.status.cold = false;
    entry.cold_snapshot.clear();
    entry.status.previous = std::move(entry.status.current);
    entry.status.current = snapshot;
    entry.status.last_error.clear();
    entry.status.loads_ok++;
    entry.status.loading = false;
    entry.status.last_success = std::chrono::system_clock::now();
    entry.status.source_bytes = source_bytes;
    entry.status.source_files = source_files;
    entry.status.cached_files = remote_files;  // a full load keeps every remote file on disk
    entry.status.download_total_bytes = entry.progress.total_bytes;
    entry.status.download_done_bytes = entry.progress.done_bytes;
    entry.status.download_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - entry.progress.started).count();
    record({.snapshot_id = id, .ok = true});
  }
  common::Log(common::LogLevel::kInfo, "dataset snapshot live",
              "\"dataset\":\"" + spec.name + "\",\"snapshot\":\"" + id + "\",\"load_ms\":" + std::to_string(snapshot->load_ms()));
  RecordCurrent(entry);
  if (listener_) {
    listener_(spec.name);
    for (const auto& alias : followers) listener_(alias);
  }
  RemoveStaleFiles(entry);
  return Status::Ok();
}

std::vector<std::string> DatasetManager::FollowersOf(const std::string& database) const {
  common::MutexLock lock(mu_);
  std::vector<std::string> followers;
  for (const auto& [alias, target] : aliases_) {
    if (target.database == database && target.pinned.empty()) followers.push_back(alias);
  }
  return followers;
}

// The dataset's own endpoints, then those of every alias that follows it, must fit the snapshot.
Status DatasetManager::Validate(const DatasetSpec& spec, const Snapshot& snapshot, const std::vector<std::string>& followers) {
  if (!validator_) return Status::Ok();
  RETURN_IF_ERROR(validator_(spec, snapshot));
  for (const auto& alias : followers) {
    DatasetSpec as_alias = spec;
    as_alias.name = alias;
    Status valid = validator_(as_alias, snapshot);
    if (!valid.ok()) return Status(valid.code(), "alias " + alias + ": " + valid.message());
  }
  return Status::Ok();
}

Status DatasetManager::Rollback(const std::string& name) {
  auto entry = Find(name);
  if (!entry) return NotFound("unknown dataset", name);
  std::vector<std::string> changed{entry->spec.name};
  {
    common::MutexLock build_lock(entry->build_mu);
    common::MutexLock lock(mu_);
    DatasetStatus& status = entry->status;
    if (entry->removed) return NotFound("database was removed", name);
    if (!status.previous) return Aborted("no previous snapshot to roll back to", name);
    std::swap(status.current, status.previous);
    for (const auto& [alias, target] : aliases_) {
      if (target.database == entry->spec.name && target.pinned.empty()) changed.push_back(alias);
    }
  }
  RecordCurrent(*entry);
  if (listener_) {
    for (const auto& n : changed) listener_(n);
  }
  return Status::Ok();
}

// Deletes snapshot files of this dataset that are neither current, previous nor pinned by an
// alias. A snapshot still open by an in-flight request keeps working after its file is unlinked.
void DatasetManager::RemoveStaleFiles(Entry& entry) {
  std::set<std::string> keep;
  {
    common::MutexLock lock(mu_);
    if (entry.status.current) keep.insert(entry.status.current->id());
    if (entry.status.previous) keep.insert(entry.status.previous->id());
    for (const auto& [alias, target] : aliases_) {
      if (target.database == entry.spec.name && !target.pinned.empty()) keep.insert(target.pinned);
    }
  }
  RemoveStaleSnapshotFiles((fs::path(options_.cache_dir) / entry.spec.name).string(), keep);
}

Status DatasetManager::Add(DatasetSpec spec) {
  common::MutexLock state_lock(state_mu_);
  {
    common::MutexLock lock(mu_);
    if (entries_.contains(spec.name) || aliases_.contains(spec.name)) return AlreadyExists("name is taken", spec.name);
  }
  auto entry = std::make_shared<Entry>(std::move(spec));
  entry->status.name = entry->spec.name;
  entry->status.source = entry->spec.source;
  entry->status.refresh_interval_ms = entry->spec.refresh_interval_ms;
  entry->status.max_age_ms = entry->spec.max_age_ms;
  entry->status.idle_evict_ms = entry->spec.idle_evict_ms;
  entry->status.placement = entry->spec.placement;
  // Visible (as loading, with progress) while the first load runs; removed again if it fails. In
  // a cluster, placement ignores it until it is committed.
  entry->pending = options_.placed;
  {
    common::MutexLock lock(mu_);
    entries_.emplace(entry->spec.name, entry);
  }
  // In a cluster the members placement picks load it once it is committed; here it is only
  // registered, after a check of what they will load.
  Status built = options_.placed ? Probe(entry->spec) : Build(*entry, false);
  if (built.ok()) built = SaveState();
  if (!built.ok()) {
    {
      common::MutexLock lock(mu_);
      entries_.erase(entry->spec.name);
    }
    std::error_code ec;
    fs::remove_all(fs::path(options_.cache_dir) / entry->spec.name, ec);
    return built;
  }
  {
    common::MutexLock lock(mu_);
    entry->pending = false;
  }
  StartRefresher(*entry);
  return Status::Ok();
}

Status DatasetManager::Remove(const std::string& name, bool force) {
  common::MutexLock state_lock(state_mu_);
  std::shared_ptr<Entry> entry;
  {
    common::MutexLock lock(mu_);
    auto found = entries_.find(name);
    if (found == entries_.end()) return NotFound("unknown database", name);
    entry = found->second;
    if (entry->status.declared) return FailedPrecondition("declared in the project's YAML; remove it there", name);
    if (!entry->spec.copy_of.empty() && entry->spec.shard >= 0) {
      return FailedPrecondition("a copy of a shard of " + entry->spec.copy_of + ", placed by the cluster: remove the database", name);
    }
    if (!force) {
      for (const auto& [alias, target] : aliases_) {
        if (target.database == name) return FailedPrecondition("alias " + alias + " points to it (use force)", name);
      }
    }
  }
  if (!force && users_of_) {
    auto users = users_of_(name);
    if (!users.empty()) return FailedPrecondition("endpoint " + users.front() + " uses it (use force)", name);
  }
  std::vector<std::string> stranded;
  std::vector<std::shared_ptr<Entry>> copies;  // of its shards, in a cluster
  {
    common::MutexLock lock(mu_);
    entry->removed = true;
    entries_.erase(name);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second->spec.copy_of == name && it->second->spec.shard >= 0) {
        it->second->removed = true;
        copies.push_back(it->second);
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = aliases_.begin(); it != aliases_.end();) {
      if (it->second.database == name) {
        stranded.push_back(it->first);
        it = aliases_.erase(it);
      } else {
        ++it;
      }
    }
  }
  stop_cv_.NotifyAll();
  if (entry->refresher.joinable()) entry->refresher.join();
  {
    // Waits for a build in progress; requests in flight keep their snapshot until they finish.
    common::MutexLock build_lock(entry->build_mu);
  }
  for (auto& copy : copies) {
    if (copy->refresher.joinable()) copy->refresher.join();
    common::MutexLock build_lock(copy->build_mu);
  }
  std::error_code ec;
  fs::remove_all(fs::path(options_.cache_dir) / name, ec);
  for (auto& copy : copies) {
    fs::remove_all(fs::path(options_.cache_dir) / copy->spec.name, ec);
    if (listener_) listener_(copy->spec.name);
  }
  Status saved = SaveState();
  if (listener_) {
    listener_(name);
    for (const auto& alias : stranded) listener_(alias);
  }
  return saved;
}

Status DatasetManager::SetAlias(const std::string& alias, const std::string& database, const std::string& pinned) {
  common::MutexLock state_lock(state_mu_);
  std::shared_ptr<const Snapshot> target;
  DatasetSpec as_alias;
  {
    common::MutexLock lock(mu_);
    if (entries_.contains(alias)) return AlreadyExists("a database has that name", alias);
    auto found = entries_.find(database);
    if (found == entries_.end()) return NotFound("unknown database", database);
    const DatasetStatus& status = found->second->status;
    if (pinned.empty()) {
      target = status.current;
    } else if (status.current && status.current->id() == pinned) {
      target = status.current;
    } else if (status.previous && status.previous->id() == pinned) {
      target = status.previous;
    } else {
      return NotFound("no such version on disk (current or previous) of " + database, pinned);
    }
    if (!target) return FailedPrecondition("database has not loaded yet", database);
    as_alias = found->second->spec;
    as_alias.name = alias;
  }
  if (validator_) {
    Status valid = validator_(as_alias, *target);
    if (!valid.ok()) return Status(valid.code(), "alias " + alias + ": " + valid.message());
  }
  Alias previous;
  bool existed = false;
  {
    common::MutexLock lock(mu_);
    if (auto it = aliases_.find(alias); it != aliases_.end()) {
      previous = it->second;
      existed = true;
    }
    aliases_[alias] = Alias{database, pinned};
  }
  Status saved = SaveState();
  if (!saved.ok()) {
    common::MutexLock lock(mu_);
    if (existed) {
      aliases_[alias] = previous;
    } else {
      aliases_.erase(alias);
    }
    return saved;
  }
  if (listener_) listener_(alias);
  return Status::Ok();
}

Status DatasetManager::DeleteAlias(const std::string& alias, bool force) {
  common::MutexLock state_lock(state_mu_);
  {
    common::MutexLock lock(mu_);
    if (!aliases_.contains(alias)) return NotFound("unknown alias", alias);
  }
  if (!force && users_of_) {
    auto users = users_of_(alias);
    if (!users.empty()) return FailedPrecondition("endpoint " + users.front() + " uses it (use force)", alias);
  }
  {
    common::MutexLock lock(mu_);
    aliases_.erase(alias);
  }
  Status saved = SaveState();
  if (listener_) listener_(alias);
  return saved;
}

Status DatasetManager::ReplaceAliases(const std::map<std::string, std::string>& declared, const RuntimeState& runtime) {
  common::MutexLock state_lock(state_mu_);
  std::map<std::string, Alias, std::less<>> target;
  for (const auto& [alias, database] : declared) target[alias] = Alias{database, ""};
  for (const auto& [alias, value] : runtime.aliases) target[alias] = value;
  std::vector<std::string> changed;
  std::vector<std::pair<DatasetSpec, std::shared_ptr<const Snapshot>>> checks;
  {
    common::MutexLock lock(mu_);
    for (const auto& [alias, value] : target) {
      auto current = aliases_.find(alias);
      if (current != aliases_.end() && current->second == value) continue;
      auto found = entries_.find(value.database);
      if (found == entries_.end()) return NotFound("alias " + alias + " names an unknown database", value.database);
      changed.push_back(alias);
      DatasetSpec as_alias = found->second->spec;
      as_alias.name = alias;
      std::shared_ptr<const Snapshot> snapshot = value.pinned.empty() ? found->second->status.current : nullptr;
      if (!value.pinned.empty()) {
        for (const auto& candidate : {found->second->status.current, found->second->status.previous}) {
          if (candidate && candidate->id() == value.pinned) snapshot = candidate;
        }
      }
      if (snapshot) checks.emplace_back(std::move(as_alias), std::move(snapshot));
    }
    for (const auto& [alias, value] : aliases_) {
      if (!target.contains(alias)) changed.push_back(alias);
    }
  }
  for (const auto& [spec, snapshot] : checks) {
    if (!validator_) break;
    Status valid = validator_(spec, *snapshot);
    if (!valid.ok()) return Status(valid.code(), "alias " + spec.name + ": " + valid.message());
  }
  {
    common::MutexLock lock(mu_);
    aliases_ = std::move(target);
  }
  if (listener_) {
    for (const auto& alias : changed) listener_(alias);
  }
  return Status::Ok();
}

std::vector<AliasInfo> DatasetManager::Aliases() const {
  common::MutexLock lock(mu_);
  std::vector<AliasInfo> out;
  for (const auto& [alias, target] : aliases_) out.push_back({alias, target.database, target.pinned});
  return out;
}

std::shared_ptr<const Snapshot> DatasetManager::ResolveLocked(const std::string& name) const {
  auto found = entries_.find(name);
  if (found != entries_.end()) return found->second->status.current;
  auto alias = aliases_.find(name);
  if (alias == aliases_.end()) return nullptr;
  found = entries_.find(alias->second.database);
  if (found == entries_.end()) return nullptr;
  const DatasetStatus& status = found->second->status;
  if (alias->second.pinned.empty()) return status.current;
  if (status.current && status.current->id() == alias->second.pinned) return status.current;
  if (status.previous && status.previous->id() == alias->second.pinned) return status.previous;
  return nullptr;  // the pinned version is gone (e.g. after a restart): not ready, never other data
}

std::shared_ptr<const Snapshot> DatasetManager::Current(const std::string& name) const {
  common::MutexLock lock(mu_);
  return ResolveLocked(name);
}

std::shared_ptr<const Snapshot> DatasetManager::CurrentOrPrevious(const std::string& name, const std::string& snapshot) const {
  common::MutexLock lock(mu_);
  auto found = entries_.find(name);
  if (found == entries_.end()) return nullptr;
  const DatasetStatus& status = found->second->status;
  if (status.current && status.current->id() == snapshot) return status.current;
  if (status.previous && status.previous->id() == snapshot) return status.previous;
  return nullptr;
}

bool DatasetManager::Cold(const std::string& name) const {
  common::MutexLock lock(mu_);
  return ColdEntryLocked(name) != nullptr;
}

// What /status and stats show of one entry: its status plus the live lazy and download counters.
static DatasetStatus StatusSnapshot(const DatasetStatus& status, const store::TransferProgress& progress) {
  DatasetStatus out = status;
  if (status.current && status.current->lazy()) {
    const LazyFiles& lazy = *status.current->lazy();
    out.lazy = true;
    out.cached_files = lazy.cached_files();
    out.lazy_fetched_bytes = lazy.fetched_bytes();
    out.lazy_metadata_bytes = lazy.metadata_bytes();
  }
  if (status.loading) {
    out.download_total_bytes = progress.total_bytes;
    out.download_done_bytes = progress.done_bytes;
    out.download_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - progress.started).count();
  }
  return out;
}

std::vector<DatasetStatus> DatasetManager::Statuses() const {
  common::MutexLock lock(mu_);
  std::vector<DatasetStatus> out;
  out.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) out.push_back(StatusSnapshot(entry->status, entry->progress));
  return out;
}

Result<DatasetStatus> DatasetManager::StatusOf(const std::string& name) const {
  common::MutexLock lock(mu_);
  auto found = entries_.find(name);
  if (found == entries_.end()) return NotFound("unknown database", name);
  return StatusSnapshot(found->second->status, found->second->progress);
}

// What every member will load, checked before the database is committed, from metadata only
// (the file list and Parquet footers, as a lazy load fetches them): the source exists and has
// data, and a shard column is a column of every table it splits.
Status DatasetManager::Probe(const DatasetSpec& spec) {
  ASSIGN_OR_RETURN(auto tables, ListWholeSources(spec, options_.cache_dir));
  if (spec.placement.by_file()) return Status::Ok();
  DatasetSpec lazy = spec;
  lazy.lazy = true;
  const fs::path dir = fs::path(options_.cache_dir) / (".probe-" + spec.name);
  auto snapshot = BuildSnapshot(lazy, tables, SnapshotId(lazy, tables), dir.string(), OpenOptions(), true, nullptr, nullptr,
                                std::chrono::steady_clock::now());
  std::error_code ec;
  if (!snapshot.ok()) {
    fs::remove_all(dir, ec);
    return AsLoadFailure(snapshot.status(), options_.cache_dir);
  }
  Status found = Status::Ok();
  const auto& global = spec.placement.global_tables;
  for (const auto& table : (*snapshot)->tables()) {
    if (std::find(global.begin(), global.end(), table.name) != global.end()) continue;
    const bool has = std::any_of(table.columns.begin(), table.columns.end(),
                                 [&](const engine::ColumnInfo& column) { return column.name == spec.placement.shard_by; });
    if (!has && found.ok()) {
      found = InvalidArgument("shard_by column '" + spec.placement.shard_by + "' is not a column of table " + table.name +
                              " (make it global, or shard by another column)", spec.name);
    }
  }
  snapshot->reset();
  fs::remove_all(dir, ec);
  return found;
}

Status DatasetManager::HoldCopy(const CopyId& copy) {
  std::shared_ptr<Entry> entry;
  {
    common::MutexLock lock(mu_);
    auto found = entries_.find(copy.database);
    if (found == entries_.end() || !found->second->spec.copy_of.empty() || found->second->pending) {
      return NotFound("unknown database", copy.database);
    }
    const DatasetSpec& spec = found->second->spec;
    const int shards = spec.placement.shards;
    if (copy.shard < 0 || copy.shard >= shards) {
      return InvalidArgument("shard " + std::to_string(copy.shard) + " of " + std::to_string(shards), copy.database);
    }
    if (shards == 1) {
      entry = found->second;
    } else {
      const std::string name = CopyName(copy.database, copy.shard, shards);
      auto& slot = entries_[name];
      if (!slot) {
        slot = std::make_shared<Entry>(ShardCopySpec(spec, copy.shard));
        slot->status.name = name;
        slot->status.source = found->second->status.source;
        slot->status.refresh_interval_ms = spec.refresh_interval_ms;
        slot->status.max_age_ms = spec.max_age_ms;
        slot->status.idle_evict_ms = spec.idle_evict_ms;
        slot->status.placement = spec.placement;
      }
      entry = slot;
    }
    entry->held = true;
  }
  return Hold(entry);
}

Status DatasetManager::Hold(const std::shared_ptr<Entry>& entry) {
  if (options_.warm_start && WarmStart(*entry)) {
    common::MutexLock lock(mu_);
    warmers_.emplace_back([this, entry] {
      common::RunBarrier("warm start check " + entry->spec.name, "", [&] { [[maybe_unused]] Status status = Build(*entry, false); });
    });
    return Status::Ok();
  }
  Status built = Build(*entry, false);
  StartRefresher(*entry);  // a failed first load is retried on the refresh schedule too
  return built;
}

Status DatasetManager::DropCopy(const CopyId& copy) {
  std::shared_ptr<Entry> entry;
  bool shard_copy = false;
  {
    common::MutexLock lock(mu_);
    auto base = entries_.find(copy.database);
    if (base == entries_.end() || !base->second->spec.copy_of.empty()) return NotFound("unknown database", copy.database);
    shard_copy = base->second->spec.placement.shards > 1;
    auto found = entries_.find(CopyName(copy.database, copy.shard, base->second->spec.placement.shards));
    if (found == entries_.end() || !found->second->held) return NotFound("no such copy on this member", copy.database);
    entry = found->second;
    entry->held = false;
    if (shard_copy) {
      entry->removed = true;
      entries_.erase(found);
    }
  }
  stop_cv_.NotifyAll();
  if (shard_copy && entry->refresher.joinable()) entry->refresher.join();
  Unload(*entry);
  return Status::Ok();
}

// Waits for a build in progress, then forgets the snapshots and deletes the files.
void DatasetManager::Unload(Entry& entry) {
  {
    common::MutexLock build_lock(entry.build_mu);
    common::MutexLock lock(mu_);
    entry.status.current = nullptr;
    entry.status.previous = nullptr;
    entry.status.loading = false;
    entry.status.last_error.clear();
  }
  std::error_code ec;
  fs::remove_all(fs::path(options_.cache_dir) / entry.spec.name, ec);
  common::Log(common::LogLevel::kInfo, "copy dropped", "\"dataset\":\"" + entry.spec.name + "\"");
  if (listener_) listener_(entry.spec.name);
}

std::vector<CopyStatus> DatasetManager::Copies() const {
  common::MutexLock lock(mu_);
  std::vector<CopyStatus> out;
  for (const auto& [name, entry] : entries_) {
    if (!entry->held) continue;
    CopyStatus copy;
    copy.id = {entry->spec.copy_of.empty() ? entry->spec.name : entry->spec.copy_of, std::max(entry->spec.shard, 0)};
    copy.name = entry->spec.name;
    const DatasetStatus& status = entry->status;
    if (status.current) {
      copy.state = CopyStatus::State::kReady;
      copy.snapshot = status.current->id();
      copy.bytes = status.current->bytes();
      if (status.previous) copy.previous = status.previous->id();
    } else if (status.cold) {
      copy.state = CopyStatus::State::kCold;
      copy.snapshot = entry->cold_snapshot;
    } else if (!status.loading && !status.last_error.empty()) {
      copy.state = CopyStatus::State::kFailed;
    }
    copy.error = status.last_error;
    out.push_back(std::move(copy));
  }
  return out;
}

std::vector<DatasetSpec> DatasetManager::Databases() const {
  common::MutexLock lock(mu_);
  std::vector<DatasetSpec> out;
  for (const auto& [name, entry] : entries_) {
    if (entry->spec.copy_of.empty() && !entry->pending) out.push_back(entry->spec);
  }
  return out;
}

// The copies a previous run left serving (<cache>/<copy name>/CURRENT) of the catalog's databases.
std::vector<CopyId> DatasetManager::CopiesOnDisk() const {
  std::vector<CopyId> out;
  for (const DatasetSpec& spec : Databases()) {
    for (int shard = 0; shard < spec.placement.shards; ++shard) {
      std::error_code ec;
      if (fs::exists(fs::path(options_.cache_dir) / CopyName(spec.name, shard, spec.placement.shards) / "CURRENT", ec)) {
        out.push_back({spec.name, shard});
      }
    }
  }
  return out;
}

void DatasetManager::StartRefresher(Entry& entry) {
  common::MutexLock lock(mu_);
  if (refreshing_ && entry.spec.refresh_interval_ms > 0 && !entry.refresher.joinable()) {
    entry.refresher = std::thread([this, e = &entry] { RefreshLoop(e); });
  }
}

void DatasetManager::StartRefreshing() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    common::MutexLock lock(mu_);
    refreshing_ = true;
    for (auto& [name, entry] : entries_) entries.push_back(entry);
  }
  for (auto& entry : entries) StartRefresher(*entry);
  // Scale to zero: one thread looks for idle datasets once a second (a dataset added later with
  // idle_evict is seen too). Cheap: a scan of the entries under mu_.
  evictor_ = std::thread([this] {
    common::MutexLock lock(mu_);
    while (!stop_cv_.WaitFor(mu_, std::chrono::seconds(1), [&]() REQUIRES(mu_) { return stopping_; })) {
      lock.Unlock();
      common::RunBarrier("idle eviction", "", [&] { EvictIdle(); });
      lock.Lock();
    }
  });
}

int64_t DatasetManager::LastUsedLocked(const Entry& entry) const {
  const DatasetStatus& status = entry.status;
  if (!status.current) return 0;
  const int64_t loaded_ms = std::chrono::duration_cast<std::chrono::milliseconds>(status.current->loaded_at().time_since_epoch()).count();
  return std::max({entry.last_used_ms > 0 ? entry.last_used_ms : loaded_ms, status.current->last_access_ms(),
                   status.previous ? status.previous->last_access_ms() : 0});
}

void DatasetManager::EvictIdle() {
  const int64_t now_ms = common::WallMillis();
  std::vector<std::shared_ptr<Entry>> idle;
  {
    common::MutexLock lock(mu_);
    for (const auto& [name, entry] : entries_) {
      // In a cluster a cold copy stays held (placement keeps counting it; the shard map says cold).
      if (entry->spec.idle_evict_ms <= 0 || entry->status.loading || !entry->status.current) continue;
      if (now_ms - LastUsedLocked(*entry) >= entry->spec.idle_evict_ms) idle.push_back(entry);
    }
  }
  for (const auto& entry : idle) Evict(*entry);
}

// Closes an idle dataset's snapshots and deletes its files; its routes answer by loading it again
// (Warm). Requests in flight keep their snapshot (an unlinked file stays readable until closed).
void DatasetManager::Evict(Entry& entry) {
  std::vector<std::string> changed{entry.spec.name};
  // build_mu is held until the files are gone: a request that comes as the dataset goes cold loads
  // it again (Warm -> Build, under build_mu), and its new snapshot must not be written into the
  // directory while this deletes it (a request right after eviction failed 503 that way).
  common::MutexLock build_lock(entry.build_mu);
  {
    common::MutexLock lock(mu_);
    DatasetStatus& status = entry.status;
    // Checked again under the locks: a request or a refresh may have come since EvictIdle looked.
    if (entry.removed || !status.current || common::WallMillis() - LastUsedLocked(entry) < entry.spec.idle_evict_ms) return;
    for (const auto& [alias, target] : aliases_) {
      if (target.database != entry.spec.name) continue;
      if (!target.pinned.empty()) return;  // a pinned version must stay on disk
      changed.push_back(alias);
    }
    entry.last_used_ms = LastUsedLocked(entry);
    entry.cold_snapshot = status.current->id();
    status.current = nullptr;
    status.previous = nullptr;
    status.cold = true;
  }
  // Unpublished first, then the files go.
  if (listener_) {
    for (const auto& name : changed) listener_(name);
  }
  std::error_code ec;
  fs::remove_all(fs::path(options_.cache_dir) / entry.spec.name, ec);
  common::Log(common::LogLevel::kInfo, "dataset evicted (idle)",
              "\"dataset\":\"" + entry.spec.name + "\",\"idle_evict_ms\":" + std::to_string(entry.spec.idle_evict_ms));
}

std::shared_ptr<DatasetManager::Entry> DatasetManager::ColdEntryLocked(const std::string& name) const {
  auto alias = aliases_.find(name);
  auto found = entries_.find(alias != aliases_.end() ? alias->second.database : name);
  if (found == entries_.end()) return nullptr;
  if (found->second->status.cold) return found->second;
  const DatasetSpec& spec = found->second->spec;
  if (spec.placement.shards <= 1 || !spec.copy_of.empty()) return nullptr;
  for (int k = 0; k < spec.placement.shards; ++k) {
    auto copy = entries_.find(CopyName(spec.name, k, spec.placement.shards));
    if (copy != entries_.end() && copy->second->held && copy->second->status.cold) return copy->second;
  }
  return nullptr;
}

Status DatasetManager::Warm(const std::string& name) {
  std::shared_ptr<Entry> entry;
  {
    common::MutexLock lock(mu_);
    entry = ColdEntryLocked(name);
    if (!entry) return Status::Ok();
  }
  common::MutexLock warm_lock(entry->warm_mu);
  {
    common::MutexLock lock(mu_);
    if (!entry->status.cold) return Status::Ok();  // not evicted, or another request warmed it
  }
  common::Log(common::LogLevel::kInfo, "dataset warming (a request came)", "\"dataset\":\"" + entry->spec.name + "\"");
  return Build(*entry, false);
}

void DatasetManager::RefreshLoop(Entry* entry) {
  common::MutexLock lock(mu_);
  while (!stop_cv_.WaitFor(mu_, std::chrono::milliseconds(entry->spec.refresh_interval_ms),
                           [&]() REQUIRES(mu_) { return stopping_ || entry->removed; })) {
    lock.Unlock();
    // A failure is recorded in the status and logged; the current snapshot keeps serving. The
    // barrier keeps the schedule alive past an exception (this is the thread's only job).
    // A cold dataset stays cold: the next request loads what is new (Warm).
    if (!entry->status.cold) {
      common::RunBarrier("refresh " + entry->spec.name, "", [&] { [[maybe_unused]] Status status = Build(*entry, false); });
    }
    lock.Lock();
  }
}

}  // namespace dram::database
