#pragma once

#include <memory>
#include <string>

#include "api/admin_service.h"
#include "api/api_service.h"
#include "api/catalog_admin.h"
#include "api/catalog_follower.h"
#include "api/docs_page.h"
#include "api/metrics.h"
#include "api/project.h"
#include "api/response_cache.h"
#include "api/route_publisher.h"
#include "api/shard_coordinator.h"
#include "cluster/cluster_node.h"
#include "dram/server.h"
#include "http/server.h"
#include "usage/usage_flusher.h"
#include "usage/usage_recorder.h"

namespace dram::api {

// The wiring root behind dram::Server: it creates the parts and starts and stops them in order.
// What a project defines lives in a Generation (route_publisher.h); the ports, services, response
// cache and metrics outlive generations. The RoutePublisher owns the live generation; the
// CatalogFollower (dram serve --catalog) builds the next version's beside it.
// Thread-safety: AddEndpoint* before Start, then Start and Stop from the owner's thread.
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
  // Opens the usage store and starts flushing to it (after the API port is bound: its port names
  // this process's files). Errors: InvalidArgument for a usage.store that names no store.
  Status StartUsageLog();

  ProjectSpec project_;  // the first generation's project (and the endpoints added through the library)
  const int64_t first_version_;
  const catalog::CatalogDocument first_document_;
  ResponseCache cache_;
  MetricsRegistry metrics_;
  std::unique_ptr<DocsPage> docs_;  // before api_, which borrows it
  std::unique_ptr<usage::UsageRecorder> usage_;  // before api_, which records in it; null: off
  std::unique_ptr<usage::UsageFlusher> usage_flusher_;  // started once the API port is known
  std::unique_ptr<ApiService> api_;
  RoutePublisher publisher_;
  std::unique_ptr<CatalogFollower> follower_;
  std::unique_ptr<cluster::ClusterNode> cluster_;  // following a catalog as a cluster member
  Status cluster_error_;                           // why the cluster part could not be set up
  // Cluster mode with $DRAM_CLUSTER_SECRET: routes over sharded databases are split over the
  // members (before admin_/servers, after what it reads).
  std::unique_ptr<ShardDirectory> shard_directory_;
  std::unique_ptr<ShardCoordinator> shard_coordinator_;
  std::unique_ptr<CatalogAdmin> catalog_admin_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<http::Server> api_server_;
  std::unique_ptr<http::Server> admin_server_;
  bool stopped_ = false;  // Stop()'s caller's thread only (the owner's, then the destructor)
};

}  // namespace dram::api
