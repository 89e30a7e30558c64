#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/endpoint_spec.h"
#include "database/snapshot.h"

namespace dram::api {

// What the `meta` object of a JSON response says about the answer.
struct ResponseMeta {
  std::string_view request_id;
  const EndpointSpec& spec;
  const database::Snapshot& snapshot;  // id and watermark (freshness)
  std::string_view generated_at;       // when the rows were computed
  int64_t row_count = 0;
  int64_t limit = 0;
  int64_t offset = 0;
  std::optional<int64_t> total;
  std::string_view cache;              // hit, miss or off
  int64_t max_age_ms = 0;              // the dataset's max_age: older data is stale; 0: never
  int64_t now_ms = 0;                  // the time freshness is computed at
  // An answer merged from shards: its own id (instead of the snapshot's) and the members of meta
  // that say where it came from (ShardedAnswer::meta_json).
  std::string_view snapshot_id;
  std::string_view shards_json;
};

// How old a snapshot's data is, by its watermark (the newest source file), and whether that is
// older than the dataset's max_age (never when max_age_ms is 0). Responses (meta.freshness) and
// /metrics (dram_dataset_data_age_seconds, dram_dataset_stale) use this one rule.
struct Freshness {
  int64_t age_seconds = 0;  // 0 when the snapshot has no watermark
  bool stale = false;
};
Freshness FreshnessOf(const database::Snapshot& snapshot, int64_t max_age_ms, int64_t now_ms);

// Appends `,"meta":{…}}` (the tail that closes a `{"data":[…]` body).
void AppendResponseMeta(const ResponseMeta& meta, std::string& out);

}  // namespace dram::api
