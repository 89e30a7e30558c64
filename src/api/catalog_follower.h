#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api/catalog_admin.h"
#include "api/route_publisher.h"
#include "catalog/catalog.h"
#include "common/mutex.h"
#include "dram/server.h"
#include "store/object_store.h"

namespace dram::api {

// A server's link to a catalog in a store (dram serve --catalog): where it is, what this member
// may do, and the version the first state is built from.
struct CatalogFollow {
  std::string root;                             // the URI, for status
  std::unique_ptr<store::ObjectStore> store;
  bool writer = false;                          // may commit (runtime changes, restore, gc)
  std::string work_dir;                         // <cache>/.catalog: the project tree and objects
  int64_t version = 0;
  catalog::CatalogDocument document;
  ServerOverrides overrides;                    // applied to every version's settings
};

// Follows a catalog in a store: polls for a newer version (one HEAD per poll, a full listing now
// and then), builds its generation beside the serving one through the publisher and installs it
// when whole; a version that fails keeps the previous one serving and is retried later. Also
// commits the runtime changes (databases, aliases) a generation makes.
// Owner: ServerImpl. Thread-safety: Start/Stop from the owner's thread; FollowStatus, PollNow and
// SaveRuntime from any thread; the polling runs on its own thread, one reload at a time.
class CatalogFollower {
 public:
  // `running`: the settings the server bound at start (a version changing them is logged).
  CatalogFollower(std::unique_ptr<CatalogFollow> follow, RoutePublisher& publisher, const ServerSettings& running);
  ~CatalogFollower();
  CatalogFollower(const CatalogFollower&) = delete;
  CatalogFollower& operator=(const CatalogFollower&) = delete;

  const CatalogFollow& follow() const { return *follow_; }
  catalog::Catalog& catalog() { return catalog_; }

  void Start();
  void Stop();
  // Asks for a poll now rather than at the next interval (after a commit made here).
  void PollNow();
  CatalogFollowStatus FollowStatus() const;
  // True while a new version's generation is being built beside the live one.
  bool Switching() const { return switching_.load(); }
  // A runtime change (database added, alias set) is committed as the difference it makes, merged
  // into the newest version: a concurrent change on another member to other names is kept.
  Status SaveRuntime(Generation& generation, const std::string& mine);
  // Called with every version this member committed or found (a cluster announces it). Before Start.
  void SetVersionListener(std::function<void(int64_t)> listener) { on_version_ = std::move(listener); }

 private:
  void Loop();
  void PollOnce();
  Status SwitchTo(int64_t version, catalog::CatalogDocument document) REQUIRES(switch_mu_);

  const std::unique_ptr<CatalogFollow> follow_;
  RoutePublisher& publisher_;
  const ServerSettings running_;
  std::function<void(int64_t)> on_version_;
  catalog::Catalog catalog_;

  mutable common::Mutex mu_;
  common::CondVar cv_;
  CatalogFollowStatus status_ GUARDED_BY(mu_);
  int64_t failed_version_ GUARDED_BY(mu_) = 0;  // a version that failed to load: retried when newer appears or later
  std::chrono::steady_clock::time_point failed_at_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_listing_ = std::chrono::steady_clock::now();  // polling thread only
  bool poll_now_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  common::Mutex switch_mu_;  // one reload at a time
  std::atomic<bool> switching_{false};
  std::thread thread_;
};

}  // namespace dram::api
