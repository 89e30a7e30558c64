#include "database/shard.h"

#include <cstdint>

#include "common/stable_hash.h"

namespace dram::database {

namespace {
constexpr std::string_view kPathTag = "dram.shard.path";
}  // namespace

int ShardOfPath(std::string_view path, int shards) {
  if (shards <= 1) return 0;
  const uint64_t h = common::StableHash().AddBytes(kPathTag).AddBytes(path).Finish();
  return static_cast<int>(h % static_cast<uint64_t>(shards));
}

}  // namespace dram::database
