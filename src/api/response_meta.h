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
};

// Appends `,"meta":{…}}` (the tail that closes a `{"data":[…]` body).
void AppendResponseMeta(const ResponseMeta& meta, std::string& out);

}  // namespace dram::api
