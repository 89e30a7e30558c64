#include "api/shard_wire.h"

#include <boost/json.hpp>

#include <algorithm>

#include "engine/columnar_table_function.h"

namespace dram::api {

namespace json = boost::json;

json::value EncodeValue(const Value& value) {
  struct Visitor {
    json::value operator()(std::monostate) const { return nullptr; }
    json::value operator()(bool v) const { return json::object{{"b", v}}; }
    json::value operator()(int64_t v) const { return json::object{{"i", v}}; }
    json::value operator()(double v) const { return json::object{{"f", v}}; }
    json::value operator()(const std::string& v) const { return json::object{{"s", v}}; }
    json::value operator()(Date v) const { return json::object{{"d", v.days}}; }
    json::value operator()(Timestamp v) const { return json::object{{"t", v.micros}}; }
    json::value operator()(const Value::List& list) const {
      json::array items;
      for (const auto& item : list) items.push_back(EncodeValue(item));
      return json::object{{"l", std::move(items)}};
    }
  };
  return std::visit(Visitor{}, value.data);
}

Result<Value> DecodeValue(const json::value& value) {
  if (value.is_null()) return Value();
  if (!value.is_object() || value.as_object().size() != 1) return InvalidArgument("a bound value must be tagged with its type");
  const auto& [tag, inner] = *value.as_object().begin();
  if (tag == "b" && inner.is_bool()) return Value(inner.as_bool());
  if (tag == "i" && inner.is_int64()) return Value(inner.as_int64());
  if (tag == "f" && inner.is_number()) return Value(inner.to_number<double>());
  if (tag == "s" && inner.is_string()) return Value(std::string(inner.as_string()));
  if (tag == "d" && inner.is_int64()) return Value(Date{static_cast<int32_t>(inner.as_int64())});
  if (tag == "t" && inner.is_int64()) return Value(Timestamp{inner.as_int64()});
  if (tag == "l" && inner.is_array()) {
    Value::List items;
    for (const auto& item : inner.as_array()) {
      ASSIGN_OR_RETURN(Value decoded, DecodeValue(item));
      items.push_back(std::move(decoded));
    }
    return Value(std::move(items));
  }
  return InvalidArgument("a bound value has an unknown type tag");
}

namespace {

json::object EncodePartial(const PartialResult& partial) {
  json::object out{{"shard", partial.shard},
                   {"snapshot", partial.snapshot},
                   {"rows", partial.rows},
                   {"count", partial.count},
                   {"watermark_ms", partial.watermark_ms},
                   {"payload_bytes", partial.payload.size()}};
  if (!partial.combined.empty()) {
    json::array combined;
    for (const auto& [shard, snapshot] : partial.combined) combined.push_back(json::array{shard, json::string(snapshot)});
    out["combined"] = std::move(combined);
  }
  return out;
}

// The partial an envelope item describes, its payload taken from `payloads` at `offset`.
Result<PartialResult> DecodePartial(const json::value& value, std::string_view payloads, size_t& offset) {
  if (!value.is_object()) return InvalidArgument("a partial result must be an object");
  const auto& object = value.as_object();
  PartialResult partial;
  const auto* shard = object.if_contains("shard");
  const auto* snapshot = object.if_contains("snapshot");
  const auto* bytes = object.if_contains("payload_bytes");
  if (!shard || !shard->is_int64() || !snapshot || !snapshot->is_string() || !bytes || !(bytes->is_int64() || bytes->is_uint64())) {
    return InvalidArgument("a partial result lacks shard, snapshot or payload_bytes");
  }
  const uint64_t size = bytes->is_uint64() ? bytes->as_uint64() : static_cast<uint64_t>(std::max<int64_t>(0, bytes->as_int64()));
  if (size > payloads.size() - offset) return DataLoss("a partial result's payload is cut short");
  partial.payload = std::string(payloads.substr(offset, size));
  offset += size;
  ASSIGN_OR_RETURN(partial.columns, engine::ColumnarTableFunction::Columns(partial.payload));
  partial.shard = static_cast<int>(shard->as_int64());
  partial.snapshot = std::string(snapshot->as_string());
  if (const auto* count = object.if_contains("count"); count && count->is_int64()) partial.count = count->as_int64();
  if (const auto* watermark = object.if_contains("watermark_ms"); watermark && watermark->is_int64()) {
    partial.watermark_ms = watermark->as_int64();
  }
  if (const auto* combined = object.if_contains("combined"); combined && combined->is_array()) {
    for (const auto& item : combined->as_array()) {
      const auto* pair = item.if_array();
      if (!pair || pair->size() != 2 || !(*pair)[0].is_int64() || !(*pair)[1].is_string()) {
        return InvalidArgument("a combined partial lists [shard, snapshot] pairs");
      }
      partial.combined.emplace_back(static_cast<int>((*pair)[0].as_int64()), std::string((*pair)[1].as_string()));
    }
  }
  if (const auto* rows = object.if_contains("rows"); rows && rows->is_int64()) partial.rows = rows->as_int64();
  return partial;
}

}  // namespace

std::string EncodeMapReply(json::object envelope, const std::vector<PartialResult>& partials) {
  json::array items;
  size_t bytes = 0;
  for (const auto& partial : partials) {
    items.push_back(EncodePartial(partial));
    bytes += partial.payload.size();
  }
  envelope["partials"] = std::move(items);
  std::string out = json::serialize(envelope);
  out.reserve(out.size() + 1 + bytes);
  out += '\n';
  for (const auto& partial : partials) out += partial.payload;
  return out;
}

Result<MapReply> DecodeMapReply(std::string_view body) {
  const size_t end = body.find('\n');
  boost::system::error_code ec;
  json::value parsed = json::parse(body.substr(0, end), ec);
  if (ec || !parsed.is_object()) return InvalidArgument("a map answer's envelope is not a JSON object");
  MapReply reply;
  reply.envelope = std::move(parsed.as_object());
  const std::string_view payloads = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
  size_t offset = 0;
  if (const auto* partials = reply.envelope.if_contains("partials")) {
    if (!partials->is_array()) return InvalidArgument("a map answer's partials must be a list");
    for (const auto& item : partials->as_array()) {
      ASSIGN_OR_RETURN(PartialResult partial, DecodePartial(item, payloads, offset));
      reply.partials.push_back(std::move(partial));
    }
    reply.envelope.erase("partials");
  }
  if (offset != payloads.size()) return DataLoss("a map answer holds bytes no partial result accounts for");
  return reply;
}

namespace {

constexpr const char* kMergeOps[] = {"value", "sum", "min", "max", "avg"};  // engine::PartialMerge::Op, in order

json::object EncodeMerge(const engine::PartialMerge& merge) {
  json::array outputs, order;
  for (const auto& output : merge.outputs) {
    outputs.push_back(json::object{{"name", output.name},
                                   {"op", kMergeOps[static_cast<int>(output.op)]},
                                   {"column", output.column},
                                   {"count_column", output.count_column},
                                   {"type", output.type}});
  }
  for (const auto& item : merge.order) order.push_back(json::array{item.output, item.descending});
  json::array keys(merge.keys.begin(), merge.keys.end());
  return json::object{{"grouped", merge.grouped}, {"keys", std::move(keys)}, {"outputs", std::move(outputs)},
                      {"answered", merge.answered}, {"order", std::move(order)}, {"limit", merge.limit},
                      {"offset", merge.offset}};
}

// Column numbers and counts as the merge takes them: integers from 0 to 65,536 (a partial's
// columns are fewer). MergePartials checks them against the partials.
Result<size_t> SmallIndex(const json::value* value) {
  if (!value || !value->is_number()) return InvalidArgument("a merge step's numbers must be integers");
  boost::system::error_code ec;
  const auto number = value->to_number<int64_t>(ec);
  if (ec || number < 0 || number > 65536) return InvalidArgument("a merge step's numbers must be integers from 0 to 65536");
  return static_cast<size_t>(number);
}

Result<engine::PartialMerge> DecodeMerge(const json::value& value) {
  const auto* object = value.if_object();
  if (!object) return InvalidArgument("a merge step must be an object");
  engine::PartialMerge merge;
  const auto* grouped = object->if_contains("grouped");
  const auto* keys = object->if_contains("keys");
  const auto* outputs = object->if_contains("outputs");
  const auto* order = object->if_contains("order");
  const auto* limit = object->if_contains("limit");
  const auto* offset = object->if_contains("offset");
  if (!grouped || !grouped->is_bool() || !keys || !keys->is_array() || !outputs || !outputs->is_array() || !order ||
      !order->is_array() || !limit || !limit->is_int64() || !offset || !offset->is_int64()) {
    return InvalidArgument("a merge step needs grouped, keys, outputs, answered, order, limit and offset");
  }
  // Bounded before anything is built: the steps may come from another member.
  constexpr size_t kMaxItems = 4096;
  if (keys->as_array().size() > kMaxItems || outputs->as_array().size() > kMaxItems || order->as_array().size() > kMaxItems) {
    return InvalidArgument("a merge step lists more than 4096 keys, outputs or order items");
  }
  merge.grouped = grouped->as_bool();
  merge.limit = limit->as_int64();
  merge.offset = offset->as_int64();
  if (merge.limit < 0 || merge.offset < 0) return InvalidArgument("a merge step's limit and offset are not negative");
  ASSIGN_OR_RETURN(merge.answered, SmallIndex(object->if_contains("answered")));
  for (const auto& key : keys->as_array()) {
    ASSIGN_OR_RETURN(size_t column, SmallIndex(&key));
    merge.keys.push_back(column);
  }
  for (const auto& item : outputs->as_array()) {
    const auto* fields = item.if_object();
    const auto* name = fields ? fields->if_contains("name") : nullptr;
    const auto* op = fields ? fields->if_contains("op") : nullptr;
    const auto* type = fields ? fields->if_contains("type") : nullptr;
    if (!name || !name->is_string() || !op || !op->is_string() || !type || !type->is_string()) {
      return InvalidArgument("a merge step's output needs name, op, column, count_column and type");
    }
    engine::PartialMerge::Output output{.name = std::string(name->as_string()), .type = std::string(type->as_string())};
    const auto known = std::find(std::begin(kMergeOps), std::end(kMergeOps), std::string_view(op->as_string()));
    if (known == std::end(kMergeOps)) return InvalidArgument("a merge step's output has an unknown op");
    output.op = static_cast<engine::PartialMerge::Op>(known - std::begin(kMergeOps));
    ASSIGN_OR_RETURN(output.column, SmallIndex(fields->if_contains("column")));
    ASSIGN_OR_RETURN(output.count_column, SmallIndex(fields->if_contains("count_column")));
    merge.outputs.push_back(std::move(output));
  }
  for (const auto& item : order->as_array()) {
    const auto* pair = item.if_array();
    if (!pair || pair->size() != 2 || !(*pair)[1].is_bool()) return InvalidArgument("a merge step orders by [output, descending] pairs");
    ASSIGN_OR_RETURN(size_t output, SmallIndex(&(*pair)[0]));
    merge.order.push_back({.output = output, .descending = (*pair)[1].as_bool()});
  }
  return merge;
}

}  // namespace

json::object EncodeReduce(const ShardPlan& plan) {
  json::array values;
  for (const auto& value : plan.reduce_values) values.push_back(EncodeValue(value));
  json::object out{{"sql", plan.reduce_sql}, {"values", std::move(values)}, {"total_sql", plan.total_sql}, {"sum_counts", plan.sum_counts}};
  if (plan.merge) out["merge"] = EncodeMerge(*plan.merge);
  return out;
}

Result<ShardPlan> DecodeReduce(const json::value& value) {
  const auto* object = value.if_object();
  const auto* sql = object ? object->if_contains("sql") : nullptr;
  const auto* values = object ? object->if_contains("values") : nullptr;
  const auto* total = object ? object->if_contains("total_sql") : nullptr;
  const auto* sum_counts = object ? object->if_contains("sum_counts") : nullptr;
  if (!sql || !sql->is_string() || !values || !values->is_array() || !total || !total->is_string() || !sum_counts ||
      !sum_counts->is_bool()) {
    return InvalidArgument("a reduce step needs sql, values, total_sql and sum_counts");
  }
  ShardPlan plan;
  plan.reduce_sql = std::string(sql->as_string());
  plan.total_sql = std::string(total->as_string());
  plan.sum_counts = sum_counts->as_bool();
  for (const auto& item : values->as_array()) {
    ASSIGN_OR_RETURN(Value decoded, DecodeValue(item));
    plan.reduce_values.push_back(std::move(decoded));
  }
  if (plan.reduce_values.size() < 2) return InvalidArgument("a reduce step binds at least its limit and offset");
  // The same reduce as merge steps (ShardPlan::merge), from members that send them.
  if (const auto* merge = object->if_contains("merge")) {
    ASSIGN_OR_RETURN(plan.merge, DecodeMerge(*merge));
  }
  return plan;
}

}  // namespace dram::api
