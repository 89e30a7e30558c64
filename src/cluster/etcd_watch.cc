// EtcdClient::Watch: one long-lived streaming POST /v3/watch at a time, reopened on the next member
// whenever it ends for any reason but a stop or a compaction.

#include <algorithm>

#include "cluster/etcd_client.h"
#include "cluster/internal/backoff.h"
#include "cluster/internal/etcd_codec.h"
#include "cluster/internal/etcd_http.h"
#include "common/json_text.h"
#include "common/log.h"

namespace dram::cluster {

namespace {

using internal::HttpExchange;
using internal::WatchMessage;

// Reconnect pauses once a member refused or could not be reached: a new leader takes one
// election (2.5 s with the recommended settings), so 2 s at most keeps the gap after it short.
constexpr std::chrono::milliseconds kReconnectMin{100};
constexpr std::chrono::milliseconds kReconnectMax{2'000};

// Errors of a stream worth a new stream on another member: the member's trouble, not the
// request's.
bool IsTransient(const Status& status) {
  switch (status.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kCancelled:
    case StatusCode::kUnknown:
    case StatusCode::kAborted:
    case StatusCode::kResourceExhausted: return true;
    default: return false;
  }
}

// A watch's position across its streams, fed the reply bytes of the current stream.
class WatchSession {
 public:
  WatchSession(int64_t start_revision, const EtcdEventsCallback& on_events, std::stop_token stop)
      : next_revision_(start_revision), on_events_(on_events), stop_(std::move(stop)) {}

  void BeginStream() {
    buffer_.clear();
    created_ = false;
    end_ = Status();
  }

  // Takes the next bytes of the stream; false when the stream has to end (stopped, compacted,
  // canceled, an error message, a message that cannot be read).
  bool OnData(std::string_view chunk) {
    buffer_.append(chunk);
    // grpc-gateway writes one JSON message per line; a partial line waits for the rest.
    size_t start = 0;
    for (size_t newline; (newline = buffer_.find('\n', start)) != std::string::npos; start = newline + 1) {
      // Once stopped (possibly by on_events itself), nothing more is delivered.
      if (stop_.stop_requested()) return false;
      if (!OnLine(std::string_view(buffer_).substr(start, newline - start))) return false;
    }
    buffer_.erase(0, start);
    return true;
  }

  int64_t next_revision() const { return next_revision_; }
  bool created() const { return created_; }
  bool compacted() const { return compact_revision_ > 0; }
  int64_t compact_revision() const { return compact_revision_; }
  // Why the stream ended, when a message said so.
  const Status& end() const { return end_; }

 private:
  bool OnLine(std::string_view line) {
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) return true;
    Result<WatchMessage> message = internal::ParseWatchMessage(line);
    if (!message.ok()) {
      end_ = message.status();
      return false;
    }
    switch (message->kind) {
      case WatchMessage::Kind::kCreated:
        created_ = true;
        // From now: the first revision after the one the watch was created at.
        if (next_revision_ == 0) next_revision_ = message->header_revision + 1;
        return true;
      case WatchMessage::Kind::kEvents:
        on_events_(message->events);
        next_revision_ = std::max(next_revision_, message->events.back().kv.mod_revision + 1);
        return true;
      case WatchMessage::Kind::kProgress:
        // etcd notifies progress only to watchers that have caught up: nothing up to the
        // header revision is still to come.
        if (created_) next_revision_ = std::max(next_revision_, message->header_revision + 1);
        return true;
      case WatchMessage::Kind::kCanceled:
        if (message->compact_revision > 0) {
          compact_revision_ = message->compact_revision;
        } else {
          end_ = Unavailable("etcd canceled the watch: " +
                             (message->cancel_reason.empty() ? std::string("no reason given") : message->cancel_reason));
        }
        return false;
      case WatchMessage::Kind::kError:
        end_ = message->error;
        return false;
    }
    return true;
  }

  int64_t next_revision_;
  const EtcdEventsCallback& on_events_;
  const std::stop_token stop_;
  std::string buffer_;
  bool created_ = false;
  int64_t compact_revision_ = 0;
  Status end_;
};

// Why a stream that ended without a message saying so ended.
Status DescribeExchange(const HttpExchange& exchange, std::chrono::milliseconds idle_timeout) {
  switch (exchange.failure) {
    case HttpExchange::Failure::kNone:
      return Unavailable(exchange.status == 200 ? "the member closed the watch stream"
                                                : "the member answered HTTP " + std::to_string(exchange.status));
    case HttpExchange::Failure::kIdle:
      return Unavailable("watch stream silent for " + std::to_string(idle_timeout.count()) + " ms");
    default: return Unavailable("watch stream failed: " + exchange.error);
  }
}

void LogReconnect(const std::string& member, const Status& why, int64_t next_revision) {
  std::string fields = "\"member\":";
  common::AppendJsonString(fields, member);
  fields += ",\"why\":";
  common::AppendJsonString(fields, why.message());
  fields += ",\"next_revision\":" + std::to_string(next_revision);
  common::Log(common::LogLevel::kInfo, "etcd watch reconnecting", fields);
}

}  // namespace

Result<EtcdWatchEnd> EtcdClient::Watch(const EtcdKeyRange& range, int64_t start_revision,
                                       const EtcdEventsCallback& on_events, std::stop_token stop,
                                       const EtcdWatchOptions& options) {
  if (range.key.empty()) return InvalidArgument("etcd key must not be empty");
  if (start_revision < 0) return InvalidArgument("etcd watch start revision must not be negative");
  if (options.idle_timeout.count() <= 0) return InvalidArgument("etcd watch idle timeout must be positive");
  WatchSession session(start_revision, on_events, stop);
  internal::Backoff backoff(kReconnectMin, kReconnectMax);
  size_t index = preferred();
  while (!stop.stop_requested()) {
    const std::string url = endpoints_[index] + "/v3/watch";
    const std::string body = internal::WatchCreateRequest(range, session.next_revision());
    session.BeginStream();
    HttpExchange exchange = internal::PostStream({url, body, /*require_leader=*/true}, options_.call_timeout,
                                                 options.idle_timeout, stop,
                                                 [&session](std::string_view chunk) { return session.OnData(chunk); });
    if (session.compacted()) {
      return EtcdWatchEnd{EtcdWatchEnd::Reason::kCompacted, session.compact_revision(), session.next_revision()};
    }
    if (stop.stop_requested()) break;
    if (!session.end().ok() && !IsTransient(session.end())) return session.end();
    Status why = session.end().ok() ? DescribeExchange(exchange, options.idle_timeout) : session.end();
    LogReconnect(endpoints_[index], why, session.next_revision());
    if (options.on_reconnect) options.on_reconnect(Status(why.code(), endpoints_[index] + ": " + why.message()));
    index = (index + 1) % endpoints_.size();
    // A stream that was running goes straight to the next member; one that never started
    // (refused, no leader) waits first, longer each time, so a cluster without a leader is not
    // hammered.
    if (session.created()) {
      backoff.Reset();
    } else if (!internal::SleepUnlessStopped(backoff.Next(), stop)) {
      break;
    }
  }
  return EtcdWatchEnd{EtcdWatchEnd::Reason::kStopped, 0, session.next_revision()};
}

}  // namespace dram::cluster
