#include "cluster/etcd_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "cluster/internal/etcd_codec.h"
#include "cluster/internal/etcd_http.h"

namespace dram::cluster {

namespace {

using internal::HttpExchange;

constexpr std::string_view kEndpointShape = "malformed etcd endpoint (expected http://HOST:PORT)";

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

bool IsHostName(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {  // an IPv6 literal
    return std::all_of(host.begin() + 1, host.end() - 1, [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
  }
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
  });
}

Result<std::string> ParseEndpoint(std::string_view entry) {
  // Refused unechoed, before any message could name the entry: the text before '@' would be a
  // user name and password.
  if (entry.find('@') != std::string_view::npos) return InvalidArgument("etcd endpoint with credentials is not supported");
  std::string_view rest = entry;
  std::string_view scheme;
  for (std::string_view candidate : {"http://", "https://"}) {
    if (rest.starts_with(candidate)) scheme = candidate;
  }
  if (scheme.empty()) return InvalidArgument(kEndpointShape, entry);
  rest.remove_prefix(scheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || !IsHostName(rest.substr(0, colon))) return InvalidArgument(kEndpointShape, entry);
  std::string_view port_text = rest.substr(colon + 1);
  int port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return InvalidArgument(kEndpointShape, entry);
  }
  return std::string(scheme) + std::string(rest);
}

}  // namespace

Result<std::vector<std::string>> ParseEtcdEndpoints(std::string_view list) {
  std::vector<std::string> out;
  if (Trim(list).empty()) return InvalidArgument("no etcd endpoints given");
  for (size_t start = 0; start <= list.size();) {
    size_t comma = std::min(list.find(',', start), list.size());
    std::string_view entry = Trim(list.substr(start, comma - start));
    if (entry.empty()) return InvalidArgument("empty etcd endpoint in the list", "entry " + std::to_string(out.size() + 1));
    ASSIGN_OR_RETURN(std::string url, ParseEndpoint(entry));
    out.push_back(std::move(url));
    start = comma + 1;
  }
  return out;
}

Result<std::unique_ptr<EtcdClient>> EtcdClient::Create(std::string_view endpoints, EtcdClientOptions options) {
  ASSIGN_OR_RETURN(std::vector<std::string> urls, ParseEtcdEndpoints(endpoints));
  if (options.call_timeout.count() <= 0 || options.operation_timeout.count() <= 0) {
    return InvalidArgument("etcd client timeouts must be positive");
  }
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(urls), options));
}

EtcdClient::EtcdClient(std::vector<std::string> endpoints, EtcdClientOptions options)
    : endpoints_(std::move(endpoints)), options_(options), http_(std::make_unique<internal::HttpPool>()) {}

EtcdClient::~EtcdClient() = default;

size_t EtcdClient::preferred() const {
  common::MutexLock lock(mu_);
  return preferred_;
}

void EtcdClient::set_preferred(size_t index) {
  common::MutexLock lock(mu_);
  preferred_ = index;
}

Result<std::string> EtcdClient::Perform(const Call& call) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + options_.operation_timeout;
  const size_t first = preferred();
  std::string tried;
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) break;
    const size_t index = (first + i) % endpoints_.size();
    const std::string& endpoint = endpoints_[index];
    HttpExchange reply = http_->Post({endpoint + std::string(call.path), call.body, call.require_leader},
                                     std::min(options_.call_timeout, remaining));
    if (reply.failure == HttpExchange::Failure::kNone && reply.status >= 200 && reply.status < 300) {
      set_preferred(index);
      return std::move(reply.body);
    }
    std::string why;
    if (reply.failure != HttpExchange::Failure::kNone) {
      if (call.kind == CallKind::kWrite && reply.failure != HttpExchange::Failure::kConnect) {
        set_preferred((index + 1) % endpoints_.size());
        return Unavailable("etcd write outcome unknown (" + reply.error + ")", endpoint + std::string(call.path));
      }
      why = reply.error;
    } else {
      Status status = internal::StatusOfErrorReply(reply.status, reply.body);
      const bool no_leader = internal::SaysNoLeader(status);
      const bool transient = status.code() == StatusCode::kUnavailable ||
                             status.code() == StatusCode::kDeadlineExceeded || reply.status >= 500;
      if (!no_leader && !(transient && call.kind == CallKind::kRead)) return status;
      why = status.message();
    }
    tried += (tried.empty() ? "" : "; ") + endpoint + ": " + why;
    set_preferred((index + 1) % endpoints_.size());
  }
  return Unavailable("no etcd member answered within " + std::to_string(options_.operation_timeout.count()) +
                     " ms (" + (tried.empty() ? "none tried" : tried) + ")");
}

Result<int64_t> EtcdClient::Grant(int64_t ttl_seconds) {
  if (ttl_seconds <= 0) return InvalidArgument("etcd lease TTL must be positive");
  // Retried like a read: a grant repeated after a lost reply leaves one unused lease, which
  // expires after its TTL.
  ASSIGN_OR_RETURN(std::string body, Perform({"/v3/lease/grant", internal::GrantRequest(ttl_seconds), CallKind::kRead}));
  return internal::ParseGrantResponse(body);
}

Result<int64_t> EtcdClient::KeepAliveOnce(int64_t lease) {
  ASSIGN_OR_RETURN(std::string body, Perform({"/v3/lease/keepalive", internal::LeaseRequest(lease), CallKind::kRead}));
  return internal::ParseKeepAliveResponse(body, lease);
}

Status EtcdClient::Revoke(int64_t lease) {
  return Perform({"/v3/lease/revoke", internal::LeaseRequest(lease), CallKind::kWrite}).status();
}

Result<int64_t> EtcdClient::Put(std::string_view key, std::string_view value, int64_t lease) {
  if (key.empty()) return InvalidArgument("etcd key must not be empty");
  ASSIGN_OR_RETURN(std::string body, Perform({"/v3/kv/put", internal::PutRequest(key, value, lease), CallKind::kWrite}));
  return internal::ParseHeaderRevision(body);
}

Result<EtcdRangeResult> EtcdClient::Get(std::string_view key, EtcdReadOptions options) {
  if (key.empty()) return InvalidArgument("etcd key must not be empty");
  return Range(EtcdKeyRange::Single(std::string(key)), options);
}

Result<EtcdRangeResult> EtcdClient::Range(const EtcdKeyRange& range, EtcdReadOptions options) {
  if (range.key.empty()) return InvalidArgument("etcd key must not be empty");
  ASSIGN_OR_RETURN(std::string body, Perform({"/v3/kv/range", internal::RangeRequest(range, options.serializable),
                                              CallKind::kRead, !options.serializable}));
  return internal::ParseRangeResponse(body);
}

Result<EtcdDeleteResult> EtcdClient::DeleteRange(const EtcdKeyRange& range) {
  if (range.key.empty()) return InvalidArgument("etcd key must not be empty");
  ASSIGN_OR_RETURN(std::string body, Perform({"/v3/kv/deleterange", internal::DeleteRangeRequest(range), CallKind::kWrite}));
  return internal::ParseDeleteRangeResponse(body);
}

Result<EtcdTxnResult> EtcdClient::Txn(const std::vector<EtcdCompare>& compares, const std::vector<EtcdOp>& success,
                                      const std::vector<EtcdOp>& failure) {
  ASSIGN_OR_RETURN(std::string body,
                   Perform({"/v3/kv/txn", internal::TxnRequest(compares, success, failure), CallKind::kWrite}));
  return internal::ParseTxnResponse(body);
}

Result<int64_t> EtcdClient::Compact(int64_t revision) {
  ASSIGN_OR_RETURN(std::string body, Perform({"/v3/kv/compaction", internal::CompactRequest(revision), CallKind::kWrite}));
  return internal::ParseHeaderRevision(body);
}

Result<EtcdMemberStatus> EtcdClient::MemberStatus(const std::string& endpoint) {
  const std::string url = endpoint + "/v3/maintenance/status";
  HttpExchange reply = http_->Post({url, "{}", false}, options_.call_timeout);
  if (reply.failure != HttpExchange::Failure::kNone) return Unavailable("etcd member did not answer (" + reply.error + ")", url);
  if (reply.status < 200 || reply.status >= 300) return internal::StatusOfErrorReply(reply.status, reply.body);
  ASSIGN_OR_RETURN(EtcdMemberStatus status, internal::ParseStatusResponse(reply.body));
  status.endpoint = endpoint;
  return status;
}

}  // namespace dram::cluster
