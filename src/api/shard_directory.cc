#include "api/shard_directory.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "common/json_text.h"
#include "database/shard.h"

namespace dram::api {

std::string ShardList(const std::vector<int>& shards) {
  std::string out;
  for (int shard : shards) out += (out.empty() ? "" : ", ") + std::to_string(shard);
  return out;
}

std::set<std::string, std::less<>> SupersededVersions(const std::vector<std::vector<ShardReplica>>& replicas) {
  std::set<std::string, std::less<>> out;
  for (const auto& shard : replicas) {
    for (const auto& replica : shard) {
      if (!replica.previous.empty()) out.emplace(database::DataVersionOf(replica.previous));
    }
  }
  return out;
}

std::string StaleMeta(const std::vector<AnsweredShard>& answered, const std::set<std::string, std::less<>>& superseded,
                      int64_t now_ms) {
  std::set<std::string_view> versions;
  std::vector<int> behind;
  int64_t oldest_ms = 0;
  for (const auto& shard : answered) {
    const std::string_view version = database::DataVersionOf(shard.snapshot);
    versions.insert(version);
    if (superseded.contains(version)) behind.push_back(shard.shard);
    if (shard.watermark_ms > 0 && (oldest_ms == 0 || shard.watermark_ms < oldest_ms)) oldest_ms = shard.watermark_ms;
  }
  if (versions.size() <= 1 && behind.empty()) return "";
  std::string out = ",\"stale\":true,\"stale_shards\":[" + ShardList(behind) + "]";
  if (oldest_ms > 0) out += ",\"stale_age_s\":" + std::to_string(std::max<int64_t>(0, (now_ms - oldest_ms) / 1000));
  return out;
}

PinnedShards PinForRequest(std::vector<std::vector<ShardReplica>> replicas, bool stale) {
  PinnedShards pinned;
  pinned.replicas = std::move(replicas);
  if (stale) {
    pinned.stale = true;
    pinned.one_version = false;  // not pinned: never cached under one snapshot id
    pinned.superseded = SupersededVersions(pinned.replicas);
  } else {
    pinned.one_version = PinOneDataVersion(pinned.replicas);
  }
  return pinned;
}

Status CheckOneVersion(const PinnedShards& pinned, std::string_view database, size_t shards_needed) {
  if (pinned.one_version || pinned.stale || shards_needed <= 1) return Status::Ok();
  // Only while new data reaches the copies and some copy lost the snapshot it replaced (it
  // restarted): an answer now would add up shards of two data versions.
  return Unavailable("the shards of '" + std::string(database) +
                     "' have no data version in common while new data reaches their copies: retry shortly, or ask with "
                     "?consistency=stale");
}

void AppendShardMeta(std::string& out, int shard, std::string_view member, std::string_view snapshot, double ms) {
  out += "{\"shard\":" + std::to_string(shard) + ",\"member\":";
  common::AppendJsonString(out, member);
  out += ",\"snapshot\":";
  common::AppendJsonString(out, snapshot);
  char tail[32];
  std::snprintf(tail, sizeof tail, ",\"ms\":%.2f}", ms);
  out += tail;
}

bool PinOneDataVersion(std::vector<std::vector<ShardReplica>>& replicas) {
  if (replicas.empty()) return true;
  // Per version: the shards it covers, and how many copies serve it (not just keep it).
  std::map<std::string, std::set<size_t>, std::less<>> covered;
  std::map<std::string, int, std::less<>> serving;
  for (size_t k = 0; k < replicas.size(); ++k) {
    for (const auto& replica : replicas[k]) {
      covered[std::string(database::DataVersionOf(replica.snapshot))].insert(k);
      serving[std::string(database::DataVersionOf(replica.snapshot))]++;
      if (!replica.previous.empty()) covered[std::string(database::DataVersionOf(replica.previous))].insert(k);
    }
  }
  std::string chosen;
  int best = -1;
  // Candidates in the order the first shard's replicas name them, so ties go to the first.
  std::vector<std::string> order;
  for (const auto& replica : replicas.front()) {
    order.emplace_back(database::DataVersionOf(replica.snapshot));
    if (!replica.previous.empty()) order.emplace_back(database::DataVersionOf(replica.previous));
  }
  // Shards with no copy at all cannot be covered (they are missing whatever the version).
  const auto present = static_cast<size_t>(std::count_if(replicas.begin(), replicas.end(), [](const auto& r) { return !r.empty(); }));
  for (const auto& version : order) {
    if (covered[version].size() != present) continue;
    const int copies = serving.contains(version) ? serving[version] : 0;
    if (copies > best) {
      best = copies;
      chosen = version;
    }
  }
  if (best < 0) return false;
  for (auto& shard : replicas) {
    std::vector<ShardReplica> kept;
    for (auto& replica : shard) {
      if (database::DataVersionOf(replica.snapshot) == chosen) {
        kept.push_back(std::move(replica));
      } else if (!replica.previous.empty() && database::DataVersionOf(replica.previous) == chosen) {
        replica.snapshot = replica.previous;
        kept.push_back(std::move(replica));
      }
    }
    shard = std::move(kept);
  }
  return true;
}

}  // namespace dram::api
