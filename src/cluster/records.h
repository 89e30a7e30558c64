#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "database/dataset_manager.h"
#include "dram/status.h"

namespace dram::cluster {

// What a member says about itself under its lease: members/<id>.
struct MemberRecord {
  std::string id;
  std::string api;    // HOST:PORT clients and other members reach its API port at (--advertise)
  std::string admin;  // HOST:PORT of its admin port
  std::string zone;
  int64_t capacity_bytes = 0;  // 0: unset (weight 1)
  bool draining = false;       // gets no new copies; leaves once every copy it holds exists elsewhere
  bool operator==(const MemberRecord&) const = default;
  // Placement weight: capacity in GiB (1 when unset).
  double weight() const;
};

// One copy a member holds, under its lease: replicas/<member>/<database>/<shard>.
struct ReplicaRecord {
  std::string member;
  database::CopyId copy;
  std::string state;     // loading, ready, failed, draining
  std::string snapshot;  // the serving snapshot; empty until ready
  int64_t bytes = 0;
  std::string error;
  std::string previous;  // the snapshot it replaced, still served to map steps pinned to it
  bool operator==(const ReplicaRecord&) const = default;
};

std::string_view StateName(database::CopyStatus::State state);

// The key layout of one cluster under /dram/<cluster>/. Everything here is soft state: rebuilt
// from the members' own state within one lease TTL.
class Keys {
 public:
  explicit Keys(std::string cluster) : root_("/dram/" + std::move(cluster) + "/") {}
  const std::string& root() const { return root_; }
  std::string members() const { return root_ + "members/"; }
  std::string member(std::string_view id) const { return members() + std::string(id); }
  std::string replicas() const { return root_ + "replicas/"; }
  std::string replicas_of(std::string_view member) const { return replicas() + std::string(member) + "/"; }
  std::string replica(std::string_view member, const database::CopyId& copy) const;
  std::string catalog_head() const { return root_ + "catalog/head"; }  // newest catalog version: a wake-up
  std::string drains() const { return root_ + "drain/"; }
  std::string drain(std::string_view member) const { return drains() + std::string(member); }
  std::string drop_lock(const database::CopyId& copy) const;

 private:
  std::string root_;
};

std::string EncodeMember(const MemberRecord& record);
Result<MemberRecord> DecodeMember(std::string_view json);
std::string EncodeReplica(const ReplicaRecord& record);
Result<ReplicaRecord> DecodeReplica(std::string_view json);

// A cluster or member name: letters, digits, '-', '_', '.', ':' (an advertise address fits), 1..128.
bool IsClusterName(std::string_view name);

}  // namespace dram::cluster
