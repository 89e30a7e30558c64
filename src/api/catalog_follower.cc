#include "api/catalog_follower.h"

#include "api/serving_settings.h"
#include "catalog/project_tree.h"
#include "database/runtime_state.h"
#include "common/barrier.h"
#include "common/civil_time.h"
#include "common/json_text.h"
#include "common/log.h"

namespace dram::api {

CatalogFollower::CatalogFollower(std::unique_ptr<CatalogFollow> follow, RoutePublisher& publisher, const ServerSettings& running)
    : follow_(std::move(follow)), publisher_(publisher), running_(running), catalog_(*follow_->store) {
  common::MutexLock lock(mu_);
  status_.root = follow_->root;
  status_.writer = follow_->writer;
  status_.serving_version = status_.latest_seen = follow_->version;
}

CatalogFollower::~CatalogFollower() { Stop(); }

void CatalogFollower::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void CatalogFollower::Stop() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
    cv_.NotifyAll();
  }
  if (thread_.joinable()) thread_.join();
}

void CatalogFollower::PollNow() {
  common::MutexLock lock(mu_);
  poll_now_ = true;
  cv_.NotifyAll();
}

CatalogFollowStatus CatalogFollower::FollowStatus() const {
  common::MutexLock lock(mu_);
  return status_;
}

Status CatalogFollower::SaveRuntime(Generation& generation, const std::string& mine) {
  if (!follow_->writer) return FailedPrecondition("this member is a reader (--role reader): it never writes the catalog");
  std::string base;
  {
    common::MutexLock lock(generation.mu);
    base = generation.document.runtime;
  }
  auto committed = catalog_.Update(
      [&](catalog::CatalogDocument& document) {
        document.runtime = catalog::MergeRuntime(base, mine, document.runtime);
        return Status::Ok();
      },
      "runtime change");
  if (!committed.ok()) return committed.status();
  {
    common::MutexLock lock(generation.mu);
    generation.document.runtime = mine;  // a version that equals this needs no rebuild
  }
  if (on_version_) on_version_(*committed);
  PollNow();
  return Status::Ok();
}

void CatalogFollower::Loop() {
  const auto interval = std::chrono::milliseconds(std::max<int64_t>(running_.catalog_poll_ms, 10));
  for (;;) {
    {
      common::MutexLock lock(mu_);
      cv_.WaitFor(mu_, interval, [this]() REQUIRES(mu_) { return stopping_ || poll_now_; });
      if (stopping_) return;
      poll_now_ = false;
    }
    // An exception in one poll must not end the following (nor the process).
    common::RunBarrier("catalog follower", "", [this] { PollOnce(); });
  }
}

namespace {

// True when `next` differs from what `generation` was built from only in the aliases of its
// runtime state: same project files and data, same runtime databases.
bool AliasesOnlyChanged(Generation& generation, const catalog::CatalogDocument& next) {
  std::string runtime;
  {
    common::MutexLock lock(generation.mu);
    if (generation.document.files != next.files || !(generation.document.data == next.data)) return false;
    runtime = generation.document.runtime;
  }
  if (runtime == next.runtime) return false;
  auto before = database::ParseRuntimeState(runtime.empty() ? "{}" : runtime);
  auto after = database::ParseRuntimeState(next.runtime.empty() ? "{}" : next.runtime);
  if (!before.ok() || !after.ok()) return false;
  before->aliases.clear();
  after->aliases.clear();
  return database::SerializeRuntimeState(*before) == database::SerializeRuntimeState(*after);
}

}  // namespace

void CatalogFollower::PollOnce() {
  common::MutexLock switching(switch_mu_);
  int64_t serving = publisher_.Live()->catalog_version;
  int64_t known = serving;
  {
    // A version that failed is tried again when a newer one appears, or after a while (the
    // failure may have been the store's).
    common::MutexLock lock(mu_);
    if (failed_version_ > known && std::chrono::steady_clock::now() - failed_at_ < std::chrono::seconds(30)) known = failed_version_;
  }
  // One HEAD on the next version's key; now and then a full listing instead, which also finds a
  // newer version when retention deleted the next one before this member saw it.
  Result<bool> newer = false;
  if (std::chrono::steady_clock::now() - last_listing_ > std::chrono::seconds(30)) {
    last_listing_ = std::chrono::steady_clock::now();
    auto latest = catalog_.Latest();
    newer = latest.ok() ? Result<bool>(*latest > known) : Result<bool>(latest.status());
  } else {
    newer = catalog_.HasNewerThan(known);
  }
  if (!newer.ok() || !*newer) {
    if (!newer.ok()) {
      common::MutexLock lock(mu_);
      status_.last_error = "cannot poll the catalog: " + newer.status().ToString();
    }
    return;
  }
  const auto seen = std::chrono::steady_clock::now();
  auto latest = catalog_.Latest();
  auto document = latest.ok() ? catalog_.Read(*latest) : Result<catalog::CatalogDocument>(latest.status());
  Status switched = document.ok() ? Status::Ok() : document.status();
  if (switched.ok()) {
    {
      common::MutexLock lock(mu_);
      status_.latest_seen = *latest;
    }
    if (on_version_) on_version_(*latest);
    auto live = publisher_.Live();
    bool same = false;
    {
      common::MutexLock lock(live->mu);
      same = live->document.SameContent(*document);
    }
    if (!same && AliasesOnlyChanged(*live, *document)) {
      // Another member set or deleted an alias: applied to the serving generation in place
      // (no rebuild of every database), as that member applied it to its own.
      auto runtime = database::ParseRuntimeState(document->runtime);
      if (runtime.ok() && live->datasets->ReplaceAliases(live->project.aliases, *runtime).ok()) {
        common::MutexLock lock(live->mu);
        live->document = *document;
        same = true;
      }
    }
    if (same) {
      // Nothing this member serves changed (e.g. the commit was its own runtime change).
      live->catalog_version = *latest;
      common::MutexLock lock(mu_);
      status_.serving_version = *latest;
      status_.last_error.clear();
      return;
    }
    switching_ = true;
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag = false; }  // also when an exception leaves SwitchTo (the barrier logs it)
    } done{switching_};
    switched = SwitchTo(*latest, std::move(document).value());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - seen).count();
  common::MutexLock lock(mu_);
  if (switched.ok()) {
    status_.serving_version = *latest;
    status_.reloads_ok++;
    status_.last_error.clear();
    status_.last_reload_at = common::IsoTimeOf(std::chrono::system_clock::now());
    status_.last_reload_seconds = seconds;
    failed_version_ = 0;
    common::Log(common::LogLevel::kInfo, "catalog version serving",
                "\"version\":" + std::to_string(*latest) + ",\"seconds\":" + std::to_string(seconds));
  } else {
    status_.reloads_failed++;
    status_.last_error = switched.ToString();
    failed_version_ = latest.ok() ? *latest : failed_version_;
    failed_at_ = std::chrono::steady_clock::now();
    common::Log(common::LogLevel::kError, "catalog reload failed; the previous version keeps serving",
                [&] {
                  std::string field = "\"error\":";
                  common::AppendJsonString(field, switched.ToString());
                  return field;
                }());
  }
}

Status CatalogFollower::SwitchTo(int64_t version, catalog::CatalogDocument document) {
  auto old = publisher_.Live();
  const std::string tree = follow_->work_dir + "/project";
  const std::string objects = follow_->work_dir + "/objects";
  auto restore_tree = [&] {
    common::MutexLock lock(old->mu);
    Status restored = catalog::SyncTree(*follow_->store, old->document, tree, objects);
    if (!restored.ok()) common::Log(common::LogLevel::kError, "cannot restore the serving project tree", "");
  };
  Status synced = catalog::SyncTree(*follow_->store, document, tree, objects);
  if (!synced.ok()) {
    restore_tree();
    return synced;
  }
  common::Diagnostics diagnostics;
  ProjectSpec project;
  project.dir = tree;
  // A catalog with no project applied yet (only databases and aliases added at runtime) serves
  // those with the default settings, as the first version does at start.
  if (!document.files.empty()) project = LoadProject(tree, diagnostics);
  if (!diagnostics.empty()) {
    restore_tree();
    return InvalidArgument("catalog version " + std::to_string(version) + " has errors:\n" + diagnostics.ToString());
  }
  ApplyServingOverrides(project.settings, follow_->overrides);
  if (std::string bound = StartBoundSettingsChanged(running_, project.settings); !bound.empty()) {
    common::Log(common::LogLevel::kWarn, "catalog version changes settings that take effect on restart only",
                "\"version\":" + std::to_string(version) + ",\"settings\":\"" + bound + "\"");
  }
  auto generation = publisher_.Make(std::move(project), version, std::move(document), false);
  if (!generation.ok()) {
    restore_tree();
    return generation.status();
  }
  // Built beside the serving generation: its snapshots load (or are reused when their data did
  // not change) and its endpoints compile while the old ones keep answering.
  Status loaded = (*generation)->datasets->LoadAll();
  if (!loaded.ok()) {
    generation->reset();
    restore_tree();
    return loaded;
  }
  publisher_.Install(*generation);
  (*generation)->datasets->StartRefreshing();
  return Status::Ok();
}

}  // namespace dram::api
