#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_view.h"
#include "cluster/etcd_client.h"
#include "cluster/membership.h"
#include "cluster/reconciler.h"
#include "database/dataset_manager.h"
#include "dram/status.h"

namespace dram::cluster {

struct ClusterOptions {
  std::string name;        // --cluster
  std::string etcd;        // --etcd: comma-separated client URLs
  std::string member_id;   // defaults to the advertise address
  std::string advertise;   // HOST:PORT of this member's API port as others reach it
  std::string admin;       // HOST:PORT of its admin port
  std::string zone;
  int64_t capacity_bytes = 0;
  ReconcilerOptions reconciler;
};

// Checks the options a member is started with: InvalidArgument listing every problem.
Status ValidateClusterOptions(const ClusterOptions& options);

// One member's part in a cluster: its etcd client, the mirror of the cluster's state, its
// membership and its reconciler; and what the admin port and metrics show of them.
// Owner: the server's wiring root. Thread-safety: Start/Stop from the owner; the rest from any thread.
class ClusterNode {
 public:
  // `manager`: the live generation's dataset manager; `on_catalog_head`: a newer catalog version
  // was announced (the follower polls at once).
  // `busy`: a new generation is being built (the reconciler waits).
  static Result<std::unique_ptr<ClusterNode>> Create(ClusterOptions options, Reconciler::ManagerSource manager,
                                                     std::function<void(int64_t)> on_catalog_head, std::function<bool()> busy);
  ~ClusterNode();

  void Start();
  void Stop();

  // The copies this member holds now (for a generation built beside the live one).
  std::vector<database::CopyId> Held() const;
  // Announces a catalog version this member committed: members wake on it (< 1 s).
  void AnnounceCatalog(int64_t version);
  // Asks `member` to drain (any member may ask): InvalidArgument for an unknown member.
  Status RequestDrain(const std::string& member);

  // {"cluster", "member", "etcd": {...}, "members": [...], "databases": [...], "under_replicated": [...]}
  boost::json::object StatusJson() const;
  // {"database", "shards": [{"shard": K, "replicas": [{"member", "state", "snapshot", "bytes"}]}]}; NotFound
  // for a database nobody knows.
  Result<boost::json::object> WhereJson(const std::string& database, int only_shard) const;
  // One line per member state, for /ready: empty when this member is a full part of the cluster.
  std::string NotReadyReason() const;
  void AppendMetrics(std::string& out) const;
  // The cluster as this member last saw it (members, their copies and snapshots).
  ClusterSnapshot View() const { return view_.Snapshot(); }
  const std::string& member_id() const { return options_.member_id; }

 private:
  ClusterNode(ClusterOptions options, std::unique_ptr<EtcdClient> client, Reconciler::ManagerSource manager,
              std::function<void(int64_t)> on_catalog_head, std::function<bool()> busy);
  void OnViewChange(int64_t catalog_head);

  const ClusterOptions options_;
  const Keys keys_;
  std::unique_ptr<EtcdClient> client_;
  Reconciler::ManagerSource manager_;
  std::function<void(int64_t)> on_catalog_head_;
  int64_t head_seen_ = 0;  // the view's thread only
  Membership membership_;
  ClusterView view_;
  Reconciler reconciler_;
};

}  // namespace dram::cluster
