#include "api/response_meta.h"

#include <algorithm>

#include "common/civil_time.h"
#include "common/json_text.h"

namespace dram::api {

Freshness FreshnessOf(const database::Snapshot& snapshot, int64_t max_age_ms, int64_t now_ms) {
  const int64_t watermark_ms = snapshot.watermark_ms();
  return {.age_seconds = watermark_ms > 0 ? std::max<int64_t>(0, (now_ms - watermark_ms) / 1000) : 0,
          .stale = max_age_ms > 0 && now_ms - watermark_ms > max_age_ms};
}

void AppendResponseMeta(const ResponseMeta& meta, std::string& out) {
  const database::Snapshot& snapshot = meta.snapshot;
  const int64_t watermark_ms = snapshot.watermark_ms();
  const auto [age_seconds, stale] = FreshnessOf(snapshot, meta.max_age_ms, meta.now_ms);
  out.reserve(out.size() + 400);
  out += ",\"meta\":{\"request_id\":\"";
  out += meta.request_id;
  out += "\",\"endpoint\":";
  common::AppendJsonString(out, meta.spec.name);
  out += ",\"version\":";
  common::AppendInt(out, meta.spec.version);
  out += ",\"snapshot_id\":\"";
  out += meta.snapshot_id.empty() ? std::string_view(snapshot.id()) : meta.snapshot_id;
  out += "\",\"generated_at\":\"";
  out += meta.generated_at;
  out += "\",\"row_count\":";
  common::AppendInt(out, meta.row_count);
  out += ",\"limit\":";
  common::AppendInt(out, meta.limit);
  out += ",\"offset\":";
  common::AppendInt(out, meta.offset);
  if (meta.total) {
    out += ",\"total\":";
    common::AppendInt(out, *meta.total);
  }
  out += ",\"cache\":\"";
  out += meta.cache;
  out += "\",\"freshness\":{\"watermark\":";
  if (watermark_ms > 0) {
    out += '"';
    common::AppendIsoTimestampMicros(out, watermark_ms * 1000, true);
    out += '"';
  } else {
    out += "null";
  }
  out += ",\"age_seconds\":";
  common::AppendInt(out, age_seconds);
  out += ",\"stale\":";
  out += stale ? "true" : "false";
  out += "}";
  if (!meta.shards_json.empty()) {
    out += ',';
    out += meta.shards_json;
  }
  out += "}}";
}

}  // namespace dram::api
