#include "api/server_impl.h"

#include <yaml-cpp/yaml.h>

#include <cassert>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "api/code_endpoint_support.h"
#include "api/serving_settings.h"
#include "catalog/project_tree.h"
#include "common/civil_time.h"
#include "common/log.h"
#include "store/store_uri.h"

namespace dram::api {


namespace {

namespace fs = std::filesystem;

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

cluster::ClusterOptions ClusterOptionsOf(const ClusterFlags& flags, const std::string& admin_listen) {
  cluster::ClusterOptions options;
  options.name = flags.name;
  options.etcd = flags.etcd;
  options.member_id = flags.member_id;
  options.advertise = flags.advertise;
  options.admin = admin_listen;
  options.zone = flags.zone;
  options.capacity_bytes = flags.capacity_bytes;
  options.reconciler.lease_ttl = std::chrono::seconds(flags.lease_ttl_s);
  options.reconciler.rereplicate_after = std::chrono::milliseconds(flags.rereplicate_after_ms);
  return options;
}

// The shard map as the cluster view has it, and this member's own copies from the live generation.
class ClusterShardDirectory : public ShardDirectory {
 public:
  ClusterShardDirectory(const cluster::ClusterNode& node, const RoutePublisher& publisher, std::string secret, std::string zone)
      : node_(node), publisher_(publisher), secret_(std::move(secret)), zone_(std::move(zone)) {}

  std::vector<std::vector<ShardReplica>> Replicas(const std::string& database, int shards) const override {
    std::vector<std::vector<ShardReplica>> out(static_cast<size_t>(std::max(0, shards)));
    std::vector<std::vector<ShardReplica>> cold(out.size());
    cluster::ClusterSnapshot view = node_.View();
    for (const auto& replica : view.replicas) {
      if (replica.copy.database != database || replica.copy.shard < 0 || replica.copy.shard >= shards) continue;
      if (replica.state != "ready" && replica.state != "cold") continue;
      auto member = view.members.find(replica.member);
      if (member == view.members.end()) continue;
      auto& into = replica.state == "ready" ? out : cold;
      into[static_cast<size_t>(replica.copy.shard)].push_back(ShardReplica{.member = replica.member,
                                                                          .api = member->second.api,
                                                                          .zone = member->second.zone,
                                                                          .snapshot = replica.snapshot,
                                                                          .previous = replica.previous,
                                                                          .local = replica.member == node_.member_id()});
    }
    // Copies evicted for being idle answer too, loading themselves first (LocalCopy), but only for
    // a shard that has no ready copy: a ready one is always faster.
    for (size_t k = 0; k < out.size(); ++k) {
      if (out[k].empty()) out[k] = std::move(cold[k]);
    }
    // Its own copy first (no network), then the same zone, then the rest in a fixed order.
    for (auto& replicas : out) {
      std::sort(replicas.begin(), replicas.end(), [&](const ShardReplica& a, const ShardReplica& b) {
        return std::tuple(!a.local, a.zone != zone_, a.member) < std::tuple(!b.local, b.zone != zone_, b.member);
      });
    }
    return out;
  }
  // Called for map steps, on a worker: a copy evicted for being idle is loaded again first (the
  // same snapshot id when its files did not change meanwhile), and the step counts as a use.
  std::shared_ptr<const database::Snapshot> LocalCopy(const std::string& copy, const std::string& snapshot) const override {
    auto generation = publisher_.Live();
    if (!generation) return nullptr;
    auto found = generation->datasets->CurrentOrPrevious(copy, snapshot);
    if (!found && generation->datasets->Cold(copy) && generation->datasets->Warm(copy).ok()) {
      found = generation->datasets->CurrentOrPrevious(copy, snapshot);
    }
    if (found) found->RecordAccess();
    return found;
  }
  const std::string& secret() const override { return secret_; }
  const std::string& zone() const override { return zone_; }

 private:
  const cluster::ClusterNode& node_;
  const RoutePublisher& publisher_;
  const std::string secret_;
  const std::string zone_;
};

// The admin port serves operators and scrapers: a few connections, so a flood of them on the
// API port cannot take its descriptors, nor it the API port's.
constexpr size_t kAdminMaxConnections = 64;

// The /docs page's example calls run one after another on the page's thread: a slow endpoint
// gets a schema-derived example rather than delaying the page (or the start) by the query timeout.
constexpr std::chrono::milliseconds kDocsExampleTimeout{5'000};


}  // namespace


ServerImpl::ServerImpl(ProjectSpec project, std::unique_ptr<CatalogFollow> follow)
    : project_(std::move(project)), first_version_(follow ? follow->version : 0),
      first_document_(follow ? follow->document : catalog::CatalogDocument{}),
      cache_(static_cast<size_t>(project_.settings.cache_max_bytes)),
      docs_(std::make_unique<DocsPage>(project_.settings.query_timeout_ms > 0
                                           ? std::min(kDocsExampleTimeout, std::chrono::milliseconds(project_.settings.query_timeout_ms))
                                           : kDocsExampleTimeout,
                                       !project_.settings.tls_cert_file.empty())),
      usage_(project_.settings.usage.enabled
                 ? std::make_unique<usage::UsageRecorder>(common::WallMillis(), static_cast<size_t>(project_.settings.usage.max_keys))
                 : nullptr),
      api_(std::make_unique<ApiService>(
          [&] {
            const ServerSettings& settings = project_.settings;
            ApiOptions options;
            // Enough workers to keep every dataset's pool busy; more would only queue on the pools.
            constexpr int64_t kMaxWorkers = 256;
            options.workers = static_cast<int>(std::min<int64_t>(
                kMaxWorkers,
                settings.pool_size * std::max<int64_t>(follow ? 4 : 1, static_cast<int64_t>(project_.datasets.size()))));
            options.queue_timeout_ms = settings.queue_timeout_ms;
            options.max_in_flight = settings.max_in_flight > 0 ? settings.max_in_flight : settings.pool_size * 64;
            options.max_in_flight_per_tenant = settings.max_in_flight_per_tenant;
            options.pool_size = settings.pool_size;
            options.tenant_pool_share = settings.tenant_pool_share;
            options.rate_per_key = settings.rate_per_key;
            options.rate_per_tenant = settings.rate_per_tenant;
            options.rate_burst = settings.rate_burst;
            options.query_timeout_ms = settings.query_timeout_ms;
            return options;
          }(),
          cache_, metrics_, project_.settings.public_docs ? docs_.get() : nullptr, usage_.get())),
      publisher_(*api_, cache_, metrics_) {
  const ServerSettings& settings = project_.settings;
  // Datasets evicted for being idle load again on their next request, from the live generation.
  api_->SetWarmer([this](const std::string& dataset) {
    auto generation = publisher_.Live();
    return generation ? generation->datasets->Warm(dataset) : Unavailable("the server is stopping");
  });
  const char* token = std::getenv(settings.admin_token_env.c_str());
  std::string admin_token = token ? token : "";
  if (follow && !follow->overrides.cluster.name.empty()) {
    auto node = cluster::ClusterNode::Create(
        ClusterOptionsOf(follow->overrides.cluster, settings.admin_listen),
        [this]() -> std::shared_ptr<database::DatasetManager> {
          auto generation = publisher_.Live();
          return generation ? std::shared_ptr<database::DatasetManager>(generation, generation->datasets.get()) : nullptr;
        },
        [this](int64_t) {
          if (follower_) follower_->PollNow();
        },
        [this] { return follower_ && follower_->Switching(); });
    if (node.ok()) {
      cluster_ = std::move(node).value();
      publisher_.SetPlaced([this] { return cluster_->Held(); });
    } else {
      cluster_error_ = node.status();
    }
  }
  if (cluster_) {
    // Members ask each other for map steps with this secret; without it, sharded routes answer 503.
    const char* secret = std::getenv("DRAM_CLUSTER_SECRET");
    if (secret && *secret) {
      auto reducer = ShardReducer::Create(static_cast<size_t>(std::max<int64_t>(2, settings.pool_size)));
      if (reducer.ok()) {
        shard_directory_ = std::make_unique<ClusterShardDirectory>(*cluster_, publisher_, secret, follow->overrides.cluster.zone);
        shard_coordinator_ = std::make_unique<ShardCoordinator>(*shard_directory_, std::move(reducer).value());
        api_->SetShardCoordinator(shard_coordinator_.get());
      } else {
        cluster_error_ = reducer.status();
      }
    }
  }
  if (follow) {
    const bool writer = follow->writer;
    follower_ = std::make_unique<CatalogFollower>(std::move(follow), publisher_, settings);
    publisher_.SetRuntimeSaver([this](Generation& generation, const std::string& mine) { return follower_->SaveRuntime(generation, mine); });
    if (cluster_) follower_->SetVersionListener([this](int64_t version) { cluster_->AnnounceCatalog(version); });
    catalog_admin_ = std::make_unique<CatalogAdmin>(
        follower_->catalog(), writer, !admin_token.empty(), [this] { return follower_->FollowStatus(); },
        [this] { follower_->PollNow(); });
  }
  admin_ = std::make_unique<AdminService>(
      [this] {
        auto generation = publisher_.Live();
        assert(generation && "admin jobs are joined (Stop) before the live generation is retired");
        return std::shared_ptr<database::DatasetManager>(generation, generation->datasets.get());
      },
      *api_, cache_, metrics_, *docs_,
      AdminAccess{.token = admin_token, .public_read = settings.admin_public_read, .allowed_origins = settings.admin_allow_origins},
      std::chrono::milliseconds(settings.query_timeout_ms > 0 ? settings.query_timeout_ms : 30'000), catalog_admin_.get(),
      follower_ && !follower_->follow().writer, cluster_.get(), shard_coordinator_.get());
}

ServerImpl::~ServerImpl() {
  Stop();
  // The generation's threads call back into the publisher: they stop before the members go.
  publisher_.Retire();
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
  if (publisher_.HasCodeRoute(route)) return AlreadyExists("route is taken", route);
  publisher_.AddLibraryEndpoint(spec, std::make_shared<const CodeEndpoint>(std::move(endpoint)));
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
    publisher_.AddLibraryEndpoint(spec, nullptr);
    project_.endpoints.push_back(std::move(spec));
  }
  return Status::Ok();
}

Status ServerImpl::Start() {
  const ServerSettings& settings = project_.settings;
  RETURN_IF_ERROR(CheckAdminExposure(settings));
  RETURN_IF_ERROR(cluster_error_);
  auto first = publisher_.Make(project_, first_version_, first_document_, true);
  if (!first.ok()) return FailedPrecondition("authentication could not be set up", first.status().message());
  publisher_.Install(*first);  // every route exists from the start; those whose dataset is loading answer not_ready
  // A dataset that fails to load does not stop the others: its endpoints answer not_ready, its
  // error shows in /status and metrics, and its refresh schedule keeps retrying.
  Status loaded = (*first)->datasets->LoadAll();
  if (!loaded.ok()) common::Log(common::LogLevel::kError, "some datasets failed to load", "");
  ASSIGN_OR_RETURN(api_server_, http::Server::Start(HttpOptions(settings, settings.listen, settings.io_threads), *api_));
  if (auto listen = SplitHostPort(settings.listen); listen.ok()) docs_->SetApiAddress(listen->first, api_server_->port());
  docs_->Prepare(api_->state());  // the examples are real calls, made now rather than on the first view
  http::ServerOptions admin_options = HttpOptions(settings, settings.admin_listen, 1);
  admin_options.max_connections = kAdminMaxConnections;
  admin_options.cors_origins.clear();  // the admin port never answers a browser's CORS request
  ASSIGN_OR_RETURN(admin_server_, http::Server::Start(admin_options, *admin_));
  RETURN_IF_ERROR(StartUsageLog());
  (*first)->datasets->StartRefreshing();
  if (follower_) follower_->Start();
  if (cluster_) cluster_->Start();
  common::Log(common::LogLevel::kInfo, "serving",
              "\"api_port\":" + std::to_string(api_server_->port()) + ",\"admin_port\":" + std::to_string(admin_server_->port()) +
                  (follower_ ? ",\"catalog_version\":" + std::to_string(first_version_) : ""));
  return Status::Ok();
}

Status ServerImpl::StartUsageLog() {
  if (!usage_) return Status::Ok();
  const UsageSettings& settings = project_.settings.usage;
  // Unless dram.yml names a store, usage goes beside the catalog (every member of a deployment
  // writes where `dram report --from CATALOG` reads), or into the project's .dram/.
  std::string uri = settings.store;
  if (uri.empty()) uri = follower_ ? follower_->follow().root : (fs::path(project_.dir) / ".dram").lexically_normal().string();
  auto store = store::OpenStore(uri);
  if (!store.ok()) return InvalidArgument("usage.store: " + store.status().ToString());
  std::string member;
  if (cluster_) {
    member = follower_->follow().overrides.cluster.member_id.empty() ? follower_->follow().overrides.cluster.advertise
                                                                      : follower_->follow().overrides.cluster.member_id;
  } else {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    member = std::string(host) + "-" + std::to_string(api_server_->port());
  }
  std::error_code ec;
  usage_flusher_ = std::make_unique<usage::UsageFlusher>(
      *usage_, std::move(store).value(),
      usage::UsageFlusherOptions{.member = member,
                                 .interval = std::chrono::milliseconds(settings.flush_interval_ms),
                                 .scratch_dir = (fs::temp_directory_path(ec) / ("dram-usage-" + std::to_string(::getpid()))).string()});
  metrics_.AddSource([flusher = usage_flusher_.get()](std::string& out) { flusher->RenderMetrics(out); });
  usage_flusher_->Start();
  return Status::Ok();
}

void ServerImpl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // The reconciler loads into the live generation: it stops before anything it calls into.
  if (cluster_) cluster_->Stop();
  if (follower_) follower_->Stop();
  // Each port stops accepting and answers the requests it is handling (bounded) before it closes;
  // the queries behind those answers run on api_'s workers, still running here.
  if (api_server_) api_server_->Stop();
  if (admin_server_) admin_server_->Stop();
  api_->Drain();
  // After the last answer: its usage goes out with the final flush.
  if (usage_flusher_) usage_flusher_->Stop();
  // The admin jobs call the publisher and the follower: they end before either goes.
  admin_->Drain();
  docs_->Drain();
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
  if (!overrides.cluster.name.empty()) {
    cluster::ClusterOptions options = api::ClusterOptionsOf(overrides.cluster, overrides.admin_listen);
    if (options.member_id.empty()) options.member_id = options.advertise;
    RETURN_IF_ERROR(cluster::ValidateClusterOptions(options));
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
  if (!follow->document.files.empty()) project = api::LoadProject(tree, diagnostics);  // no project applied yet: defaults
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
