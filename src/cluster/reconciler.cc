#include "cluster/reconciler.h"

#include <algorithm>

#include "common/barrier.h"
#include "common/log.h"

namespace dram::cluster {

using database::CopyId;
using database::CopyStatus;
using Clock = std::chrono::steady_clock;

Reconciler::Reconciler(EtcdClient& client, const Keys& keys, ClusterView& view, Membership& membership, ManagerSource manager,
                       std::function<bool()> busy, ReconcilerOptions options)
    : client_(client), keys_(keys), view_(view), membership_(membership), manager_(std::move(manager)), busy_(std::move(busy)),
      options_(options) {}

Reconciler::~Reconciler() { Stop(); }

void Reconciler::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Reconciler::Stop() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
    cv_.NotifyAll();
  }
  if (thread_.joinable()) thread_.join();
  std::vector<Load> loads;
  {
    common::MutexLock lock(mu_);
    loads.swap(loads_);
  }
  for (auto& load : loads) load.thread.join();
}

void Reconciler::Wake() {
  common::MutexLock lock(mu_);
  wake_ = true;
  cv_.NotifyAll();
}

ReconcilerReport Reconciler::Report() const {
  common::MutexLock lock(mu_);
  return report_;
}

void Reconciler::Loop() {
  for (;;) {
    {
      common::MutexLock lock(mu_);
      cv_.WaitFor(mu_, options_.tick, [this]() REQUIRES(mu_) { return stopping_ || wake_; });
      if (stopping_) return;
      wake_ = false;
    }
    common::RunBarrier("cluster reconciler", "", [this] { Tick(); });
  }
}

std::vector<Member> Reconciler::PlacementMembers(const ClusterSnapshot& view, bool with_recently_lost) const {
  std::vector<Member> members;
  for (const auto& [id, record] : view.members) {
    members.push_back({.id = id, .zone = record.zone, .weight = record.weight(), .draining = record.draining});
  }
  if (with_recently_lost) {
    const auto now = Clock::now();
    for (const auto& [id, at] : lost_at_) {
      auto record = last_seen_.find(id);
      if (view.members.contains(id) || record == last_seen_.end() || now - at >= options_.rereplicate_after) continue;
      members.push_back({.id = id, .zone = record->second.zone, .weight = record->second.weight(), .draining = record->second.draining});
    }
  }
  return members;
}

void Reconciler::StartLoad(std::shared_ptr<database::DatasetManager> manager, const CopyId& copy) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  common::MutexLock lock(mu_);
  loading_.insert(copy);
  loads_.push_back({std::thread([this, manager = std::move(manager), copy, done] {
                      Status status = Internal("load did not finish");
                      common::RunBarrier("cluster load " + copy.database, "", [&] { status = manager->HoldCopy(copy); });
                      {
                        common::MutexLock lock(mu_);
                        loading_.erase(copy);
                        finished_[copy] = status;
                      }
                      done->store(true);
                      Wake();
                    }),
                    done});
}

bool Reconciler::TryDrop(database::DatasetManager& manager, const CopyStatus& copy, int needed, const ClusterSnapshot& view) {
  const std::string me = membership_.self().id;
  // Make before break: a fresh, linearizable read of how many live members other than this one
  // hold a ready copy of this snapshot. A copy that is not ready serves nothing: no check.
  auto enough_others = [&] {
    if (copy.state != CopyStatus::State::kReady) return true;
    auto replicas = client_.Range(EtcdKeyRange::Prefix(keys_.replicas()));
    if (!replicas.ok()) return false;
    int others = 0;
    for (const auto& kv : replicas->kvs) {
      auto record = DecodeReplica(kv.value);
      if (record.ok() && record->member != me && record->copy == copy.id && record->state == "ready" &&
          record->snapshot == copy.snapshot && view.members.contains(record->member)) {
        others++;
      }
    }
    return others >= needed;
  };
  if (!enough_others()) return false;
  // One member drops a given shard at a time: two surplus holders each counting the other as a
  // ready copy must not both go.
  const std::string lock_key = keys_.drop_lock(copy.id);
  const int64_t lease = membership_.state().lease;
  auto locked = client_.Txn({EtcdCompare::CreateRevisionEquals(lock_key, 0)}, {EtcdOp::Put(lock_key, me, lease)});
  if (!locked.ok() || !locked->succeeded) return false;
  // Re-checked under the lock: another member may have dropped its copy since the read above.
  const bool still_enough = enough_others();
  bool dropped = false;
  if (still_enough) {
    // Unpublished first, so nobody routes to a copy that is going away.
    std::vector<ReplicaRecord> remaining;
    for (const auto& held : manager.Copies()) {
      if (held.id == copy.id) continue;
      remaining.push_back({me, held.id, std::string(StateName(held.state)), held.snapshot, held.bytes, held.error, held.previous});
    }
    if (membership_.Publish(remaining).ok()) {
      dropped = manager.DropCopy(copy.id).ok();
      common::Log(common::LogLevel::kInfo, "surplus copy dropped",
                  "\"database\":\"" + copy.id.database + "\",\"shard\":" + std::to_string(copy.id.shard) +
                      ",\"other_ready_copies\":" + std::to_string(needed));
    }
  }
  [[maybe_unused]] auto unlocked = client_.DeleteRange(EtcdKeyRange::Single(lock_key));
  return dropped;
}

void Reconciler::Tick() {
  const auto now = Clock::now();
  if (busy_ && busy_()) return;
  auto manager = manager_();
  if (!manager) return;
  {
    common::MutexLock lock(mu_);
    if (report_.left) return;
    // Join the loads that finished.
    for (auto it = loads_.begin(); it != loads_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = loads_.erase(it);
      } else {
        ++it;
      }
    }
  }
  Status maintained = membership_.Maintain();
  ClusterSnapshot view = view_.Snapshot();
  const std::string me = membership_.self().id;
  if (!maintained.ok() || !view.synced || !view.members.contains(me)) {
    // etcd unreachable (or this member's registration not seen yet): keep serving what is held,
    // move nothing.
    common::MutexLock lock(mu_);
    report_.etcd_ok = false;
    report_.etcd_error = !maintained.ok() ? maintained.ToString() : !view.synced ? "no view of the cluster yet" : "registration not seen yet";
    return;
  }

  // Members that vanished since the last tick are "recently lost" until rereplicate_after.
  for (const auto& [id, record] : last_seen_) {
    if (!view.members.contains(id)) lost_at_.emplace(id, now);
  }
  for (const auto& [id, record] : view.members) {
    lost_at_.erase(id);
    last_seen_[id] = record;
  }
  std::erase_if(lost_at_, [&](const auto& lost) {
    if (now - lost.second < options_.rereplicate_after) return false;
    last_seen_.erase(lost.first);
    return true;
  });

  const bool drain_asked = view.drains.contains(me);
  if (drain_asked != membership_.self().draining) [[maybe_unused]] Status set = membership_.SetDraining(drain_asked);

  // Desired state: placement over live members, and over live + recently lost ones for shards
  // that still have a ready copy somewhere (so a short absence moves nothing).
  std::vector<DatabasePolicy> policies;
  for (const auto& spec : manager->Databases()) {
    policies.push_back({.name = spec.name,
                        .replicas = spec.placement.replicas > 0 ? Replicas::Count(spec.placement.replicas) : Replicas::All(),
                        .shards = spec.placement.shards});
  }
  auto live = ComputePlacement(policies, PlacementMembers(view, false));
  auto wide = ComputePlacement(policies, PlacementMembers(view, true));
  if (!live.ok() || !wide.ok()) {
    common::MutexLock lock(mu_);
    report_.etcd_ok = true;
    report_.etcd_error = "placement: " + (live.ok() ? wide.status() : live.status()).ToString();
    return;
  }
  std::set<CopyId> wanted;
  std::vector<UnderReplicated> under;
  std::map<std::string, int> needed_of;
  int eligible = 0;
  for (const auto& [id, record] : view.members) eligible += record.draining ? 0 : 1;
  for (const auto& policy : policies) needed_of[policy.name] = policy.replicas.all() ? eligible : policy.replicas.count();
  for (const auto& shard : live->shards()) {
    const CopyId copy{shard.id.database, shard.id.shard};
    const int ready = view.ReadyCopies(copy);
    const auto members = ready > 0 ? wide->MembersOf(shard.id) : live->MembersOf(shard.id);
    if (std::find(members.begin(), members.end(), me) != members.end()) wanted.insert(copy);
    const int want = std::max(1, needed_of[shard.id.database]);
    // A cold copy (evicted for being idle) is still held: its next request loads it again.
    const int held = ready + view.CopiesIn(copy, "cold");
    if (held < want) under.push_back({shard.id, want, held});
  }

  // Results of loads that finished since the last tick.
  std::map<CopyId, Status> finished;
  std::set<CopyId> loading;
  {
    common::MutexLock lock(mu_);
    finished.swap(finished_);
    loading = loading_;
  }
  for (const auto& [copy, status] : finished) {
    if (status.ok()) {
      backoff_.erase(copy);
      continue;
    }
    Backoff& b = backoff_[copy];
    b.failures++;
    b.retry_at = now + std::chrono::seconds(std::min(60, 1 << std::min(b.failures, 6)));
    common::MutexLock lock(mu_);
    report_.loads_failed++;
  }

  // Loads: wanted copies not held (or failed, once their backoff passed).
  std::map<CopyId, CopyStatus> held;
  for (auto& copy : manager->Copies()) held[copy.id] = std::move(copy);
  int running = static_cast<int>(loading.size());
  int64_t loaded_bytes = 0;
  for (const auto& copy : wanted) {
    if (loading.contains(copy) || running >= options_.max_loads) continue;
    auto h = held.find(copy);
    if (h != held.end() && h->second.state != CopyStatus::State::kFailed) continue;
    if (auto b = backoff_.find(copy); b != backoff_.end() && now < b->second.retry_at) continue;
    StartLoad(manager, copy);
    running++;
  }
  for (const auto& [copy, status] : finished) {
    if (auto h = held.find(copy); status.ok() && h != held.end()) loaded_bytes += h->second.bytes;
  }

  // Drops: surplus copies, make before break.
  int64_t dropped = 0;
  for (const auto& [copy, status] : held) {
    if (wanted.contains(copy) || loading.contains(copy)) {
      surplus_since_.erase(copy);
      continue;
    }
    const auto since = surplus_since_.emplace(copy, now).first->second;
    const bool in_catalog = needed_of.contains(copy.database);
    if (in_catalog && now - since < 2 * options_.lease_ttl) continue;
    if (!membership_.lease_valid()) continue;
    // "all": every other eligible member; never fewer than one other copy.
    int needed = in_catalog ? needed_of[copy.database] : 0;
    if (in_catalog && needed >= eligible) needed = std::max(1, eligible - (membership_.self().draining ? 0 : 1));
    if (TryDrop(*manager, status, needed, view)) {
      surplus_since_.erase(copy);
      dropped++;
    }
  }

  // Publish what is held now.
  std::vector<ReplicaRecord> records;
  const auto copies = manager->Copies();
  for (const auto& copy : copies) {
    records.push_back({me, copy.id, std::string(StateName(copy.state)), copy.snapshot, copy.bytes, copy.error, copy.previous});
  }
  Status published = membership_.Publish(records);

  bool left = false;
  if (membership_.self().draining && copies.empty() && loading.empty()) {
    // Drained: every copy this member held exists elsewhere. Deregister and forget the request.
    if (membership_.Leave().ok()) {
      [[maybe_unused]] auto cleared = client_.DeleteRange(EtcdKeyRange::Single(keys_.drain(me)));
      common::Log(common::LogLevel::kInfo, "cluster member drained and deregistered", "\"member\":\"" + me + "\"");
      left = true;
    }
  }
  common::MutexLock lock(mu_);
  report_.etcd_ok = published.ok();
  report_.etcd_error = published.ok() ? "" : published.ToString();
  report_.draining = membership_.self().draining;
  report_.left = left;
  report_.desired = std::move(live).value();
  report_.under_replicated = std::move(under);
  report_.bytes_loaded += loaded_bytes;
  report_.copies_dropped += dropped;
}

}  // namespace dram::cluster
