#pragma once

#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <string>

#include "api/analysis_admin.h"
#include "api/api_service.h"
#include "api/catalog_admin.h"
#include "api/cluster_admin.h"
#include "api/database_admin.h"
#include "api/docs_page.h"
#include "api/metrics.h"
#include "api/response_cache.h"
#include "database/dataset_manager.h"
#include "http/server.h"

namespace dram::api {

// Who may use the admin port (see ServerSettings).
struct AdminAccess {
  std::string token;                          // empty: no token (the port is bound to loopback only)
  bool public_read = false;                   // /status, /metrics, /openapi.json, /schema, /docs without the token
  std::vector<std::string> allowed_origins;   // browser origins allowed; others are refused
};

// The admin port's handler: /live, /ready, /status, /metrics, /openapi.json, /schema, /docs (the
// API reference page, borrowed from the server), and POST /datasets/{name}/refresh|rollback, and
// the database management routes of DatabaseAdmin and the ad hoc analyses of AnalysisAdmin (all of
// which need the admin token when one is configured).
// Slow work (refresh) runs on its own thread, never on an IO thread. Thread-safe.
class AdminService : public http::Handler {
 public:
  // `catalog` (may be null): the /catalog routes of a server following a catalog in a store.
  AdminService(ManagerSource datasets, ApiService& api, ResponseCache& cache, MetricsRegistry& metrics, DocsPage& docs,
               AdminAccess access, std::chrono::milliseconds query_timeout, CatalogAdmin* catalog = nullptr,
               bool read_only = false, cluster::ClusterNode* cluster = nullptr, ShardCoordinator* shards = nullptr);
  ~AdminService() override;
  void Handle(http::Request request, http::Responder responder) override;
  // Waits for every job this port posted (refresh, database and catalog routes); call after the
  // HTTP server stopped, so none is added.
  void Drain();

 private:
  http::Response Status() const;
  http::Response Ready() const;
  http::Response Metrics() const;
  void Manage(const http::Request& request, http::Responder responder);
  // The admin token, when one is configured (audits a failure).
  bool Authorized(const http::Request& request) const;

  ManagerSource datasets_;
  ApiService& api_;
  ResponseCache& cache_;
  MetricsRegistry& metrics_;
  DocsPage& docs_;
  AdminAccess access_;
  DatabaseAdmin databases_;
  AnalysisAdmin analyses_;
  cluster::ClusterNode* cluster_node_;  // null without a cluster
  std::unique_ptr<ClusterAdmin> cluster_;
  CatalogAdmin* catalog_;
  std::chrono::steady_clock::time_point started_;
  boost::asio::thread_pool background_{1};
};

}  // namespace dram::api
