#pragma once

#include "cluster/cluster_node.h"
#include "http/server.h"

namespace dram::api {

// The cluster half of the admin port (what `dram cluster` shows and does, over HTTP):
//   GET  /cluster/status            members, this member's lease and etcd state, under-replicated shards
//   GET  /cluster/where/{db}[?shard=K]  which member holds which copy of each shard, in what state
//   POST /cluster/drain/{member}    asks a member to drain (it leaves once its copies exist elsewhere)
// Owner: AdminService's wiring root. Thread-safety: Handle from any thread (reads the node's
// mirrors; the drain request is one etcd put, within the client's call timeout).
class ClusterAdmin {
 public:
  explicit ClusterAdmin(cluster::ClusterNode& node) : node_(node) {}
  // True when the request is one of the routes above (and has been answered).
  bool Handle(const http::Request& request, http::Responder& responder);

 private:
  cluster::ClusterNode& node_;
};

}  // namespace dram::api
