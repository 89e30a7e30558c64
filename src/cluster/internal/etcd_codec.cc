#include "cluster/internal/etcd_codec.h"

#include <boost/json.hpp>

#include <charconv>
#include <utility>

#include "common/json_text.h"

namespace dram::cluster::internal {

namespace json = boost::json;

namespace {

// etcd error messages are short ("etcdserver: no leader"); a longer one is cut, not echoed whole.
constexpr size_t kMaxErrorMessage = 200;
constexpr std::string_view kMessagePrefix = "etcd: ";
constexpr std::string_view kNoLeader = "etcdserver: no leader";

std::string Base64(std::string_view bytes) {
  std::string out;
  common::AppendBase64(out, bytes);
  return out;
}

void SetRange(json::object& out, const EtcdKeyRange& range) {
  out["key"] = Base64(range.key);
  if (!range.range_end.empty()) out["range_end"] = Base64(range.range_end);
}

// Reads fields of a parsed reply, treating a missing field as its zero value (the gateway omits
// zeros) and remembering the first malformed one, so a parser checks status() once at the end.
class Reader {
 public:
  explicit Reader(std::string_view what) : what_(what) {}

  const json::object* Object(const json::object* in, std::string_view name) {
    const json::value* v = Find(in, name);
    if (!v) return nullptr;
    if (!v->is_object()) return Failed(name, nullptr);
    return &v->get_object();
  }
  const json::array* Array(const json::object* in, std::string_view name) {
    const json::value* v = Find(in, name);
    if (!v) return nullptr;
    if (!v->is_array()) return Failed(name, nullptr);
    return &v->get_array();
  }
  // A 64-bit integer, which the gateway writes as a string ("12"); a plain number is read too.
  int64_t Int(const json::object* in, std::string_view name) {
    const json::value* v = Find(in, name);
    if (!v) return 0;
    if (v->is_int64()) return v->get_int64();
    int64_t out = 0;
    if (v->is_string() && Parse(v->get_string(), out)) return out;
    return Failed(name, 0);
  }
  // Member ids use all 64 bits.
  uint64_t Uint(const json::object* in, std::string_view name) {
    const json::value* v = Find(in, name);
    if (!v) return 0;
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<uint64_t>(v->get_int64());
    uint64_t out = 0;
    if (v->is_string() && Parse(v->get_string(), out)) return out;
    return Failed(name, 0);
  }
  bool Bool(const json::object* in, std::string_view name) {
    const json::value* v = Find(in, name);
    if (!v) return false;
    if (v->is_bool()) return v->get_bool();
    return Failed(name, false);
  }
  std::string Text(const json::object* in, std::string_view name) {
    const json::value* v = Find(in, name);
    if (!v) return "";
    if (v->is_string()) return std::string(v->get_string());
    return Failed(name, "");
  }
  // Keys and values: base64 in the JSON.
  std::string Bytes(const json::object* in, std::string_view name) {
    const json::value* v = Find(in, name);
    if (!v) return "";
    if (v->is_string()) {
      if (auto decoded = common::DecodeBase64(v->get_string())) return *std::move(decoded);
    }
    return Failed(name, "");
  }

  EtcdKeyValue KeyValue(const json::object* kv) {
    return {Bytes(kv, "key"),        Bytes(kv, "value"),   Int(kv, "create_revision"),
            Int(kv, "mod_revision"), Int(kv, "version"),   Int(kv, "lease")};
  }
  std::vector<EtcdKeyValue> KeyValues(const json::object* in) {
    std::vector<EtcdKeyValue> out;
    const json::array* kvs = Array(in, "kvs");
    if (!kvs) return out;
    out.reserve(kvs->size());
    for (const json::value& kv : *kvs) {
      if (!kv.is_object()) return Failed("kvs", std::move(out));
      out.push_back(KeyValue(&kv.get_object()));
    }
    return out;
  }
  int64_t HeaderRevision(const json::object* in) { return Int(Object(in, "header"), "revision"); }

  Status status() const {
    if (bad_field_.empty()) return Status();
    return Internal("malformed etcd reply (field " + bad_field_ + ")", what_);
  }

 private:
  static const json::value* Find(const json::object* in, std::string_view name) { return in ? in->if_contains(name) : nullptr; }
  template <typename Int>
  static bool Parse(json::string_view text, Int& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
  }
  // Notes the first malformed field and returns `zero`, the value the caller then reads.
  template <typename T>
  T Failed(std::string_view name, T zero) {
    if (bad_field_.empty()) bad_field_ = std::string(name);
    return zero;
  }
  std::string what_;
  std::string bad_field_;
};

Result<json::object> ParseObject(std::string_view body, std::string_view what) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return Internal("etcd reply is not a JSON object", what);
  return std::move(value.get_object());
}

const char* CompareTarget(EtcdCompare::Target target) {
  switch (target) {
    case EtcdCompare::Target::kValue: return "VALUE";
    case EtcdCompare::Target::kVersion: return "VERSION";
    case EtcdCompare::Target::kCreateRevision: return "CREATE";
    case EtcdCompare::Target::kModRevision: return "MOD";
  }
  return "VALUE";
}

json::object CompareJson(const EtcdCompare& compare) {
  json::object out{{"key", Base64(compare.key)}, {"target", CompareTarget(compare.target)}, {"result", "EQUAL"}};
  switch (compare.target) {
    case EtcdCompare::Target::kValue: out["value"] = Base64(compare.value); break;
    case EtcdCompare::Target::kVersion: out["version"] = std::to_string(compare.number); break;
    case EtcdCompare::Target::kCreateRevision: out["create_revision"] = std::to_string(compare.number); break;
    case EtcdCompare::Target::kModRevision: out["mod_revision"] = std::to_string(compare.number); break;
  }
  return out;
}

json::object OpJson(const EtcdOp& op) {
  json::object inner;
  switch (op.kind) {
    case EtcdOp::Kind::kPut:
      inner["key"] = Base64(op.range.key);
      inner["value"] = Base64(op.value);
      if (op.lease != 0) inner["lease"] = std::to_string(op.lease);
      return {{"request_put", std::move(inner)}};
    case EtcdOp::Kind::kDelete:
      SetRange(inner, op.range);
      return {{"request_delete_range", std::move(inner)}};
    case EtcdOp::Kind::kRange:
      SetRange(inner, op.range);
      return {{"request_range", std::move(inner)}};
  }
  return {};
}

json::array OpsJson(const std::vector<EtcdOp>& ops) {
  json::array out;
  for (const EtcdOp& op : ops) out.push_back(OpJson(op));
  return out;
}

// The gRPC codes (google.golang.org/grpc/codes) are Abseil's, in the same order as StatusCode;
// the table keeps that an explicit fact rather than a cast.
StatusCode CodeOfGrpc(int64_t code) {
  static constexpr StatusCode kByGrpcCode[] = {
      StatusCode::kOk,           StatusCode::kCancelled,         StatusCode::kUnknown,
      StatusCode::kInvalidArgument, StatusCode::kDeadlineExceeded, StatusCode::kNotFound,
      StatusCode::kAlreadyExists, StatusCode::kPermissionDenied, StatusCode::kResourceExhausted,
      StatusCode::kFailedPrecondition, StatusCode::kAborted,     StatusCode::kOutOfRange,
      StatusCode::kUnimplemented, StatusCode::kInternal,         StatusCode::kUnavailable,
      StatusCode::kDataLoss,     StatusCode::kUnauthenticated};
  if (code <= 0 || code >= static_cast<int64_t>(std::size(kByGrpcCode))) return StatusCode::kUnknown;
  return kByGrpcCode[code];
}

StatusCode CodeOfHttp(long http_status) {
  switch (http_status) {
    case 400: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404: return StatusCode::kNotFound;
    case 409: return StatusCode::kAborted;
    case 429: return StatusCode::kResourceExhausted;
    case 501: return StatusCode::kUnimplemented;
    case 504: return StatusCode::kDeadlineExceeded;
    default: return http_status >= 500 ? StatusCode::kUnavailable : StatusCode::kUnknown;
  }
}

Status StatusOfMessage(StatusCode code, std::string message) {
  if (message.size() > kMaxErrorMessage) message = message.substr(0, kMaxErrorMessage) + "...";
  return Status(code == StatusCode::kOk ? StatusCode::kUnknown : code, std::string(kMessagePrefix) + message);
}

}  // namespace

std::string RangeRequest(const EtcdKeyRange& range, bool serializable) {
  json::object out;
  SetRange(out, range);
  if (serializable) out["serializable"] = true;
  return json::serialize(out);
}

std::string PutRequest(std::string_view key, std::string_view value, int64_t lease) {
  json::object out{{"key", Base64(key)}, {"value", Base64(value)}};
  if (lease != 0) out["lease"] = std::to_string(lease);
  return json::serialize(out);
}

std::string DeleteRangeRequest(const EtcdKeyRange& range) {
  json::object out;
  SetRange(out, range);
  return json::serialize(out);
}

std::string TxnRequest(const std::vector<EtcdCompare>& compares, const std::vector<EtcdOp>& success,
                       const std::vector<EtcdOp>& failure) {
  json::array compare_json;
  for (const EtcdCompare& compare : compares) compare_json.push_back(CompareJson(compare));
  json::object out{{"compare", std::move(compare_json)}, {"success", OpsJson(success)}, {"failure", OpsJson(failure)}};
  return json::serialize(out);
}

std::string GrantRequest(int64_t ttl_seconds) { return json::serialize(json::object{{"TTL", std::to_string(ttl_seconds)}}); }

std::string LeaseRequest(int64_t lease) { return json::serialize(json::object{{"ID", std::to_string(lease)}}); }

std::string CompactRequest(int64_t revision) {
  return json::serialize(json::object{{"revision", std::to_string(revision)}});
}

std::string WatchCreateRequest(const EtcdKeyRange& range, int64_t start_revision) {
  json::object create;
  SetRange(create, range);
  if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
  create["progress_notify"] = true;
  return json::serialize(json::object{{"create_request", std::move(create)}});
}

Result<EtcdRangeResult> ParseRangeResponse(std::string_view body) {
  ASSIGN_OR_RETURN(json::object reply, ParseObject(body, "range"));
  Reader read("range");
  EtcdRangeResult out{read.KeyValues(&reply), read.HeaderRevision(&reply)};
  RETURN_IF_ERROR(read.status());
  return out;
}

Result<int64_t> ParseHeaderRevision(std::string_view body) {
  ASSIGN_OR_RETURN(json::object reply, ParseObject(body, "header"));
  Reader read("header");
  int64_t revision = read.HeaderRevision(&reply);
  RETURN_IF_ERROR(read.status());
  return revision;
}

Result<EtcdDeleteResult> ParseDeleteRangeResponse(std::string_view body) {
  ASSIGN_OR_RETURN(json::object reply, ParseObject(body, "deleterange"));
  Reader read("deleterange");
  EtcdDeleteResult out{read.Int(&reply, "deleted"), read.HeaderRevision(&reply)};
  RETURN_IF_ERROR(read.status());
  return out;
}

Result<EtcdTxnResult> ParseTxnResponse(std::string_view body) {
  ASSIGN_OR_RETURN(json::object reply, ParseObject(body, "txn"));
  Reader read("txn");
  EtcdTxnResult out{read.Bool(&reply, "succeeded"), read.HeaderRevision(&reply), {}};
  if (const json::array* responses = read.Array(&reply, "responses")) {
    for (const json::value& response : *responses) {
      const json::object* one = response.if_object();
      EtcdOpResult result;
      if (const json::object* range = read.Object(one, "response_range")) result.kvs = read.KeyValues(range);
      if (const json::object* deleted = read.Object(one, "response_delete_range")) result.deleted = read.Int(deleted, "deleted");
      out.results.push_back(std::move(result));
    }
  }
  RETURN_IF_ERROR(read.status());
  return out;
}

Result<int64_t> ParseGrantResponse(std::string_view body) {
  ASSIGN_OR_RETURN(json::object reply, ParseObject(body, "lease grant"));
  Reader read("lease grant");
  int64_t id = read.Int(&reply, "ID");
  std::string error = read.Text(&reply, "error");
  RETURN_IF_ERROR(read.status());
  if (!error.empty()) return StatusOfMessage(StatusCode::kInternal, error);
  if (id == 0) return Internal("etcd granted no lease id");
  return id;
}

Result<int64_t> ParseKeepAliveResponse(std::string_view body, int64_t lease) {
  ASSIGN_OR_RETURN(json::object reply, ParseObject(body, "lease keepalive"));
  Reader read("lease keepalive");
  const json::object* result = read.Object(&reply, "result");
  if (const json::object* error = read.Object(&reply, "error")) {
    RETURN_IF_ERROR(read.status());
    return StatusOfMessage(CodeOfGrpc(read.Int(error, "grpc_code")), read.Text(error, "message"));
  }
  int64_t ttl = read.Int(result ? result : &reply, "TTL");
  RETURN_IF_ERROR(read.status());
  if (ttl <= 0) return NotFound("etcd lease expired or unknown", std::to_string(lease));
  return ttl;
}

Result<EtcdMemberStatus> ParseStatusResponse(std::string_view body) {
  ASSIGN_OR_RETURN(json::object reply, ParseObject(body, "status"));
  Reader read("status");
  EtcdMemberStatus out;
  out.member_id = read.Uint(read.Object(&reply, "header"), "member_id");
  out.leader_id = read.Uint(&reply, "leader");
  out.raft_term = read.Int(&reply, "raftTerm");
  out.version = read.Text(&reply, "version");
  RETURN_IF_ERROR(read.status());
  return out;
}

Status StatusOfErrorReply(long http_status, std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  const json::object* reply = ec ? nullptr : value.if_object();
  Reader read("error");
  std::string message = read.Text(reply, "message");
  int64_t code = read.Int(reply, "code");
  if (!reply || !read.status().ok() || (message.empty() && code == 0)) {
    return Status(CodeOfHttp(http_status), "etcd answered HTTP " + std::to_string(http_status));
  }
  return StatusOfMessage(code != 0 ? CodeOfGrpc(code) : CodeOfHttp(http_status), message);
}

bool SaysNoLeader(const Status& status) {
  return status.code() == StatusCode::kUnavailable && status.message() == std::string(kMessagePrefix) + std::string(kNoLeader);
}

Result<WatchMessage> ParseWatchMessage(std::string_view line) {
  ASSIGN_OR_RETURN(json::object message, ParseObject(line, "watch"));
  Reader read("watch");
  WatchMessage out;
  if (const json::value* error = message.if_contains("error")) {
    // The stream form is {"error": {"grpc_code", "message", ...}}; a reply that failed before
    // streaming is the plain {"error": "...", "code": N}.
    out.kind = WatchMessage::Kind::kError;
    if (error->is_object()) {
      out.error = StatusOfMessage(CodeOfGrpc(read.Int(&error->get_object(), "grpc_code")),
                                  read.Text(&error->get_object(), "message"));
    } else {
      out.error = StatusOfMessage(CodeOfGrpc(read.Int(&message, "code")), read.Text(&message, "message"));
    }
    RETURN_IF_ERROR(read.status());
    return out;
  }
  const json::object* result = read.Object(&message, "result");
  out.header_revision = read.HeaderRevision(result);
  if (read.Bool(result, "canceled")) {
    out.kind = WatchMessage::Kind::kCanceled;
    out.compact_revision = read.Int(result, "compact_revision");
    out.cancel_reason = read.Text(result, "cancel_reason");
  } else if (read.Bool(result, "created")) {
    out.kind = WatchMessage::Kind::kCreated;
  } else if (const json::array* events = read.Array(result, "events")) {
    out.kind = events->empty() ? WatchMessage::Kind::kProgress : WatchMessage::Kind::kEvents;
    for (const json::value& event : *events) {
      const json::object* one = event.if_object();
      std::string type = read.Text(one, "type");
      if (!one || (type != "" && type != "PUT" && type != "DELETE")) return Internal("malformed etcd watch event");
      out.events.push_back({type == "DELETE" ? EtcdEvent::Type::kDelete : EtcdEvent::Type::kPut,
                            read.KeyValue(read.Object(one, "kv"))});
    }
  } else {
    out.kind = WatchMessage::Kind::kProgress;
  }
  RETURN_IF_ERROR(read.status());
  if (!result) return Internal("etcd watch message has neither result nor error");
  return out;
}

}  // namespace dram::cluster::internal
