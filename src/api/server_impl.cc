#include "api/server_impl.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "api/code_endpoint_support.h"
#include "common/log.h"

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
  return options;
}

}  // namespace

ServerImpl::ServerImpl(ProjectSpec project)
    : project_(std::move(project)), cache_(static_cast<size_t>(project_.settings.cache_max_bytes)) {
  const ServerSettings& settings = project_.settings;
  auto authenticator = auth::Authenticator::Create(settings.auth);
  if (authenticator.ok()) {
    authenticator_ = std::move(authenticator).value();
  } else {
    auth_error_ = authenticator.status().message();
  }
  ApiOptions api_options;
  // Enough workers to keep every dataset's pool busy; more would only queue on the pools.
  constexpr int64_t kMaxWorkers = 256;
  api_options.workers = static_cast<int>(
      std::min<int64_t>(kMaxWorkers, settings.pool_size * std::max<int64_t>(1, static_cast<int64_t>(project_.datasets.size()))));
  api_options.queue_timeout_ms = settings.queue_timeout_ms;
  api_options.max_in_flight = settings.max_in_flight > 0 ? settings.max_in_flight : settings.pool_size * 64;
  api_options.max_in_flight_per_tenant = settings.max_in_flight_per_tenant;
  api_options.rate_per_key = settings.rate_per_key;
  api_options.rate_per_tenant = settings.rate_per_tenant;
  api_options.rate_burst = settings.rate_burst;
  api_options.query_timeout_ms = settings.query_timeout_ms;
  api_ = std::make_unique<ApiService>(api_options, cache_, metrics_, authenticator_.get());
  database::ManagerOptions manager_options;
  manager_options.cache_dir = settings.cache_dir;
  manager_options.engine.threads = settings.engine_threads;
  manager_options.engine.memory_limit = settings.memory_limit;
  manager_options.pool_size = static_cast<size_t>(settings.pool_size);
  datasets_ = std::make_unique<database::DatasetManager>(
      manager_options, project_.datasets,
      [this](const database::DatasetSpec& spec, const database::Snapshot& snapshot) { return Validate(spec, snapshot); },
      [this](const std::string& dataset) { OnSwap(dataset); }, project_.aliases,
      [this](const std::string& name) {
        std::vector<std::string> users;
        std::lock_guard lock(mu_);
        for (const auto& endpoint : project_.endpoints) {
          if (endpoint.dataset == name) users.push_back("/v" + std::to_string(endpoint.version) + "/" + endpoint.name);
        }
        return users;
      });
  const char* token = std::getenv(settings.admin_token_env.c_str());
  admin_ = std::make_unique<AdminService>(*datasets_, *api_, cache_, metrics_, token ? token : "",
                                          std::chrono::milliseconds(settings.query_timeout_ms > 0 ? settings.query_timeout_ms : 30'000));
}

ServerImpl::~ServerImpl() { Stop(); }

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
  project_.endpoints.push_back(std::move(spec));
  return Status::Ok();
}

Status ServerImpl::AddEndpointYaml(const std::string& yaml) {
  // Reuse the project loader: write the YAML where it reads endpoints from, in a scratch project.
  namespace fs = std::filesystem;
  fs::path scratch = fs::temp_directory_path() / ("dram-endpoint-" + std::to_string(::getpid()) + "-" +
                                                  std::to_string(project_.endpoints.size()));
  fs::create_directories(scratch / "endpoints");
  fs::create_directories(scratch / "datasets");
  { std::ofstream(scratch / "endpoints" / "endpoint.yml") << yaml; }
  // A placeholder dataset for each real one, so the loader's cross-checks pass; tables match.
  for (const auto& dataset : project_.datasets) {
    std::ofstream out(scratch / "datasets" / (dataset.name + ".yml"));
    out << "name: " << dataset.name << "\ntables:\n";
    for (const auto& table : dataset.tables) out << "  " << table.name << ": {path: " << table.path << "}\n";
  }
  common::Diagnostics diagnostics;
  ProjectSpec loaded = LoadProject(scratch.string(), diagnostics);
  std::error_code ec;
  fs::remove_all(scratch, ec);
  if (!diagnostics.empty()) return InvalidArgument(diagnostics.ToString());
  for (auto& spec : loaded.endpoints) {
    for (const auto& existing : project_.endpoints) {
      if (existing.name == spec.name && existing.version == spec.version) return AlreadyExists("route is taken", spec.name);
    }
    spec.position.file = "<yaml endpoint " + spec.name + ">";
    project_.endpoints.push_back(std::move(spec));
  }
  return Status::Ok();
}

Result<ServerImpl::Compiled> ServerImpl::CompileFor(const std::string& dataset, const database::Snapshot& snapshot) const {
  Compiled compiled;
  compiled.snapshot_id = snapshot.id();
  common::Diagnostics diagnostics;
  for (const auto& spec : project_.endpoints) {
    if (spec.dataset != dataset) continue;
    auto endpoint = CompiledEndpoint::Compile(spec, snapshot, diagnostics);
    if (endpoint) compiled.by_route[endpoint->route()] = std::move(endpoint);
  }
  if (!diagnostics.empty()) return InvalidArgument("endpoints do not fit the new data:\n" + diagnostics.ToString());
  return compiled;
}

Status ServerImpl::Validate(const database::DatasetSpec& spec, const database::Snapshot& snapshot) {
  ASSIGN_OR_RETURN(Compiled compiled, CompileFor(spec.name, snapshot));
  std::lock_guard lock(mu_);
  pending_[spec.name] = std::move(compiled);
  return Status::Ok();
}

void ServerImpl::OnSwap(const std::string& dataset) {
  auto snapshot = datasets_->Current(dataset);
  {
    std::lock_guard lock(mu_);
    auto pending = pending_.find(dataset);
    if (pending != pending_.end() && snapshot && pending->second.snapshot_id == snapshot->id()) {
      compiled_[dataset] = std::move(pending->second);
      pending_.erase(pending);
    }
  }
  bool current = false;
  {
    std::lock_guard lock(mu_);
    current = snapshot && compiled_.contains(dataset) && compiled_[dataset].snapshot_id == snapshot->id();
  }
  if (snapshot && !current) {
    // A rollback: the previous snapshot compiled before, so this only fails if a bug changed that.
    auto compiled = CompileFor(dataset, *snapshot);
    if (!compiled.ok()) {
      common::Log(common::LogLevel::kError, "endpoints failed to compile after rollback", "\"dataset\":\"" + dataset + "\"");
      return;
    }
    std::lock_guard lock(mu_);
    compiled_[dataset] = std::move(compiled).value();
  }
  Publish();
  cache_.EraseDataset(dataset);
}

void ServerImpl::Publish() {
  auto state = std::make_shared<ServingState>();
  std::lock_guard lock(mu_);
  for (const auto& spec : project_.endpoints) {
    std::string route_path = "/v" + std::to_string(spec.version) + "/" + spec.name;
    Route route;
    route.dataset = spec.dataset;
    route.name = spec.name;
    route.tenant_scoped = !spec.tenant_column.empty();
    route.metrics = &metrics_.ForRoute(route_path);
    for (const auto& d : project_.datasets) {
      if (d.name == spec.dataset) route.max_age_ms = d.max_age_ms;
    }
    auto compiled = compiled_.find(spec.dataset);
    if (compiled != compiled_.end()) {
      auto endpoint = compiled->second.by_route.find(route_path);
      if (endpoint != compiled->second.by_route.end()) {
        route.endpoint = endpoint->second;
        route.snapshot = datasets_->Current(spec.dataset);
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
  if (!authenticator_) return FailedPrecondition("authentication could not be set up", auth_error_);
  Publish();  // every route exists from the start; those whose dataset is loading answer not_ready
  // A dataset that fails to load does not stop the others: its endpoints answer not_ready, its
  // error shows in /status and metrics, and its refresh schedule keeps retrying.
  Status loaded = datasets_->LoadAll();
  if (!loaded.ok()) common::Log(common::LogLevel::kError, "some datasets failed to load", "");
  ASSIGN_OR_RETURN(api_server_, http::Server::Start(HttpOptions(settings, settings.listen, settings.io_threads), *api_));
  ASSIGN_OR_RETURN(admin_server_, http::Server::Start(HttpOptions(settings, settings.admin_listen, 1), *admin_));
  datasets_->StartRefreshing();
  common::Log(common::LogLevel::kInfo, "serving",
              "\"api_port\":" + std::to_string(api_server_->port()) + ",\"admin_port\":" + std::to_string(admin_server_->port()));
  return Status::Ok();
}

void ServerImpl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (api_server_) api_server_->Stop();
  if (admin_server_) admin_server_->Stop();
  api_->Drain();
}

}  // namespace dram::api

namespace dram {

Result<std::unique_ptr<Server>> Server::Create(const std::string& project_dir, const ServerOverrides& overrides) {
  common::Diagnostics diagnostics;
  api::ProjectSpec project = api::LoadProject(project_dir, diagnostics);
  if (!overrides.listen.empty()) project.settings.listen = overrides.listen;
  if (!overrides.admin_listen.empty()) project.settings.admin_listen = overrides.admin_listen;
  if (!overrides.cache_dir.empty()) project.settings.cache_dir = std::filesystem::absolute(overrides.cache_dir).string();
  for (const auto& listen : {project.settings.listen, project.settings.admin_listen}) {
    if (!api::SplitHostPort(listen).ok()) diagnostics.Add("dram.yml", 0, 0, "listen address must be HOST:PORT");
  }
  if (!diagnostics.empty()) return InvalidArgument(diagnostics.ToString());
  return std::unique_ptr<Server>(new api::ServerImpl(std::move(project)));
}

}  // namespace dram
