#include "api/route_publisher.h"

#include "common/log.h"
#include "database/shard.h"

namespace dram::api {

namespace {

// "sales~2" → "sales" (a member's copy of one shard); any other name is its own database.
std::string DatabaseOfCopy(const std::string& name) {
  size_t tilde = name.find('~');
  return tilde == std::string::npos ? name : name.substr(0, tilde);
}

}  // namespace

void RoutePublisher::AddLibraryEndpoint(EndpointSpec spec, std::shared_ptr<const CodeEndpoint> code) {
  if (code) code_endpoints_["/v" + std::to_string(spec.version) + "/" + spec.name] = std::move(code);
  library_endpoints_.push_back(std::move(spec));
}

Result<std::shared_ptr<Generation>> RoutePublisher::Make(ProjectSpec project, int64_t version, catalog::CatalogDocument document,
                                                         bool first) {
  auto generation = std::make_shared<Generation>();
  Generation* g = generation.get();
  generation->catalog_version = version;
  {
    common::MutexLock lock(generation->mu);  // not shared yet: uncontended, for the analysis
    generation->document = std::move(document);
  }
  generation->project = std::move(project);
  for (const auto& spec : library_endpoints_) {
    bool taken = false;
    for (const auto& existing : generation->project.endpoints) taken = taken || (existing.name == spec.name && existing.version == spec.version);
    if (!taken) generation->project.endpoints.push_back(spec);
  }
  const ServerSettings& settings = generation->project.settings;
  ASSIGN_OR_RETURN(auto authenticator, auth::Authenticator::Create(settings.auth));
  generation->authenticator = std::move(authenticator);
  database::ManagerOptions manager_options;
  manager_options.cache_dir = settings.cache_dir;
  manager_options.engine.threads = settings.engine_threads;
  manager_options.engine.memory_limit = settings.memory_limit;
  manager_options.pool_size = static_cast<size_t>(settings.pool_size);
  manager_options.warm_start = first;  // a reload's generation is built whole before it switches
  if (held_) {
    manager_options.placed = true;
    if (!first) manager_options.held = held_;  // the first holds what it finds on disk
  }
  if (save_runtime_) {
    manager_options.load_runtime_state = [g] {
      common::MutexLock lock(g->mu);
      return g->document.runtime;
    };
    manager_options.save_runtime_state = [this, g](const std::string& mine) { return save_runtime_(*g, mine); };
  }
  generation->datasets = std::make_unique<database::DatasetManager>(
      manager_options, generation->project.datasets,
      [this, g](const database::DatasetSpec& spec, const database::Snapshot& snapshot) { return Validate(*g, spec, snapshot); },
      [this, g](const std::string& dataset) { OnSwap(*g, dataset); }, generation->project.aliases,
      [g](const std::string& name) {
        std::vector<std::string> users;
        for (const auto& endpoint : g->project.endpoints) {
          if (endpoint.dataset == name) users.push_back("/v" + std::to_string(endpoint.version) + "/" + endpoint.name);
        }
        return users;
      });
  return generation;
}

std::shared_ptr<Generation> RoutePublisher::Live() const {
  common::MutexLock lock(live_mu_);
  return live_;
}

void RoutePublisher::Install(std::shared_ptr<Generation> generation) {
  std::shared_ptr<Generation> old;
  {
    common::MutexLock lock(live_mu_);
    old = std::exchange(live_, generation);
  }
  Publish(*generation);  // the one atomic switch of routes, snapshots and keys
  if (old) {
    for (const auto& spec : old->project.datasets) cache_.EraseDataset(spec.name);
  }
  for (const auto& spec : generation->project.datasets) cache_.EraseDataset(spec.name);
  // `old` goes when the last request holding its snapshots finishes.
}

void RoutePublisher::Retire() {
  std::shared_ptr<Generation> last;
  {
    common::MutexLock lock(live_mu_);
    last = std::move(live_);
  }
  last.reset();
}

Result<Generation::Compiled> RoutePublisher::CompileFor(const Generation& generation, const std::string& dataset,
                                                        const database::Snapshot& snapshot) const {
  Generation::Compiled compiled;
  compiled.snapshot_id = snapshot.id();
  common::Diagnostics diagnostics;
  for (const auto& spec : generation.project.endpoints) {
    // A shard's copy compiles its database's endpoints: every shard has every table.
    if (spec.dataset != dataset && spec.dataset != DatabaseOfCopy(dataset)) continue;
    auto endpoint = CompiledEndpoint::Compile(spec, snapshot, diagnostics);
    if (endpoint) compiled.by_route[endpoint->route()] = std::move(endpoint);
  }
  if (!diagnostics.empty()) return InvalidArgument("endpoints do not fit the new data:\n" + diagnostics.ToString());
  return compiled;
}

Status RoutePublisher::Validate(Generation& generation, const database::DatasetSpec& spec, const database::Snapshot& snapshot) {
  ASSIGN_OR_RETURN(Generation::Compiled compiled, CompileFor(generation, spec.name, snapshot));
  common::MutexLock lock(generation.mu);
  generation.pending[spec.name] = std::move(compiled);
  return Status::Ok();
}

void RoutePublisher::OnSwap(Generation& generation, const std::string& dataset) {
  auto snapshot = generation.datasets->Current(dataset);
  bool current = false;
  {
    common::MutexLock lock(generation.mu);
    auto pending = generation.pending.find(dataset);
    if (pending != generation.pending.end() && snapshot && pending->second.snapshot_id == snapshot->id()) {
      generation.compiled[dataset] = std::move(pending->second);
      generation.pending.erase(pending);
    }
    current = snapshot && generation.compiled.contains(dataset) && generation.compiled[dataset].snapshot_id == snapshot->id();
  }
  if (snapshot && !current) {
    // A rollback: the previous snapshot compiled before, so this only fails if a bug changed that.
    auto compiled = CompileFor(generation, dataset, *snapshot);
    if (!compiled.ok()) {
      common::Log(common::LogLevel::kError, "endpoints failed to compile after rollback", "\"dataset\":\"" + dataset + "\"");
      return;
    }
    common::MutexLock lock(generation.mu);
    generation.compiled[dataset] = std::move(compiled).value();
  }
  Publish(generation);
  cache_.EraseDataset(dataset);
}

void RoutePublisher::Publish(Generation& generation) {
  common::MutexLock live_lock(live_mu_);
  if (live_.get() != &generation) return;  // being built beside the live one: published when it switches
  auto state = std::make_shared<ServingState>();
  state->authenticator = generation.authenticator;
  // Databases split into shards: their endpoints are served by splitting each request over the
  // shards (ApiService), compiled against whichever copy this member holds.
  std::map<std::string, std::shared_ptr<const ShardedRoute>> sharded, replicated;
  for (const auto& database : generation.datasets->Databases()) {
    if (database.placement.shards <= 1) {
      replicated[database.name] = std::make_shared<const ShardedRoute>(ShardedRoute{.database = database.name, .shards = 1});
      continue;
    }
    sharded[database.name] = std::make_shared<const ShardedRoute>(
        ShardedRoute{.database = database.name,
                     .shards = database.placement.shards,
                     .shard_column = database.placement.by_file() ? "" : database.placement.shard_by});
  }
  common::MutexLock lock(generation.mu);
  for (const auto& spec : generation.project.endpoints) {
    std::string route_path = "/v" + std::to_string(spec.version) + "/" + spec.name;
    Route route;
    route.dataset = spec.dataset;
    route.name = spec.name;
    route.tenant_scoped = !spec.tenant_column.empty();
    route.is_public = spec.is_public;
    route.metrics = &metrics_.ForRoute(route_path);
    for (const auto& d : generation.project.datasets) {
      if (d.name == spec.dataset) route.max_age_ms = d.max_age_ms;
    }
    auto use = [&](const std::string& dataset) REQUIRES(generation.mu) {
      auto compiled = generation.compiled.find(dataset);
      if (compiled == generation.compiled.end()) return;
      auto endpoint = compiled->second.by_route.find(route_path);
      if (endpoint == compiled->second.by_route.end()) return;
      auto snapshot = generation.datasets->Current(dataset);
      if (!snapshot || snapshot->id() != compiled->second.snapshot_id) return;
      route.endpoint = endpoint->second;
      route.snapshot = std::move(snapshot);
    };
    if (auto split = sharded.find(spec.dataset); split != sharded.end()) {
      route.sharded = split->second;
      for (int k = 0; k < split->second->shards && !route.endpoint; ++k) {
        use(database::CopyName(spec.dataset, k, split->second->shards));
      }
    } else {
      use(spec.dataset);
      // (Not through an alias: copies are held under the database's own name.)
      if (auto copies = replicated.find(spec.dataset); copies != replicated.end()) route.replicated = copies->second;
    }
    // Not compiled yet (its dataset has not loaded): the route exists and answers not_ready.
    if (!route.endpoint) {
      route.snapshot = nullptr;
      // (A sharded database: one of the copies this member holds is cold; warming it gives the
      // route a schema to plan requests with.)
      route.cold = generation.datasets->Cold(spec.dataset);
    }
    if (auto code = code_endpoints_.find(route_path); code != code_endpoints_.end()) route.code = code->second;
    state->routes.emplace(route_path, std::move(route));
  }
  api_.Publish(std::move(state));
}

}  // namespace dram::api
