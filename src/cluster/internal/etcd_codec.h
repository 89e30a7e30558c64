#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/etcd_types.h"
#include "dram/status.h"

// etcd's v3 messages as its JSON gateway (grpc-gateway, etcd 3.4) writes them: keys and values
// base64, 64-bit integers as JSON strings, and every zero-valued field left out (a put event has
// no "type", a failed txn no "succeeded", an empty range no "kvs", an expired lease's keepalive
// no "TTL"). The parsers read a missing field as its zero. Pure functions, no I/O.

namespace dram::cluster::internal {

std::string RangeRequest(const EtcdKeyRange& range, bool serializable);
std::string PutRequest(std::string_view key, std::string_view value, int64_t lease);
std::string DeleteRangeRequest(const EtcdKeyRange& range);
std::string TxnRequest(const std::vector<EtcdCompare>& compares, const std::vector<EtcdOp>& success,
                       const std::vector<EtcdOp>& failure);
std::string GrantRequest(int64_t ttl_seconds);
// {"ID": lease}: the body of keepalive and revoke.
std::string LeaseRequest(int64_t lease);
std::string CompactRequest(int64_t revision);
// A watch's create_request, with progress notifications asked for (the idle timeout needs them).
std::string WatchCreateRequest(const EtcdKeyRange& range, int64_t start_revision);

// Each parser: Internal when the body is not the JSON message expected (never echoing it).
Result<EtcdRangeResult> ParseRangeResponse(std::string_view body);
// header.revision of a put or compaction reply.
Result<int64_t> ParseHeaderRevision(std::string_view body);
Result<EtcdDeleteResult> ParseDeleteRangeResponse(std::string_view body);
Result<EtcdTxnResult> ParseTxnResponse(std::string_view body);
// The lease id; Internal when etcd's reply carries an "error" instead.
Result<int64_t> ParseGrantResponse(std::string_view body);
// The lease's remaining TTL in seconds; NotFound when the reply has none (the lease expired or
// never existed). Reads the plain and the stream ({"result": …}) form.
Result<int64_t> ParseKeepAliveResponse(std::string_view body, int64_t lease);
Result<EtcdMemberStatus> ParseStatusResponse(std::string_view body);

// The Status for an etcd error reply: the gRPC code in its {"error","message","code"} body (the
// same numbering as StatusCode) and its message; the HTTP status alone when the body has none.
Status StatusOfErrorReply(long http_status, std::string_view body);

// Whether `status` (from StatusOfErrorReply or a watch stream) is etcd's "no leader" refusal
// (rpctypes.ErrNoLeader): given before the member proposed anything, so a write that got it was
// certainly not applied and may go to another member.
bool SaysNoLeader(const Status& status);

// One message of a watch stream (one line of the reply).
struct WatchMessage {
  enum class Kind {
    kCreated,   // the watch exists; header revision is the store's revision at creation
    kEvents,    // events (one or more revisions)
    kProgress,  // no events: everything up to header revision was sent
    kCanceled,  // the server ended the watch: compacted (compact_revision > 0) or cancel_reason
    kError,     // the gateway's stream error ({"error": {...}}): `error`
  };
  Kind kind = Kind::kProgress;
  int64_t header_revision = 0;
  std::vector<EtcdEvent> events;
  int64_t compact_revision = 0;
  std::string cancel_reason;
  Status error;
};
Result<WatchMessage> ParseWatchMessage(std::string_view line);

}  // namespace dram::cluster::internal
