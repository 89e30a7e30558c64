#include "cluster/records.h"

#include <boost/json.hpp>

namespace dram::cluster {

namespace json = boost::json;

double MemberRecord::weight() const {
  if (capacity_bytes <= 0) return 1.0;
  return std::max(1e-3, static_cast<double>(capacity_bytes) / static_cast<double>(int64_t{1} << 30));
}

std::string_view StateName(database::CopyStatus::State state) {
  switch (state) {
    case database::CopyStatus::State::kLoading: return "loading";
    case database::CopyStatus::State::kReady: return "ready";
    case database::CopyStatus::State::kFailed: return "failed";
    case database::CopyStatus::State::kCold: return "cold";
  }
  return "loading";
}

std::string Keys::replica(std::string_view member, const database::CopyId& copy) const {
  return replicas_of(member) + copy.database + "/" + std::to_string(copy.shard);
}

std::string Keys::drop_lock(const database::CopyId& copy) const {
  return root_ + "locks/drop/" + copy.database + "/" + std::to_string(copy.shard);
}

std::string EncodeMember(const MemberRecord& r) {
  return json::serialize(json::object{{"id", r.id}, {"api", r.api}, {"admin", r.admin}, {"zone", r.zone},
                                      {"capacity_bytes", r.capacity_bytes}, {"draining", r.draining}});
}

namespace {

// A record written by another version of dram may lack fields: they keep their defaults.
std::string Text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : "";
}
int64_t Number(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : 0;
}

Result<json::object> ParseObject(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return InvalidArgument("cluster record is not a JSON object");
  return std::move(value.as_object());
}

}  // namespace

Result<MemberRecord> DecodeMember(std::string_view text) {
  ASSIGN_OR_RETURN(json::object o, ParseObject(text));
  MemberRecord r;
  r.id = Text(o, "id");
  r.api = Text(o, "api");
  r.admin = Text(o, "admin");
  r.zone = Text(o, "zone");
  r.capacity_bytes = Number(o, "capacity_bytes");
  const json::value* draining = o.if_contains("draining");
  r.draining = draining && draining->is_bool() && draining->get_bool();
  if (r.id.empty()) return InvalidArgument("member record without an id");
  return r;
}

std::string EncodeReplica(const ReplicaRecord& r) {
  return json::serialize(json::object{{"member", r.member}, {"database", r.copy.database}, {"shard", r.copy.shard},
                                      {"state", r.state}, {"snapshot", r.snapshot}, {"bytes", r.bytes}, {"error", r.error},
                                      {"previous", r.previous}});
}

Result<ReplicaRecord> DecodeReplica(std::string_view text) {
  ASSIGN_OR_RETURN(json::object o, ParseObject(text));
  ReplicaRecord r;
  r.member = Text(o, "member");
  r.copy.database = Text(o, "database");
  r.copy.shard = static_cast<int>(Number(o, "shard"));
  r.state = Text(o, "state");
  r.snapshot = Text(o, "snapshot");
  r.bytes = Number(o, "bytes");
  r.error = Text(o, "error");
  r.previous = Text(o, "previous");
  if (r.member.empty() || r.copy.database.empty()) return InvalidArgument("replica record without member or database");
  return r;
}

bool IsClusterName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':')) return false;
  }
  return true;
}

}  // namespace dram::cluster
