#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <vector>

#include "api/compiled_endpoint.h"
#include "api/shard_reduce.h"
#include "dram/status.h"
#include "dram/value.h"

namespace dram::api {

// What travels between a coordinator (a member, or the smart client) and the members that run
// map steps, as JSON: bound values tagged with their type (the member binds exactly what was
// bound: {"i":5}, {"f":1.5}, {"s":"x"}, {"b":true}, {"d":days}, {"t":micros}, {"l":[…]}, null),
// partial results (columns with their DuckDB types, rows as exact CSV) and a reduce step.
boost::json::value EncodeValue(const Value& value);
Result<Value> DecodeValue(const boost::json::value& value);

boost::json::object EncodePartial(const PartialResult& partial);
Result<PartialResult> DecodePartial(const boost::json::value& value);

// The reduce half of a ShardPlan, for the smart client, which reduces where it is.
boost::json::object EncodeReduce(const ShardPlan& plan);
Result<ShardPlan> DecodeReduce(const boost::json::value& value);

}  // namespace dram::api
