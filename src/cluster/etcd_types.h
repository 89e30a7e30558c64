#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// The values EtcdClient takes and returns (etcd's v3 API, as its JSON gateway carries it). Keys
// and values are arbitrary bytes; revisions, lease ids and TTLs are etcd's 64-bit integers.

namespace dram::cluster {

// One key as etcd stores it.
struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;  // the revision that created the key
  int64_t mod_revision = 0;     // the revision of its last write (or, in a delete event, of the delete)
  int64_t version = 0;          // writes since it was created: 1 after the first
  int64_t lease = 0;            // 0: none
  bool operator==(const EtcdKeyValue&) const = default;
};

// The keys a call addresses: `key` alone when `range_end` is empty, otherwise every key in
// [key, range_end) in byte order (range_end "\0" means every key >= key).
struct EtcdKeyRange {
  std::string key;
  std::string range_end;

  static EtcdKeyRange Single(std::string key);
  // Every key that starts with `prefix`; the empty prefix is the whole keyspace.
  static EtcdKeyRange Prefix(std::string_view prefix);
};

struct EtcdReadOptions {
  // Serve the read from the member asked, without asking the leader: faster, works without a
  // quorum, but may be stale (it still reflects a consistent revision of that member).
  bool serializable = false;
};

struct EtcdRangeResult {
  std::vector<EtcdKeyValue> kvs;  // in key order
  int64_t revision = 0;           // the store revision the read saw: watch from revision + 1
};

struct EtcdDeleteResult {
  int64_t deleted = 0;   // keys removed
  int64_t revision = 0;  // the store revision after the delete
};

// One condition of a transaction; every compare is an equality.
struct EtcdCompare {
  enum class Target { kValue, kVersion, kCreateRevision, kModRevision };
  std::string key;
  Target target = Target::kValue;
  std::string value;   // kValue
  int64_t number = 0;  // kVersion, kCreateRevision, kModRevision

  static EtcdCompare ValueEquals(std::string key, std::string value);
  static EtcdCompare VersionEquals(std::string key, int64_t version);
  // CreateRevisionEquals(key, 0) holds exactly when the key does not exist (put-if-absent).
  static EtcdCompare CreateRevisionEquals(std::string key, int64_t revision);
  // Compare-and-swap: the key was not written since the read that saw `revision`.
  static EtcdCompare ModRevisionEquals(std::string key, int64_t revision);
};

// One operation of a transaction's success or failure branch.
struct EtcdOp {
  enum class Kind { kPut, kDelete, kRange };
  Kind kind = Kind::kRange;
  EtcdKeyRange range;  // kPut uses range.key only
  std::string value;   // kPut
  int64_t lease = 0;   // kPut

  static EtcdOp Put(std::string key, std::string value, int64_t lease = 0);
  static EtcdOp Delete(EtcdKeyRange range);
  static EtcdOp Range(EtcdKeyRange range);
};

// What one EtcdOp of the branch that ran returned.
struct EtcdOpResult {
  std::vector<EtcdKeyValue> kvs;  // kRange
  int64_t deleted = 0;            // kDelete
};

struct EtcdTxnResult {
  bool succeeded = false;            // every compare held: the success branch ran
  int64_t revision = 0;              // the store revision after the transaction
  std::vector<EtcdOpResult> results;  // one per op of the branch that ran, in order
};

// One change seen by a watch.
struct EtcdEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  EtcdKeyValue kv;  // for kDelete: the key and the delete's revision (mod_revision) only
  bool operator==(const EtcdEvent&) const = default;
};

// Why EtcdClient::Watch returned.
struct EtcdWatchEnd {
  enum class Reason { kStopped, kCompacted };
  Reason reason = Reason::kStopped;
  // kCompacted: the oldest revision etcd still has; events before it are gone, so the caller
  // re-reads the range and watches from that read's revision + 1.
  int64_t compact_revision = 0;
  // The first revision the watch did not deliver (where a new watch would resume).
  int64_t next_revision = 0;
};

// What /v3/maintenance/status says about one member.
struct EtcdMemberStatus {
  std::string endpoint;   // the client URL asked
  uint64_t member_id = 0;
  uint64_t leader_id = 0;  // 0: the member knows no leader
  int64_t raft_term = 0;
  std::string version;     // etcd's, e.g. "3.4.23"
  bool IsLeader() const { return member_id != 0 && member_id == leader_id; }
};

}  // namespace dram::cluster
