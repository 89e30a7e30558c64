#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "api/compiled_endpoint.h"
#include "api/shard_reduce.h"
#include "dram/status.h"
#include "dram/value.h"

namespace dram::api {

// What travels between a coordinator (a member, or the smart client) and the members that run
// map steps: bound values tagged with their type, as JSON (the member binds exactly what was
// bound: {"i":5}, {"f":1.5}, {"s":"x"}, {"b":true}, {"d":days}, {"t":micros}, {"l":[…]}, null),
// partial results (MapReply) and a reduce step.
boost::json::value EncodeValue(const Value& value);
Result<Value> DecodeValue(const boost::json::value& value);

// A map step's answer: a JSON envelope, a line end ("\n", which serialized JSON never holds
// outside a string), then each partial's columnar payload back to back. The envelope's
// "partials" lists each one's shard, snapshot, rows, count, watermark_ms, combined shards and
// payload_bytes, in payload order; the rest of the envelope is the caller's ("missing", the
// smart client's "reduce" and "format"). An envelope alone (a map_error) has no line end.
inline constexpr char kMapReplyContentType[] = "application/x-dram-partials";
struct MapReply {
  boost::json::object envelope;        // without "partials"
  std::vector<PartialResult> partials;  // columns read from each payload's header
};
std::string EncodeMapReply(boost::json::object envelope, const std::vector<PartialResult>& partials);
// Errors: InvalidArgument for a malformed envelope or partial, DataLoss for a payload cut short
// or whose header does not parse.
Result<MapReply> DecodeMapReply(std::string_view body);

// The reduce half of a ShardPlan, for the smart client, which reduces where it is.
boost::json::object EncodeReduce(const ShardPlan& plan);
Result<ShardPlan> DecodeReduce(const boost::json::value& value);

}  // namespace dram::api
