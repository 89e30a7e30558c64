#include "cluster/etcd_types.h"

#include <utility>

namespace dram::cluster {

EtcdKeyRange EtcdKeyRange::Single(std::string key) { return {std::move(key), ""}; }

EtcdKeyRange EtcdKeyRange::Prefix(std::string_view prefix) {
  // etcd's own rule (clientv3.GetPrefixRangeEnd): the end is the prefix with its last byte that
  // is not 0xff incremented and the 0xff bytes after it dropped; a prefix of only 0xff bytes (or
  // none) has no upper bound, which etcd spells "\0". An empty key is not allowed, so the whole
  // keyspace is ["\0", "\0").
  if (prefix.empty()) return {std::string(1, '\0'), std::string(1, '\0')};
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return {std::string(prefix), std::string(1, '\0')};
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return {std::string(prefix), std::move(end)};
}

EtcdCompare EtcdCompare::ValueEquals(std::string key, std::string value) {
  return {std::move(key), Target::kValue, std::move(value), 0};
}

EtcdCompare EtcdCompare::VersionEquals(std::string key, int64_t version) {
  return {std::move(key), Target::kVersion, "", version};
}

EtcdCompare EtcdCompare::CreateRevisionEquals(std::string key, int64_t revision) {
  return {std::move(key), Target::kCreateRevision, "", revision};
}

EtcdCompare EtcdCompare::ModRevisionEquals(std::string key, int64_t revision) {
  return {std::move(key), Target::kModRevision, "", revision};
}

EtcdOp EtcdOp::Put(std::string key, std::string value, int64_t lease) {
  return {Kind::kPut, EtcdKeyRange::Single(std::move(key)), std::move(value), lease};
}

EtcdOp EtcdOp::Delete(EtcdKeyRange range) { return {Kind::kDelete, std::move(range), "", 0}; }

EtcdOp EtcdOp::Range(EtcdKeyRange range) { return {Kind::kRange, std::move(range), "", 0}; }

}  // namespace dram::cluster
