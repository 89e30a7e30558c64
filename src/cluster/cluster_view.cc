#include "cluster/cluster_view.h"

#include <cstdlib>

namespace dram::cluster {

int ClusterSnapshot::ReadyCopies(const database::CopyId& copy, const std::string& snapshot, const std::string& except_member) const {
  int ready = 0;
  for (const auto& replica : replicas) {
    if (replica.copy != copy || replica.state != "ready" || replica.member == except_member) continue;
    if (!snapshot.empty() && replica.snapshot != snapshot) continue;
    ready++;
  }
  return ready;
}

int ClusterSnapshot::CopiesIn(const database::CopyId& copy, std::string_view state) const {
  int count = 0;
  for (const auto& replica : replicas) count += replica.copy == copy && replica.state == state;
  return count;
}

ClusterView::ClusterView(EtcdClient& client, const Keys& keys, std::function<void(int64_t)> on_change)
    : client_(client), keys_(keys), on_change_(std::move(on_change)) {}

ClusterView::~ClusterView() { Stop(); }

void ClusterView::Start() {
  watcher_ = std::make_unique<PrefixWatcher>(client_, keys_.root(), [this](const PrefixUpdate& update) { Apply(update); },
                                             EtcdWatchOptions{.idle_timeout = std::chrono::seconds(10)});
}

void ClusterView::Stop() {
  if (watcher_) watcher_->Stop();
}

void ClusterView::Apply(const PrefixUpdate& update) {
  int64_t head = 0;
  {
    common::MutexLock lock(mu_);
    if (update.snapshot) {
      kvs_.clear();
      for (const auto& kv : update.kvs) kvs_[kv.key] = kv.value;
      synced_ = true;
    } else {
      for (const auto& event : update.events) {
        if (event.type == EtcdEvent::Type::kPut) {
          kvs_[event.kv.key] = event.kv.value;
        } else {
          kvs_.erase(event.kv.key);
        }
      }
    }
    revision_ = update.revision;
    last_update_ = std::chrono::steady_clock::now();
    if (auto found = kvs_.find(keys_.catalog_head()); found != kvs_.end()) head = std::atoll(found->second.c_str());
  }
  if (on_change_) on_change_(head);
}

std::chrono::steady_clock::time_point ClusterView::last_update() const {
  common::MutexLock lock(mu_);
  return last_update_;
}

ClusterSnapshot ClusterView::Snapshot() const {
  ClusterSnapshot out;
  common::MutexLock lock(mu_);
  out.revision = revision_;
  out.synced = synced_;
  const std::string members = keys_.members(), replicas = keys_.replicas(), drains = keys_.drains();
  for (const auto& [key, value] : kvs_) {
    if (key.starts_with(members)) {
      if (auto record = DecodeMember(value); record.ok()) out.members[record->id] = std::move(record).value();
    } else if (key.starts_with(drains)) {
      out.drains[key.substr(drains.size())] = true;
    } else if (key == keys_.catalog_head()) {
      out.catalog_head = std::atoll(value.c_str());
    }
  }
  for (const auto& [key, value] : kvs_) {
    if (!key.starts_with(replicas)) continue;
    auto record = DecodeReplica(value);
    // A replica key outlives its member by at most the lease's expiry; count only live members'.
    if (record.ok() && out.members.contains(record->member)) out.replicas.push_back(std::move(record).value());
  }
  return out;
}

}  // namespace dram::cluster
