#include "cluster/membership.h"

#include "common/log.h"

namespace dram::cluster {

Membership::Membership(EtcdClient& client, const Keys& keys, MemberRecord self, std::chrono::seconds ttl)
    : client_(client), keys_(keys), self_(std::move(self)), ttl_(ttl) {}

bool Membership::lease_valid() const {
  common::MutexLock lock(mu_);
  return state_.registered && std::chrono::steady_clock::now() < state_.valid_until;
}

Membership::State Membership::state() const {
  common::MutexLock lock(mu_);
  return state_;
}

Status Membership::Register() {
  const auto asked = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(int64_t lease, client_.Grant(ttl_.count()));
  auto put = client_.Put(keys_.member(self_.id), EncodeMember(self_), lease);
  if (!put.ok()) {
    [[maybe_unused]] Status revoked = client_.Revoke(lease);
    return put.status();
  }
  published_.clear();  // the records of an expired lease are gone: everything is put again
  last_renewal_ = asked;
  granted_ttl_ = ttl_;
  common::MutexLock lock(mu_);
  state_.registered = true;
  state_.lease = lease;
  state_.registrations++;
  state_.valid_until = asked + ttl_;
  state_.registered_at = asked;
  state_.last_error.clear();
  common::Log(common::LogLevel::kInfo, "cluster member registered",
              "\"member\":\"" + self_.id + "\",\"registrations\":" + std::to_string(state_.registrations));
  return Status::Ok();
}

Status Membership::Maintain() {
  int64_t lease = 0;
  {
    common::MutexLock lock(mu_);
    if (state_.registered) lease = state_.lease;
  }
  Status status = Status::Ok();
  if (lease == 0) {
    status = Register();
  } else if (std::chrono::steady_clock::now() - last_renewal_ >= granted_ttl_ / 3) {
    const auto asked = std::chrono::steady_clock::now();
    auto remaining = client_.KeepAliveOnce(lease);
    if (remaining.ok()) {
      last_renewal_ = asked;
      // etcd raises a short TTL to its minimum (1.5 election timeouts): renew at a third of what
      // it granted, not of what was asked (measured: TTL 2 asked, 4 granted, renewals 2x too often).
      granted_ttl_ = std::max<std::chrono::milliseconds>(granted_ttl_, std::chrono::seconds(*remaining));
      common::MutexLock lock(mu_);
      state_.valid_until = asked + std::chrono::seconds(*remaining);
      state_.last_error.clear();
    } else if (remaining.status().code() == StatusCode::kNotFound) {
      // Expired (paused or cut off past the TTL): everyone saw this member leave; join again.
      {
        common::MutexLock lock(mu_);
        state_.registered = false;
      }
      common::Log(common::LogLevel::kWarn, "cluster lease expired; registering again", "\"member\":\"" + self_.id + "\"");
      status = Register();
    } else {
      status = remaining.status();
    }
  }
  if (!status.ok()) {
    common::MutexLock lock(mu_);
    state_.last_error = status.ToString();
  }
  return status;
}

Status Membership::Publish(const std::vector<ReplicaRecord>& replicas) {
  int64_t lease = 0;
  {
    common::MutexLock lock(mu_);
    if (!state_.registered) return Unavailable("not registered");
    lease = state_.lease;
  }
  std::map<std::string, std::string> now;
  for (const auto& replica : replicas) now[keys_.replica(self_.id, replica.copy)] = EncodeReplica(replica);
  for (const auto& [key, value] : now) {
    auto old = published_.find(key);
    if (old != published_.end() && old->second == value) continue;
    RETURN_IF_ERROR(client_.Put(key, value, lease).status());
    published_[key] = value;
  }
  for (auto it = published_.begin(); it != published_.end();) {
    if (now.contains(it->first)) {
      ++it;
      continue;
    }
    RETURN_IF_ERROR(client_.DeleteRange(EtcdKeyRange::Single(it->first)).status());
    it = published_.erase(it);
  }
  return Status::Ok();
}

Status Membership::SetDraining(bool draining) {
  if (self_.draining == draining) return Status::Ok();
  self_.draining = draining;
  int64_t lease = 0;
  {
    common::MutexLock lock(mu_);
    if (!state_.registered) return Status::Ok();  // Register puts the record as it is now
    lease = state_.lease;
  }
  return client_.Put(keys_.member(self_.id), EncodeMember(self_), lease).status();
}

Status Membership::Leave() {
  int64_t lease = 0;
  {
    common::MutexLock lock(mu_);
    if (!state_.registered) return Status::Ok();
    lease = state_.lease;
    state_.registered = false;
  }
  published_.clear();
  return client_.Revoke(lease);
}

}  // namespace dram::cluster
