#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/api_service.h"
#include "api/compiled_endpoint.h"
#include "api/metrics.h"
#include "api/project.h"
#include "api/response_cache.h"
#include "catalog/catalog_document.h"
#include "common/mutex.h"
#include "database/dataset_manager.h"
#include "dram/endpoint.h"

namespace dram::api {

// One version of a project being served: what it defines (datasets, endpoints, aliases, auth),
// the snapshots its dataset manager keeps, and the endpoints compiled for them. Shared by every
// thread that serves from it; the fields say how each is protected.
struct Generation {
  struct Compiled {
    std::string snapshot_id;
    std::map<std::string, std::shared_ptr<const CompiledEndpoint>> by_route;
  };
  // Advanced by the follower when a newer version changes nothing this member serves.
  std::atomic<int64_t> catalog_version{0};
  ProjectSpec project;  // set before the generation is shared, then read-only
  std::shared_ptr<const auth::Authenticator> authenticator;
  common::Mutex mu;
  catalog::CatalogDocument document GUARDED_BY(mu);         // what it was built from, runtime kept current
  std::map<std::string, Compiled> compiled GUARDED_BY(mu);  // by dataset: for its current snapshot
  std::map<std::string, Compiled> pending GUARDED_BY(mu);   // by dataset: validated, not yet swapped in
  // Last: destroyed first, so its threads stop before what their callbacks touch goes. Not
  // guarded: set once in Make before the generation is shared (thread-safe itself).
  std::unique_ptr<database::DatasetManager> datasets;
};

// Builds generations and turns the live one into the routing table ApiService serves. A
// generation built beside the live one (a catalog reload) compiles its endpoints as its snapshots
// load; Install then switches routes, snapshots and keys in one atomic publish.
// Owner: ServerImpl. Thread-safety: the endpoint registration (AddLibraryEndpoint, SetRuntimeSaver)
// happens before Start, single-threaded; everything else is thread-safe (live_mu_ serializes
// publishes and swaps, so a late publish of an old generation never overwrites a newer one).
class RoutePublisher {
 public:
  // Commits a generation's runtime state (databases added, aliases set) somewhere durable.
  using RuntimeSaver = std::function<Status(Generation&, const std::string& runtime_json)>;

  RoutePublisher(ApiService& api, ResponseCache& cache, MetricsRegistry& metrics) : api_(api), cache_(cache), metrics_(metrics) {}

  // Endpoints added through the library (dram::Server::AddEndpoint*): part of every generation.
  void AddLibraryEndpoint(EndpointSpec spec, std::shared_ptr<const CodeEndpoint> code);
  bool HasCodeRoute(const std::string& route) const { return code_endpoints_.contains(route); }
  // Set when the server follows a catalog: runtime changes are committed there, and a
  // generation's runtime state comes from its catalog document rather than the cache directory.
  void SetRuntimeSaver(RuntimeSaver saver) { save_runtime_ = std::move(saver); }
  // Set in a cluster: generations load only the copies placement gives this member. `held` names
  // the copies the live generation holds, for the next one to hold too.
  void SetPlaced(std::function<std::vector<database::CopyId>()> held) { held_ = std::move(held); }

  // `first`: the generation the server starts with (may warm-start from snapshots on disk).
  Result<std::shared_ptr<Generation>> Make(ProjectSpec project, int64_t version, catalog::CatalogDocument document, bool first);
  // Makes `generation` the live one and publishes its routes; the caches of the old and new
  // generations' datasets are cleared.
  void Install(std::shared_ptr<Generation> generation);
  std::shared_ptr<Generation> Live() const;
  // Ends the live generation (its threads stop): the destructor's first step, outside live_mu_,
  // which their callbacks take.
  void Retire();

 private:
  Result<Generation::Compiled> CompileFor(const Generation& generation, const std::string& dataset,
                                          const database::Snapshot& snapshot) const;
  Status Validate(Generation& generation, const database::DatasetSpec& spec, const database::Snapshot& snapshot);
  void OnSwap(Generation& generation, const std::string& dataset);
  void Publish(Generation& generation);  // no-op unless `generation` is live

  ApiService& api_;
  ResponseCache& cache_;
  MetricsRegistry& metrics_;
  std::vector<EndpointSpec> library_endpoints_;
  std::map<std::string, std::shared_ptr<const CodeEndpoint>> code_endpoints_;  // by route
  RuntimeSaver save_runtime_;
  std::function<std::vector<database::CopyId>()> held_;

  mutable common::Mutex live_mu_;  // held while publishing, so swaps and publishes serialize
  std::shared_ptr<Generation> live_ GUARDED_BY(live_mu_);
};

}  // namespace dram::api
