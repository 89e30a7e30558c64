#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/admin_service.h"
#include "api/api_service.h"
#include "api/compiled_endpoint.h"
#include "api/metrics.h"
#include "api/project.h"
#include "api/response_cache.h"
#include "database/dataset_manager.h"
#include "dram/server.h"
#include "http/server.h"

namespace dram::api {

// "host:port" → host and port ("[::1]:80" too); port 0 picks a free one.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& text);

// The wiring root behind dram::Server: owns the dataset manager, the services and the two HTTP
// servers, and republishes the routing table whenever a dataset's snapshot changes.
class ServerImpl : public dram::Server {
 public:
  explicit ServerImpl(ProjectSpec project);
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
  Result<Compiled> CompileFor(const std::string& dataset, const database::Snapshot& snapshot) const;
  Status Validate(const database::DatasetSpec& spec, const database::Snapshot& snapshot);
  void OnSwap(const std::string& dataset);
  void Publish();

  ProjectSpec project_;
  std::map<std::string, std::shared_ptr<const CodeEndpoint>> code_endpoints_;  // by route
  std::unique_ptr<auth::Authenticator> authenticator_;  // null when it could not be set up (auth_error_)
  std::string auth_error_;
  ResponseCache cache_;
  MetricsRegistry metrics_;
  std::unique_ptr<ApiService> api_;
  std::unique_ptr<database::DatasetManager> datasets_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<http::Server> api_server_;
  std::unique_ptr<http::Server> admin_server_;

  std::mutex mu_;  // guards compiled_ and publishing
  std::map<std::string, Compiled> compiled_;      // by dataset: for its current snapshot
  std::map<std::string, Compiled> pending_;       // by dataset: validated, not yet swapped in
  bool stopped_ = false;
};

}  // namespace dram::api
