#include "cluster/cluster_node.h"

#include <boost/json.hpp>

#include "common/log.h"

namespace dram::cluster {

namespace json = boost::json;

Status ValidateClusterOptions(const ClusterOptions& options) {
  std::string problems;
  auto problem = [&](const std::string& text) { problems += (problems.empty() ? "" : "\n") + text; };
  if (!IsClusterName(options.name)) problem("--cluster: a name of letters, digits, '-', '_' or '.' is required");
  if (auto endpoints = ParseEtcdEndpoints(options.etcd); !endpoints.ok()) problem("--etcd: " + endpoints.status().message());
  if (options.advertise.empty() || options.advertise.find(':') == std::string::npos) {
    problem("--advertise: HOST:PORT where other members and clients reach this member's API port");
  }
  if (!options.member_id.empty() && !IsClusterName(options.member_id)) problem("--member-id: letters, digits, '-', '_', '.', ':'");
  if (options.capacity_bytes < 0) problem("--capacity: a size such as 50GB");
  if (options.reconciler.lease_ttl.count() < 1) problem("lease TTL must be at least 1 second");
  return problems.empty() ? Status::Ok() : InvalidArgument(problems);
}

Result<std::unique_ptr<ClusterNode>> ClusterNode::Create(ClusterOptions options, Reconciler::ManagerSource manager,
                                                         std::function<void(int64_t)> on_catalog_head, std::function<bool()> busy) {
  if (options.member_id.empty()) options.member_id = options.advertise;
  RETURN_IF_ERROR(ValidateClusterOptions(options));
  // Short calls: without a quorum a linearizable read hangs for seconds; the tick retries.
  ASSIGN_OR_RETURN(auto client, EtcdClient::Create(options.etcd, EtcdClientOptions{.call_timeout = std::chrono::milliseconds(1500),
                                                                                   .operation_timeout = std::chrono::milliseconds(3000)}));
  return std::unique_ptr<ClusterNode>(
      new ClusterNode(std::move(options), std::move(client), std::move(manager), std::move(on_catalog_head), std::move(busy)));
}

ClusterNode::ClusterNode(ClusterOptions options, std::unique_ptr<EtcdClient> client, Reconciler::ManagerSource manager,
                         std::function<void(int64_t)> on_catalog_head, std::function<bool()> busy)
    : options_(std::move(options)), keys_(options_.name), client_(std::move(client)), manager_(std::move(manager)),
      on_catalog_head_(std::move(on_catalog_head)),
      membership_(*client_, keys_,
                  MemberRecord{.id = options_.member_id, .api = options_.advertise, .admin = options_.admin, .zone = options_.zone,
                               .capacity_bytes = options_.capacity_bytes},
                  options_.reconciler.lease_ttl),
      view_(*client_, keys_, [this](int64_t head) { OnViewChange(head); }),
      reconciler_(*client_, keys_, view_, membership_, manager_, std::move(busy), options_.reconciler) {}

ClusterNode::~ClusterNode() { Stop(); }

void ClusterNode::Start() {
  reconciler_.Start();
  view_.Start();
}

void ClusterNode::Stop() {
  view_.Stop();
  reconciler_.Stop();
  // Gone at once rather than after the TTL (the others still wait rereplicate_after to move).
  [[maybe_unused]] Status left = membership_.Leave();
}

void ClusterNode::OnViewChange(int64_t catalog_head) {
  reconciler_.Wake();
  if (catalog_head > head_seen_) {
    head_seen_ = catalog_head;
    if (on_catalog_head_) on_catalog_head_(catalog_head);
  }
}

std::vector<database::CopyId> ClusterNode::Held() const {
  std::vector<database::CopyId> out;
  if (auto manager = manager_()) {
    for (const auto& copy : manager->Copies()) out.push_back(copy.id);
  }
  return out;
}

void ClusterNode::AnnounceCatalog(int64_t version) {
  // Only ever forward: a slower member announcing an older version must not move the head back.
  const std::string key = keys_.catalog_head();
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto current = client_->Get(key);
    if (!current.ok()) return;
    int64_t known = current->kvs.empty() ? 0 : std::atoll(current->kvs.front().value.c_str());
    if (known >= version) return;
    const int64_t mod = current->kvs.empty() ? 0 : current->kvs.front().mod_revision;
    auto swapped = client_->Txn({current->kvs.empty() ? EtcdCompare::CreateRevisionEquals(key, 0) : EtcdCompare::ModRevisionEquals(key, mod)},
                                {EtcdOp::Put(key, std::to_string(version))});
    if (!swapped.ok() || swapped->succeeded) return;
  }
}

Status ClusterNode::RequestDrain(const std::string& member) {
  ClusterSnapshot view = view_.Snapshot();
  if (!view.members.contains(member)) return NotFound("no such live member", member);
  return client_->Put(keys_.drain(member), "1").status();
}

namespace {

json::object MemberJson(const MemberRecord& record, const ClusterSnapshot& view) {
  int ready = 0, loading = 0, failed = 0, cold = 0;
  int64_t bytes = 0;
  for (const auto& replica : view.replicas) {
    if (replica.member != record.id) continue;
    ready += replica.state == "ready";
    loading += replica.state == "loading";
    failed += replica.state == "failed";
    cold += replica.state == "cold";
    bytes += replica.bytes;
  }
  return {{"id", record.id}, {"api", record.api}, {"admin", record.admin}, {"zone", record.zone},
          {"capacity_bytes", record.capacity_bytes}, {"draining", record.draining}, {"ready", ready},
          {"loading", loading}, {"failed", failed}, {"cold", cold}, {"bytes", bytes}};
}

}  // namespace

json::object ClusterNode::StatusJson() const {
  ClusterSnapshot view = view_.Snapshot();
  ReconcilerReport report = reconciler_.Report();
  Membership::State member = membership_.state();
  json::array members;
  for (const auto& [id, record] : view.members) members.push_back(MemberJson(record, view));
  json::array under;
  for (const auto& u : report.under_replicated) {
    under.push_back({{"database", u.id.database}, {"shard", u.id.shard}, {"wanted", u.wanted}, {"ready", u.got}});
  }
  const auto now = std::chrono::steady_clock::now();
  return {{"cluster", options_.name},
          {"member", options_.member_id},
          {"etcd", {{"ok", report.etcd_ok}, {"error", report.etcd_error}, {"endpoints", options_.etcd}}},
          {"registered", member.registered},
          {"registrations", member.registrations},
          {"lease_age_s", member.registered ? std::chrono::duration<double>(now - member.registered_at).count() : 0.0},
          {"draining", report.draining},
          {"left", report.left},
          {"members", std::move(members)},
          {"under_replicated", std::move(under)},
          {"bytes_loaded", report.bytes_loaded},
          {"copies_dropped", report.copies_dropped},
          {"catalog_head", view.catalog_head}};
}

Result<json::object> ClusterNode::WhereJson(const std::string& database, int only_shard) const {
  ClusterSnapshot view = view_.Snapshot();
  int shards = 0;
  if (auto manager = manager_()) {
    for (const auto& spec : manager->Databases()) {
      if (spec.name == database) shards = spec.placement.shards;
    }
  }
  if (shards == 0) return NotFound("unknown database", database);
  if (only_shard >= shards) return InvalidArgument("no such shard (the database has " + std::to_string(shards) + ")", database);
  json::array list;
  for (int shard = 0; shard < shards; ++shard) {
    if (only_shard >= 0 && shard != only_shard) continue;
    json::array replicas;
    for (const auto& replica : view.replicas) {
      if (replica.copy.database != database || replica.copy.shard != shard) continue;
      replicas.push_back({{"member", replica.member}, {"state", replica.state}, {"snapshot", replica.snapshot}, {"bytes", replica.bytes}});
    }
    list.push_back({{"shard", shard}, {"replicas", std::move(replicas)}});
  }
  return json::object{{"database", database}, {"shards", std::move(list)}};
}

std::string ClusterNode::NotReadyReason() const {
  ReconcilerReport report = reconciler_.Report();
  if (report.etcd_ok) return "";
  return "cluster: etcd unreachable or not joined yet, serving what is on disk and loading nothing new (" + report.etcd_error + ")";
}

void ClusterNode::AppendMetrics(std::string& out) const {
  ClusterSnapshot view = view_.Snapshot();
  ReconcilerReport report = reconciler_.Report();
  std::map<std::string, int> by_state{{"loading", 0}, {"ready", 0}, {"failed", 0}, {"cold", 0}};
  for (const auto& replica : view.replicas) by_state[replica.state]++;
  out += "# HELP dram_cluster_members Live members of the cluster, as this member sees them.\n# TYPE dram_cluster_members gauge\n";
  out += "dram_cluster_members " + std::to_string(view.members.size()) + "\n";
  out += "# HELP dram_cluster_replicas Copies of shards in the cluster by state.\n# TYPE dram_cluster_replicas gauge\n";
  for (const auto& [state, count] : by_state) out += "dram_cluster_replicas{state=\"" + state + "\"} " + std::to_string(count) + "\n";
  out += "# HELP dram_cluster_under_replicated_shards Shards with fewer ready copies than their policy wants.\n"
         "# TYPE dram_cluster_under_replicated_shards gauge\n";
  out += "dram_cluster_under_replicated_shards " + std::to_string(report.under_replicated.size()) + "\n";
  out += "# HELP dram_cluster_bytes_moved_total Bytes of copies this member loaded because placement moved them here.\n"
         "# TYPE dram_cluster_bytes_moved_total counter\n";
  out += "dram_cluster_bytes_moved_total " + std::to_string(report.bytes_loaded) + "\n";
  out += "# HELP dram_cluster_etcd_up Whether this member's last reconcile could reach etcd.\n# TYPE dram_cluster_etcd_up gauge\n";
  out += "dram_cluster_etcd_up " + std::string(report.etcd_ok ? "1" : "0") + "\n";
}

}  // namespace dram::cluster
