// Fuzzes what a coordinator reads from another member: a map reply (JSON envelope, line end,
// columnar payloads; api::DecodeMapReply), then, when it decodes, the reduce of its payloads: by
// the merge steps the envelope's "reduce" carries (api::DecodeReduce, as the smart client takes
// them; engine::MergePartials), else through DuckDB and the columnar table function. Every value DuckDB would take on trust
// (lengths, UTF-8, enum indexes, decimal and time ranges) must be refused before it gets there.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/shard_reduce.h"
#include "api/shard_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<dram::api::ShardReducer> reducer = [] {
    auto created = dram::api::ShardReducer::Create(1);
    if (!created.ok()) __builtin_trap();
    return std::move(*created);
  }();
  auto reply = dram::api::DecodeMapReply(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!reply.ok() || reply->partials.empty()) return 0;
  dram::api::ShardPlan plan;
  plan.reduce_sql = "SELECT * FROM partials LIMIT $1 OFFSET $2";
  plan.reduce_values = {dram::Value(int64_t{1000}), dram::Value(int64_t{0})};
  if (const auto* reduce = reply->envelope.if_contains("reduce")) {
    if (auto sent = dram::api::DecodeReduce(*reduce); sent.ok()) plan.merge = sent->merge;  // never its SQL
  }
  std::string body;
  (void)reducer->Reduce(plan, reply->partials, dram::engine::Format::kJson, body);
  return 0;
}
