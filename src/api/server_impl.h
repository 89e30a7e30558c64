#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/admin_service.h"
#include "api/api_service.h"
#include "api/catalog_admin.h"
#include "api/compiled_endpoint.h"
#include "api/metrics.h"
#include "api/project.h"
#include "api/response_cache.h"
#include "catalog/catalog.h"
#include "common/mutex.h"
#include "database/dataset_manager.h"
#include "dram/server.h"
#include "http/server.h"

namespace dram::api {

// "host:port" → host and port ("[::1]:80" too); port 0 picks a free one.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& text);

// The command-line overrides of dram.yml's settings (listen addresses, cache directory, poll).
void ApplyServingOverrides(ServerSettings& settings, const ServerOverrides& overrides);

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

// The wiring root behind dram::Server. What a project defines (datasets, endpoints, aliases,
// auth) lives in a Generation; the ports, services, response cache and metrics outlive
// generations. A server following a catalog builds the next version's generation beside the
// serving one (snapshots loaded, endpoints compiled), then publishes it in one atomic swap of the
// routing table (blue-green); if anything fails the serving generation stays.
class ServerImpl : public dram::Server {
 public:
  explicit ServerImpl(ProjectSpec project, std::unique_ptr<CatalogFollow> follow = nullptr);
  ~ServerImpl() override;

  Status AddEndpoint(CodeEndpoint endpoint) override;
  Status AddEndpointYaml(const std::string& yaml) override;
  Status Start() override;
  void Stop() override;
  uint16_t api_port() const override { return api_server_ ? api_server_->port() : 0; }
  uint16_t admin_port() const override { return admin_server_ ? admin_server_->port() : 0; }

 private:
  struct Compiled {
    std::string snapshot_id;
    std::map<std::string, std::shared_ptr<const CompiledEndpoint>> by_route;
  };
  struct Generation {
    // Advanced by the follower when a newer version changes nothing this member serves; atomic
    // because a generation is shared with every thread that serves from it.
    std::atomic<int64_t> catalog_version{0};
    ProjectSpec project;
    std::shared_ptr<const auth::Authenticator> authenticator;
    common::Mutex mu;
    catalog::CatalogDocument document GUARDED_BY(mu);         // what it was built from, runtime kept current
    std::map<std::string, Compiled> compiled GUARDED_BY(mu);  // by dataset: for its current snapshot
    std::map<std::string, Compiled> pending GUARDED_BY(mu);   // by dataset: validated, not yet swapped in
    // Last: destroyed first, so its threads stop before what their callbacks touch goes. Not
    // guarded: set once in MakeGeneration before the generation is shared (thread-safe itself).
    std::unique_ptr<database::DatasetManager> datasets;
  };

  // `first`: the generation the server starts with (may warm-start from snapshots on disk).
  Result<std::shared_ptr<Generation>> MakeGeneration(ProjectSpec project, int64_t version, catalog::CatalogDocument document,
                                                     bool first);
  Result<Compiled> CompileFor(const Generation& generation, const std::string& dataset, const database::Snapshot& snapshot) const;
  Status Validate(Generation& generation, const database::DatasetSpec& spec, const database::Snapshot& snapshot);
  void OnSwap(Generation& generation, const std::string& dataset);
  void Publish(Generation& generation);  // no-op unless `generation` is live
  std::shared_ptr<Generation> Live() const;
  Status SaveRuntime(Generation& generation, const std::string& mine);

  // Following a catalog.
  void FollowLoop();
  void PollOnce();
  Status SwitchTo(int64_t version, catalog::CatalogDocument document) REQUIRES(switch_mu_);
  CatalogFollowStatus FollowStatus() const;

  ProjectSpec project_;  // the first generation's project (and the endpoints added through the library)
  std::vector<EndpointSpec> library_endpoints_;  // added by AddEndpoint*: part of every generation
  std::map<std::string, std::shared_ptr<const CodeEndpoint>> code_endpoints_;  // by route
  ResponseCache cache_;
  MetricsRegistry metrics_;
  std::unique_ptr<ApiService> api_;
  std::unique_ptr<CatalogFollow> follow_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<CatalogAdmin> catalog_admin_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<http::Server> api_server_;
  std::unique_ptr<http::Server> admin_server_;

  mutable common::Mutex live_mu_;  // held while publishing, so swaps and publishes serialize
  std::shared_ptr<Generation> live_ GUARDED_BY(live_mu_);
  bool stopped_ = false;  // Stop()'s caller's thread only (the owner's, then the destructor)

  mutable common::Mutex follow_mu_;
  common::CondVar follow_cv_;
  CatalogFollowStatus follow_status_ GUARDED_BY(follow_mu_);
  int64_t failed_version_ GUARDED_BY(follow_mu_) = 0;  // a version that failed to load: retried when newer appears or later
  std::chrono::steady_clock::time_point failed_at_ GUARDED_BY(follow_mu_);
  std::chrono::steady_clock::time_point last_listing_ = std::chrono::steady_clock::now();  // follower thread only
  bool poll_now_ GUARDED_BY(follow_mu_) = false;
  bool stopping_ GUARDED_BY(follow_mu_) = false;
  common::Mutex switch_mu_;  // one reload at a time
  std::thread follower_;
};

}  // namespace dram::api
