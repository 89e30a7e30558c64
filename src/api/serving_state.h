#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "api/compiled_endpoint.h"
#include "api/metrics.h"
#include "api/shard_directory.h"
#include "auth/authenticator.h"
#include "database/snapshot.h"
#include "dram/endpoint.h"

namespace dram::api {

// Everything one request needs to be served by one endpoint: its compiled form and the snapshot
// it reads. Routes are immutable; a swap publishes a new ServingState.
struct Route {
  std::shared_ptr<const CompiledEndpoint> endpoint;
  std::shared_ptr<const database::Snapshot> snapshot;  // null: dataset not loaded yet
  std::shared_ptr<const CodeEndpoint> code;             // set for C++ endpoints
  EndpointMetrics* metrics = nullptr;                   // owned by the MetricsRegistry
  std::string dataset;
  std::string name;            // the endpoint's name, for grants
  bool tenant_scoped = false;  // declared with tenant_column: needs a caller with a tenant
  bool is_public = false;      // served to callers without credentials too
  int64_t max_age_ms = 0;
  // The dataset was evicted for being idle: `snapshot` is null and the first request loads it.
  bool cold = false;
  // Set when the dataset is a database sharded across a cluster: `endpoint` was compiled against
  // one of this member's copies (`snapshot`), and requests are split over every shard.
  std::shared_ptr<const ShardedRoute> sharded;
  // Set for a database that is not split (one shard): in a cluster, a member without a copy hands
  // requests to one with a copy, and a tenant's requests go to the tenant's home member
  // (ShardCoordinator::HomeOf). Unused on a single server.
  std::shared_ptr<const ShardedRoute> replicated;
};

// The routing table at one moment: path → route. Published atomically as a whole.
struct ServingState {
  std::unordered_map<std::string, Route> routes;
  std::shared_ptr<const auth::Authenticator> authenticator;  // null: no authentication
};

}  // namespace dram::api
