#include "api/shard_wire.h"

#include <boost/json.hpp>

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

json::object EncodePartial(const PartialResult& partial) {
  json::array columns;
  for (const auto& column : partial.columns) columns.push_back(json::array{json::string(column.name), json::string(column.type.sql_name)});
  json::object out{{"shard", partial.shard},      {"snapshot", partial.snapshot}, {"columns", std::move(columns)},
                   {"csv", partial.csv},          {"rows", partial.rows},         {"count", partial.count},
                   {"watermark_ms", partial.watermark_ms}};
  if (!partial.combined.empty()) {
    json::array combined;
    for (const auto& [shard, snapshot] : partial.combined) combined.push_back(json::array{shard, json::string(snapshot)});
    out["combined"] = std::move(combined);
  }
  return out;
}

Result<PartialResult> DecodePartial(const json::value& value) {
  if (!value.is_object()) return InvalidArgument("a partial result must be an object");
  const auto& object = value.as_object();
  PartialResult partial;
  const auto* shard = object.if_contains("shard");
  const auto* snapshot = object.if_contains("snapshot");
  const auto* columns = object.if_contains("columns");
  const auto* csv = object.if_contains("csv");
  if (!shard || !shard->is_int64() || !snapshot || !snapshot->is_string() || !columns || !columns->is_array() || !csv ||
      !csv->is_string()) {
    return InvalidArgument("a partial result lacks shard, snapshot, columns or csv");
  }
  partial.shard = static_cast<int>(shard->as_int64());
  partial.snapshot = std::string(snapshot->as_string());
  for (const auto& column : columns->as_array()) {
    if (!column.is_array() || column.as_array().size() != 2 || !column.as_array()[0].is_string() || !column.as_array()[1].is_string()) {
      return InvalidArgument("a partial result's column must be [name, type]");
    }
    engine::ColumnInfo info;
    info.name = std::string(column.as_array()[0].as_string());
    info.type.sql_name = std::string(column.as_array()[1].as_string());
    partial.columns.push_back(std::move(info));
  }
  partial.csv = std::string(csv->as_string());
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

json::object EncodeReduce(const ShardPlan& plan) {
  json::array values;
  for (const auto& value : plan.reduce_values) values.push_back(EncodeValue(value));
  return json::object{{"sql", plan.reduce_sql}, {"values", std::move(values)}, {"total_sql", plan.total_sql}, {"sum_counts", plan.sum_counts}};
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
  return plan;
}

}  // namespace dram::api
