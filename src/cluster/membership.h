#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "cluster/etcd_client.h"
#include "cluster/records.h"
#include "common/mutex.h"

namespace dram::cluster {

// This member's presence in etcd: a lease, members/<id> and the replica records under it. When
// the lease expires (a pause longer than its TTL, etcd unreachable too long) the next Maintain
// registers again with a new lease and republishes everything, so a member that comes back is
// whole again within one call. Owner: the reconciler's thread, which makes every call but
// `lease_valid` and `Status`; those are thread-safe.
class Membership {
 public:
  Membership(EtcdClient& client, const Keys& keys, MemberRecord self, std::chrono::seconds ttl);

  // Registers when not registered, renews the lease when a third of its TTL has passed.
  Status Maintain();
  // Puts the records that changed since the last call and deletes the ones no longer listed.
  Status Publish(const std::vector<ReplicaRecord>& replicas);
  Status SetDraining(bool draining);
  // Revokes the lease: this member and its replica records vanish at once.
  Status Leave();

  // True while the lease is certainly alive: its last renewal's TTL has not run out.
  bool lease_valid() const;
  const MemberRecord& self() const { return self_; }
  struct State {
    bool registered = false;
    int64_t lease = 0;
    int64_t registrations = 0;  // 1 + re-registrations after an expiry
    std::string last_error;
    std::chrono::steady_clock::time_point valid_until;
    std::chrono::steady_clock::time_point registered_at;
  };
  State state() const;

 private:
  Status Register();

  EtcdClient& client_;
  const Keys& keys_;
  MemberRecord self_;
  const std::chrono::seconds ttl_;
  std::map<std::string, std::string> published_;  // key → value under the current lease
  std::chrono::steady_clock::time_point last_renewal_;
  std::chrono::milliseconds granted_ttl_{0};  // the lease's TTL as etcd keeps it (>= ttl_)
  mutable common::Mutex mu_;
  State state_ GUARDED_BY(mu_);
};

}  // namespace dram::cluster
