#include "api/server_impl.h"

#include <yaml-cpp/yaml.h>

#include <cassert>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "api/code_endpoint_support.h"
#include "catalog/project_tree.h"
#include "common/barrier.h"
#include "common/civil_time.h"
#include "common/json_text.h"
#include "common/log.h"
#include "store/store_uri.h"

namespace dram::api {

// "host:port" → host and port; port 0 picks a free one.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("expected HOST:PORT", text);
  std::string host = text.substr(0, colon);
  int port = std::atoi(text.c_str() + colon + 1);
  if (port < 0 || port > 65535 || (port == 0 && text.substr(colon + 1) != "0")) return InvalidArgument("bad port", text);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::make_pair(host, static_cast<uint16_t>(port));
}

namespace {

http::ServerOptions HttpOptions(const ServerSettings& settings, const std::string& listen, int io_threads) {
  http::ServerOptions options;
  auto split = SplitHostPort(listen);
  if (split.ok()) std::tie(options.host, options.port) = *split;
  options.io_threads = io_threads;
  options.max_header_bytes = static_cast<size_t>(settings.max_header_bytes);
  options.max_body_bytes = static_cast<size_t>(settings.max_body_bytes);
  options.read_timeout = std::chrono::milliseconds(settings.read_timeout_ms);
  options.idle_timeout = std::chrono::milliseconds(settings.idle_timeout_ms);
  options.gzip_min_bytes = static_cast<size_t>(settings.gzip_min_bytes);
  options.cors_origins = settings.cors_origins;
  options.tls_cert_file = settings.tls_cert_file;
  options.tls_key_file = settings.tls_key_file;
  options.max_connections = static_cast<size_t>(settings.max_connections);
  return options;
}

bool IsLoopbackHost(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

// Without a token the admin port (SQL over every database, management) is for this host alone:
// a server asked to expose it elsewhere refuses to start, and a loopback one says so.
Status CheckAdminExposure(const ServerSettings& settings) {
  const char* token = std::getenv(settings.admin_token_env.c_str());
  if (token && *token) return Status::Ok();
  auto split = SplitHostPort(settings.admin_listen);
  if (!split.ok() || !IsLoopbackHost(split->first)) {
    return FailedPrecondition("the admin port would listen on " + settings.admin_listen + " without an admin token: set $" +
                              settings.admin_token_env + ", or listen on 127.0.0.1");
  }
  common::Log(common::LogLevel::kWarn, "the admin port has no token: any local user can manage this server and query every database",
              "\"set\":\"" + settings.admin_token_env + "\"");
  return Status::Ok();
}

// The admin port serves operators and scrapers: a few connections, so a flood of them on the
// API port cannot take its descriptors, nor it the API port's.
constexpr size_t kAdminMaxConnections = 64;

// The settings a running server bound at start (sockets, HTTP limits, the response cache and the
// request admission limits); a catalog version that changes them takes effect on restart only.
std::string StartBoundSettingsChanged(const ServerSettings& running, const ServerSettings& next) {
  std::string changed;
  auto check = [&](bool differs, const char* name) {
    if (differs) changed += (changed.empty() ? "" : ", ") + std::string(name);
  };
  check(running.listen != next.listen, "listen");
  check(running.admin_listen != next.admin_listen, "admin_listen");
  check(running.io_threads != next.io_threads, "io_threads");
  check(running.max_header_bytes != next.max_header_bytes || running.max_body_bytes != next.max_body_bytes,
        "max_header_bytes/max_body_bytes");
  check(running.read_timeout_ms != next.read_timeout_ms || running.idle_timeout_ms != next.idle_timeout_ms, "timeouts");
  check(running.gzip_min_bytes != next.gzip_min_bytes, "gzip_min_bytes");
  check(running.max_connections != next.max_connections, "max_connections");
  check(running.cors_origins != next.cors_origins, "cors_origins");
  check(running.tls_cert_file != next.tls_cert_file || running.tls_key_file != next.tls_key_file, "tls");
  check(running.cache_max_bytes != next.cache_max_bytes, "cache_max_bytes");
  check(running.admin_token_env != next.admin_token_env, "admin_token_env");
  check(running.rate_per_key != next.rate_per_key || running.rate_per_tenant != next.rate_per_tenant ||
            running.rate_burst != next.rate_burst || running.max_in_flight != next.max_in_flight ||
            running.max_in_flight_per_tenant != next.max_in_flight_per_tenant ||
            running.tenant_pool_share != next.tenant_pool_share ||
            running.queue_timeout_ms != next.queue_timeout_ms || running.query_timeout_ms != next.query_timeout_ms,
        "limits");
  check(running.catalog_poll_ms != next.catalog_poll_ms, "catalog.poll_interval");
  return changed;
}

}  // namespace

void ApplyServingOverrides(ServerSettings& settings, const ServerOverrides& overrides) {
  if (!overrides.listen.empty()) settings.listen = overrides.listen;
  if (!overrides.admin_listen.empty()) settings.admin_listen = overrides.admin_listen;
  if (!overrides.cache_dir.empty()) {
    // Also runs on the catalog follower at every reload: without a working directory (removed
    // under us) a relative path stays relative rather than throwing.
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(overrides.cache_dir, ec);
    settings.cache_dir = ec ? overrides.cache_dir : absolute.string();
  }
  if (overrides.poll_interval_ms > 0) settings.catalog_poll_ms = overrides.poll_interval_ms;
}

ServerImpl::ServerImpl(ProjectSpec project, std::unique_ptr<CatalogFollow> follow)
    : project_(std::move(project)), cache_(static_cast<size_t>(project_.settings.cache_max_bytes)),
      follow_(std::move(follow)) {
  const ServerSettings& settings = project_.settings;
  ApiOptions api_options;
  // Enough workers to keep every dataset's pool busy; more would only queue on the pools.
  constexpr int64_t kMaxWorkers = 256;
  api_options.workers = static_cast<int>(std::min<int64_t>(
      kMaxWorkers, settings.pool_size * std::max<int64_t>(follow_ ? 4 : 1, static_cast<int64_t>(project_.datasets.size()))));
  api_options.queue_timeout_ms = settings.queue_timeout_ms;
  api_options.max_in_flight = settings.max_in_flight > 0 ? settings.max_in_flight : settings.pool_size * 64;
  api_options.max_in_flight_per_tenant = settings.max_in_flight_per_tenant;
  api_options.pool_size = settings.pool_size;
  api_options.tenant_pool_share = settings.tenant_pool_share;
  api_options.rate_per_key = settings.rate_per_key;
  api_options.rate_per_tenant = settings.rate_per_tenant;
  api_options.rate_burst = settings.rate_burst;
  api_options.query_timeout_ms = settings.query_timeout_ms;
  api_ = std::make_unique<ApiService>(api_options, cache_, metrics_);
  const char* token = std::getenv(settings.admin_token_env.c_str());
  std::string admin_token = token ? token : "";
  if (follow_) {
    catalog_ = std::make_unique<catalog::Catalog>(*follow_->store);
    follow_status_.root = follow_->root;
    follow_status_.writer = follow_->writer;
    follow_status_.serving_version = follow_status_.latest_seen = follow_->version;
    catalog_admin_ = std::make_unique<CatalogAdmin>(
        *catalog_, follow_->writer, !admin_token.empty(), [this] { return FollowStatus(); },
        [this] {
          common::MutexLock lock(follow_mu_);
          poll_now_ = true;
          follow_cv_.NotifyAll();
        });
  }
  admin_ = std::make_unique<AdminService>(
      [this] {
        auto generation = Live();
        assert(generation && "admin jobs are joined (Stop) before live_ is reset");
        return std::shared_ptr<database::DatasetManager>(generation, generation->datasets.get());
      },
      *api_, cache_, metrics_,
      AdminAccess{.token = admin_token, .public_read = settings.admin_public_read, .allowed_origins = settings.admin_allow_origins},
      std::chrono::milliseconds(settings.query_timeout_ms > 0 ? settings.query_timeout_ms : 30'000), catalog_admin_.get(),
      follow_ && !follow_->writer);
}

ServerImpl::~ServerImpl() {
  Stop();
  // The generation's threads call back into this object: stop them before the members go, and
  // outside live_mu_, which their callbacks take.
  std::shared_ptr<Generation> last;
  {
    common::MutexLock lock(live_mu_);
    last = std::move(live_);
  }
  last.reset();
}

Result<std::shared_ptr<ServerImpl::Generation>> ServerImpl::MakeGeneration(ProjectSpec project, int64_t version,
                                                                           catalog::CatalogDocument document, bool first) {
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
  if (follow_) {
    manager_options.load_runtime_state = [g] {
      common::MutexLock lock(g->mu);
      return g->document.runtime;
    };
    manager_options.save_runtime_state = [this, g](const std::string& mine) { return SaveRuntime(*g, mine); };
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

// A runtime change (database added, alias set) is committed as the difference it makes, merged
// into the newest version: a concurrent change on another member to other names is kept.
Status ServerImpl::SaveRuntime(Generation& generation, const std::string& mine) {
  if (!follow_->writer) return FailedPrecondition("this member is a reader (--role reader): it never writes the catalog");
  std::string base;
  {
    common::MutexLock lock(generation.mu);
    base = generation.document.runtime;
  }
  auto committed = catalog_->Update(
      [&](catalog::CatalogDocument& document) {
        document.runtime = catalog::MergeRuntime(base, mine, document.runtime);
        return Status::Ok();
      },
      "runtime change");
  if (!committed.ok()) return committed.status();
  common::MutexLock lock(generation.mu);
  generation.document.runtime = mine;  // a version that equals this needs no rebuild
  return Status::Ok();
}

std::shared_ptr<ServerImpl::Generation> ServerImpl::Live() const {
  common::MutexLock lock(live_mu_);
  return live_;
}

Status ServerImpl::AddEndpoint(CodeEndpoint endpoint) {
  ASSIGN_OR_RETURN(EndpointSpec spec, SpecFromCode(endpoint));
  std::string route = "/v" + std::to_string(spec.version) + "/" + spec.name;
  bool known_dataset = std::any_of(project_.datasets.begin(), project_.datasets.end(),
                                   [&](const auto& d) { return d.name == spec.dataset; });
  if (!known_dataset) return InvalidArgument("code endpoint names an unknown dataset", spec.dataset);
  for (const auto& existing : project_.endpoints) {
    if (existing.name == spec.name && existing.version == spec.version) return AlreadyExists("route is taken", route);
  }
  if (code_endpoints_.contains(route)) return AlreadyExists("route is taken", route);
  code_endpoints_[route] = std::make_shared<const CodeEndpoint>(std::move(endpoint));
  library_endpoints_.push_back(spec);
  project_.endpoints.push_back(std::move(spec));
  return Status::Ok();
}

Status ServerImpl::AddEndpointYaml(const std::string& yaml) {
  // Reuse the project loader: write the YAML where it reads endpoints from, in a scratch project.
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path scratch = fs::temp_directory_path(ec) / ("dram-endpoint-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(project_.endpoints.size()));
  if (!ec) fs::create_directories(scratch / "endpoints", ec);
  if (!ec) fs::create_directories(scratch / "datasets", ec);
  if (ec) return Unavailable("cannot create a scratch directory for the endpoint", scratch.string());
  { std::ofstream(scratch / "endpoints" / "endpoint.yml") << yaml; }
  // A placeholder dataset for each real one, so the loader's cross-checks pass; tables match.
  for (const auto& dataset : project_.datasets) {
    std::ofstream out(scratch / "datasets" / (dataset.name + ".yml"));
    out << "name: " << dataset.name << "\ntables:\n";
    for (const auto& table : dataset.tables) out << "  " << table.name << ": {path: " << table.path << "}\n";
  }
  common::Diagnostics diagnostics;
  ProjectSpec loaded = LoadProject(scratch.string(), diagnostics);
  fs::remove_all(scratch, ec);
  if (!diagnostics.empty()) return InvalidArgument(diagnostics.ToString());
  for (auto& spec : loaded.endpoints) {
    for (const auto& existing : project_.endpoints) {
      if (existing.name == spec.name && existing.version == spec.version) return AlreadyExists("route is taken", spec.name);
    }
    spec.position.file = "<yaml endpoint " + spec.name + ">";
    library_endpoints_.push_back(spec);
    project_.endpoints.push_back(std::move(spec));
  }
  return Status::Ok();
}

Result<ServerImpl::Compiled> ServerImpl::CompileFor(const Generation& generation, const std::string& dataset,
                                                    const database::Snapshot& snapshot) const {
  Compiled compiled;
  compiled.snapshot_id = snapshot.id();
  common::Diagnostics diagnostics;
  for (const auto& spec : generation.project.endpoints) {
    if (spec.dataset != dataset) continue;
    auto endpoint = CompiledEndpoint::Compile(spec, snapshot, diagnostics);
    if (endpoint) compiled.by_route[endpoint->route()] = std::move(endpoint);
  }
  if (!diagnostics.empty()) return InvalidArgument("endpoints do not fit the new data:\n" + diagnostics.ToString());
  return compiled;
}

Status ServerImpl::Validate(Generation& generation, const database::DatasetSpec& spec, const database::Snapshot& snapshot) {
  ASSIGN_OR_RETURN(Compiled compiled, CompileFor(generation, spec.name, snapshot));
  common::MutexLock lock(generation.mu);
  generation.pending[spec.name] = std::move(compiled);
  return Status::Ok();
}

void ServerImpl::OnSwap(Generation& generation, const std::string& dataset) {
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

void ServerImpl::Publish(Generation& generation) {
  common::MutexLock live_lock(live_mu_);
  if (live_.get() != &generation) return;  // being built beside the live one: published when it switches
  auto state = std::make_shared<ServingState>();
  state->authenticator = generation.authenticator;
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
    auto compiled = generation.compiled.find(spec.dataset);
    if (compiled != generation.compiled.end()) {
      auto endpoint = compiled->second.by_route.find(route_path);
      if (endpoint != compiled->second.by_route.end()) {
        route.endpoint = endpoint->second;
        route.snapshot = generation.datasets->Current(spec.dataset);
        if (route.snapshot && route.snapshot->id() != compiled->second.snapshot_id) route.snapshot = nullptr;
      }
    }
    // Not compiled yet (its dataset has not loaded): the route exists and answers not_ready.
    if (!route.endpoint) route.snapshot = nullptr;
    if (auto code = code_endpoints_.find(route_path); code != code_endpoints_.end()) route.code = code->second;
    state->routes.emplace(route_path, std::move(route));
  }
  api_->Publish(std::move(state));
}

Status ServerImpl::Start() {
  const ServerSettings& settings = project_.settings;
  RETURN_IF_ERROR(CheckAdminExposure(settings));
  auto first = MakeGeneration(project_, follow_ ? follow_->version : 0, follow_ ? follow_->document : catalog::CatalogDocument{}, true);
  if (!first.ok()) return FailedPrecondition("authentication could not be set up", first.status().message());
  {
    common::MutexLock lock(live_mu_);
    live_ = *first;
  }
  Publish(**first);  // every route exists from the start; those whose dataset is loading answer not_ready
  // A dataset that fails to load does not stop the others: its endpoints answer not_ready, its
  // error shows in /status and metrics, and its refresh schedule keeps retrying.
  Status loaded = (*first)->datasets->LoadAll();
  if (!loaded.ok()) common::Log(common::LogLevel::kError, "some datasets failed to load", "");
  ASSIGN_OR_RETURN(api_server_, http::Server::Start(HttpOptions(settings, settings.listen, settings.io_threads), *api_));
  http::ServerOptions admin_options = HttpOptions(settings, settings.admin_listen, 1);
  admin_options.max_connections = kAdminMaxConnections;
  admin_options.cors_origins.clear();  // the admin port never answers a browser's CORS request
  ASSIGN_OR_RETURN(admin_server_, http::Server::Start(admin_options, *admin_));
  (*first)->datasets->StartRefreshing();
  if (follow_) follower_ = std::thread([this] { FollowLoop(); });
  common::Log(common::LogLevel::kInfo, "serving",
              "\"api_port\":" + std::to_string(api_server_->port()) + ",\"admin_port\":" + std::to_string(admin_server_->port()) +
                  (follow_ ? ",\"catalog_version\":" + std::to_string(follow_->version) : ""));
  return Status::Ok();
}

void ServerImpl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    common::MutexLock lock(follow_mu_);
    stopping_ = true;
    follow_cv_.NotifyAll();
  }
  if (follower_.joinable()) follower_.join();
  // Each port stops accepting and answers the requests it is handling (bounded) before it closes;
  // the queries behind those answers run on api_'s workers, still running here.
  if (api_server_) api_server_->Stop();
  if (admin_server_) admin_server_->Stop();
  api_->Drain();
  // The admin jobs call Live() and this object's follow state: they end before either goes.
  admin_->Drain();
}

CatalogFollowStatus ServerImpl::FollowStatus() const {
  common::MutexLock lock(follow_mu_);
  return follow_status_;
}

void ServerImpl::FollowLoop() {
  const auto interval = std::chrono::milliseconds(std::max<int64_t>(project_.settings.catalog_poll_ms, 10));
  for (;;) {
    {
      common::MutexLock lock(follow_mu_);
      follow_cv_.WaitFor(follow_mu_, interval, [this]() REQUIRES(follow_mu_) { return stopping_ || poll_now_; });
      if (stopping_) return;
      poll_now_ = false;
    }
    // An exception in one poll must not end the following (nor the process).
    common::RunBarrier("catalog follower", "", [this] { PollOnce(); });
  }
}

void ServerImpl::PollOnce() {
  common::MutexLock switching(switch_mu_);
  int64_t serving = Live()->catalog_version;
  int64_t known = serving;
  {
    // A version that failed is tried again when a newer one appears, or after a while (the
    // failure may have been the store's).
    common::MutexLock lock(follow_mu_);
    if (failed_version_ > known && std::chrono::steady_clock::now() - failed_at_ < std::chrono::seconds(30)) known = failed_version_;
  }
  // One HEAD on the next version's key; now and then a full listing instead, which also finds a
  // newer version when retention deleted the next one before this member saw it.
  Result<bool> newer = false;
  if (std::chrono::steady_clock::now() - last_listing_ > std::chrono::seconds(30)) {
    last_listing_ = std::chrono::steady_clock::now();
    auto latest = catalog_->Latest();
    newer = latest.ok() ? Result<bool>(*latest > known) : Result<bool>(latest.status());
  } else {
    newer = catalog_->HasNewerThan(known);
  }
  if (!newer.ok() || !*newer) {
    if (!newer.ok()) {
      common::MutexLock lock(follow_mu_);
      follow_status_.last_error = "cannot poll the catalog: " + newer.status().ToString();
    }
    return;
  }
  const auto seen = std::chrono::steady_clock::now();
  auto latest = catalog_->Latest();
  auto document = latest.ok() ? catalog_->Read(*latest) : Result<catalog::CatalogDocument>(latest.status());
  Status switched = document.ok() ? Status::Ok() : document.status();
  if (switched.ok()) {
    {
      common::MutexLock lock(follow_mu_);
      follow_status_.latest_seen = *latest;
    }
    auto live = Live();
    bool same = false;
    {
      common::MutexLock lock(live->mu);
      same = live->document.SameContent(*document);
    }
    if (same) {
      // Nothing this member serves changed (e.g. the commit was its own runtime change).
      live->catalog_version = *latest;
      common::MutexLock lock(follow_mu_);
      follow_status_.serving_version = *latest;
      follow_status_.last_error.clear();
      return;
    }
    switched = SwitchTo(*latest, std::move(document).value());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - seen).count();
  common::MutexLock lock(follow_mu_);
  if (switched.ok()) {
    follow_status_.serving_version = *latest;
    follow_status_.reloads_ok++;
    follow_status_.last_error.clear();
    follow_status_.last_reload_at = common::IsoTimeOf(std::chrono::system_clock::now());
    follow_status_.last_reload_seconds = seconds;
    failed_version_ = 0;
    common::Log(common::LogLevel::kInfo, "catalog version serving",
                "\"version\":" + std::to_string(*latest) + ",\"seconds\":" + std::to_string(seconds));
  } else {
    follow_status_.reloads_failed++;
    follow_status_.last_error = switched.ToString();
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

Status ServerImpl::SwitchTo(int64_t version, catalog::CatalogDocument document) {
  auto old = Live();
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
  ProjectSpec project = LoadProject(tree, diagnostics);
  if (!diagnostics.empty()) {
    restore_tree();
    return InvalidArgument("catalog version " + std::to_string(version) + " has errors:\n" + diagnostics.ToString());
  }
  ApplyServingOverrides(project.settings, follow_->overrides);
  if (std::string bound = StartBoundSettingsChanged(project_.settings, project.settings); !bound.empty()) {
    common::Log(common::LogLevel::kWarn, "catalog version changes settings that take effect on restart only",
                "\"version\":" + std::to_string(version) + ",\"settings\":\"" + bound + "\"");
  }
  auto generation = MakeGeneration(std::move(project), version, std::move(document), false);
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
  {
    common::MutexLock lock(live_mu_);
    live_ = *generation;
  }
  Publish(**generation);  // the one atomic switch of routes, snapshots and keys
  for (const auto& spec : old->project.datasets) cache_.EraseDataset(spec.name);
  for (const auto& spec : (*generation)->project.datasets) cache_.EraseDataset(spec.name);
  (*generation)->datasets->StartRefreshing();
  return Status::Ok();  // `old` goes when the last request holding its snapshots finishes
}

}  // namespace dram::api

namespace dram {

Result<std::unique_ptr<Server>> Server::Create(const std::string& project_dir, const ServerOverrides& overrides) {
  common::Diagnostics diagnostics;
  api::ProjectSpec project = api::LoadProject(project_dir, diagnostics);
  api::ApplyServingOverrides(project.settings, overrides);
  for (const auto& listen : {project.settings.listen, project.settings.admin_listen}) {
    if (!api::SplitHostPort(listen).ok()) diagnostics.Add("dram.yml", 0, 0, "listen address must be HOST:PORT");
  }
  if (!diagnostics.empty()) return InvalidArgument(diagnostics.ToString());
  return std::unique_ptr<Server>(new api::ServerImpl(std::move(project)));
}

Result<std::unique_ptr<Server>> Server::CreateFromCatalog(const std::string& uri, const ServerOverrides& overrides,
                                                          CatalogRole role) {
  namespace fs = std::filesystem;
  if (store::IsLocalUri(uri) && !fs::is_directory(uri.starts_with("file://") ? uri.substr(7) : uri)) {
    return NotFound("no catalog directory", uri);
  }
  auto follow = std::make_unique<api::CatalogFollow>();
  follow->root = uri;
  follow->writer = role == CatalogRole::kWriter;
  follow->overrides = overrides;
  if (follow->overrides.cache_dir.empty()) follow->overrides.cache_dir = ".dram/cache";
  follow->overrides.cache_dir = fs::absolute(follow->overrides.cache_dir).lexically_normal().string();
  follow->work_dir = follow->overrides.cache_dir + "/.catalog";
  ASSIGN_OR_RETURN(follow->store, store::OpenStore(uri));
  catalog::Catalog catalog(*follow->store);
  auto latest = catalog.Latest();
  if (!latest.ok()) return Unavailable("cannot read the catalog at " + uri + ": " + latest.status().ToString());
  follow->version = *latest;
  ASSIGN_OR_RETURN(follow->document, catalog.Read(*latest));
  // The project of that version, written out where the loader and the dataset manager read it.
  const std::string tree = follow->work_dir + "/project";
  RETURN_IF_ERROR(catalog::SyncTree(*follow->store, follow->document, tree, follow->work_dir + "/objects"));
  common::Diagnostics diagnostics;
  api::ProjectSpec project;
  project.dir = tree;
  if (*latest > 0) project = api::LoadProject(tree, diagnostics);  // an empty catalog serves nothing until the first apply
  api::ApplyServingOverrides(project.settings, follow->overrides);
  for (const auto& listen : {project.settings.listen, project.settings.admin_listen}) {
    if (!api::SplitHostPort(listen).ok()) diagnostics.Add("dram.yml", 0, 0, "listen address must be HOST:PORT");
  }
  if (!diagnostics.empty()) {
    return InvalidArgument("catalog version " + std::to_string(*latest) + " has errors:\n" + diagnostics.ToString());
  }
  return std::unique_ptr<Server>(new api::ServerImpl(std::move(project), std::move(follow)));
}

}  // namespace dram
