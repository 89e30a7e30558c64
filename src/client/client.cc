#include "dram/client.h"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <stdlib.h>
#include <unistd.h>

#include "api/shard_directory.h"
#include "api/shard_reduce.h"
#include "api/shard_wire.h"
#include "client/member_stats.h"
#include "common/hash.h"
#include "common/json_text.h"
#include "common/mutex.h"
#include "engine/result_encoder.h"
#include "store/http_transport.h"

namespace dram {

namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// A ready copy of a shard, as the shard map lists it.
using Copy = api::ShardReplica;

// One map step's answer, as its thread posts it.
struct MapReply {
  size_t attempt = 0;
  Status failure;      // no usable answer (transport, 5xx, malformed): try the shards elsewhere
  int refused = 0;     // a 4xx: the request itself is refused, the same by every member
  std::string refusal; // its body
  std::string refusal_type;
  std::vector<api::PartialResult> partials;
  std::vector<int> missing;
  std::optional<api::ShardPlan> reduce;
  std::string format;
};

// The answers of one request's map steps, as they arrive.
class Mailbox {
 public:
  void Post(MapReply reply) {
    common::MutexLock lock(mu_);
    replies_.push_back(std::move(reply));
    cv_.NotifyAll();
  }
  std::optional<MapReply> Take(Clock::time_point until) {
    common::MutexLock lock(mu_);
    if (!cv_.WaitUntil(mu_, until, [this]() REQUIRES(mu_) { return !replies_.empty(); })) return std::nullopt;
    MapReply reply = std::move(replies_.front());
    replies_.pop_front();
    return reply;
  }

 private:
  common::Mutex mu_;
  common::CondVar cv_;
  std::deque<MapReply> replies_ GUARDED_BY(mu_);
};

MapReply ReadMapReply(const Result<store::HttpReply>& reply) {
  MapReply out;
  if (!reply.ok()) {
    out.failure = reply.status();
    return out;
  }
  // A member's own limit (429) says nothing of the request: another copy may take it.
  if (reply->status >= 400 && reply->status < 500 && reply->status != 429) {
    out.refused = static_cast<int>(reply->status);
    out.refusal = reply->body;
    const std::string* type = reply->Header("content-type");
    out.refusal_type = type ? *type : "application/json";
    return out;
  }
  if (reply->status != 200) {  // 5xx, 429
    out.failure = Unavailable("HTTP " + std::to_string(reply->status));
    return out;
  }
  auto decoded = api::DecodeMapReply(reply->body);
  if (!decoded.ok()) {
    out.failure = decoded.status();
    return out;
  }
  const json::object& envelope = decoded->envelope;
  const json::value* missing = envelope.if_contains("missing");
  const json::value* reduce = envelope.if_contains("reduce");
  const json::value* format = envelope.if_contains("format");
  if (!missing || !missing->is_array() || !reduce || !format || !format->is_string()) {
    out.failure = Internal("a malformed map answer");
    return out;
  }
  out.partials = std::move(decoded->partials);
  for (const auto& item : missing->as_array()) {
    const json::value* shard = item.is_object() ? item.as_object().if_contains("shard") : nullptr;
    if (shard && shard->is_int64()) out.missing.push_back(static_cast<int>(shard->as_int64()));
  }
  auto plan = api::DecodeReduce(*reduce);
  if (!plan.ok()) {
    out.failure = plan.status();
    return out;
  }
  out.reduce = std::move(plan).value();
  out.format = std::string(format->as_string());
  return out;
}

engine::Format FormatNamed(const std::string& name) {
  if (name == "csv") return engine::Format::kCsv;
  if (name == "ndjson") return engine::Format::kNdjson;
  return engine::Format::kJson;
}

}  // namespace

// What the client's threads share with the map steps still running: a map step that lost a
// hedge race finishes after its request returned, and the client waits for it when destroyed.
struct ClientShared {
  store::HttpTransport transport;
  client::MemberStats members;
  std::atomic<int64_t> requests{0}, map_requests{0}, retries{0}, hedges{0};
  common::Mutex mu;
  common::CondVar idle;
  int running GUARDED_BY(mu) = 0;
};

struct Client::Impl {
  ClientOptions options;
  std::shared_ptr<ClientShared> shared = std::make_shared<ClientShared>();
  std::unique_ptr<api::ShardReducer> reducer;
  std::unique_ptr<client::HedgeBudget> budget;
  std::atomic<size_t> next_seed{0};
  // The members to ask for the shard map: the ones given, then every one a shard map named (so
  // a client told of one member still finds the others when that one is gone).
  common::Mutex mu;
  std::vector<std::string> seeds GUARDED_BY(mu);
  std::minstd_rand random GUARDED_BY(mu){std::random_device{}()};

  uint32_t Random() {
    common::MutexLock lock(mu);
    return static_cast<uint32_t>(random());
  }
  std::vector<std::string> Seeds() {
    common::MutexLock lock(mu);
    return seeds;
  }
  void Learn(const std::vector<std::vector<Copy>>& replicas) {
    common::MutexLock lock(mu);
    for (const auto& copies : replicas) {
      for (const auto& copy : copies) {
        if (std::find(seeds.begin(), seeds.end(), copy.api) == seeds.end() && seeds.size() < 1024) seeds.push_back(copy.api);
      }
    }
  }

  std::vector<std::pair<std::string, std::string>> AuthHeaders() const {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!options.api_key.empty()) headers.emplace_back("X-API-Key", options.api_key);
    if (!options.bearer_token.empty()) headers.emplace_back("Authorization", "Bearer " + options.bearer_token);
    if (!options.cluster_secret.empty()) headers.emplace_back("X-Dram-Cluster-Secret", options.cluster_secret);
    return headers;
  }
  static std::chrono::milliseconds Left(Clock::time_point deadline) {
    return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
  }
  Result<ClientAnswer> Get(std::string_view target);
};

namespace {

// One request's scatter-gather over the shards (Client::Get once the shard map is read).
class Scatter {
 public:
  // `stale`: a stale read (?consistency=stale), its replicas not pinned to one data version;
  // `superseded`: the versions some copy has replaced (SupersededVersions), for meta.stale.
  Scatter(Client::Impl& client, std::string target, std::string database, Clock::time_point deadline, bool stale,
          std::set<std::string, std::less<>> superseded)
      : client_(client), target_(std::move(target)), database_(std::move(database)), deadline_(deadline), stale_(stale),
        superseded_(std::move(superseded)), mailbox_(std::make_shared<Mailbox>()) {}

  // `replicas`: per shard, its ready copies as the shard map lists them; `needed`: the shards the
  // request needs (ascending).
  Result<ClientAnswer> Run(std::vector<std::vector<Copy>> replicas, const std::vector<int>& needed);

 private:
  struct Attempt {
    std::string member;
    std::vector<int> shards;
    Clock::time_point sent;
    bool hedge = false;
    bool hedged = false;    // a hedge was sent for it (or refused by the budget)
    bool finished = false;
  };
  // Sends each shard to its next copy, one map step per member. Returns the shards with no copy left.
  std::vector<int> Dispatch(const std::vector<int>& shards, bool hedge);
  void Launch(const Copy& copy, std::vector<int> shards, bool hedge);
  void HedgeLateAttempts(Clock::time_point& wake);

  Client::Impl& client_;
  const std::string target_;
  const std::string database_;
  const Clock::time_point deadline_;
  const bool stale_;
  const std::set<std::string, std::less<>> superseded_;
  std::shared_ptr<Mailbox> mailbox_;
  std::vector<std::vector<Copy>> copies_;  // per shard: at its pinned snapshot, in preference order
  std::vector<size_t> next_;               // per shard: its next copy to ask
  std::vector<int> outstanding_;           // per shard: map steps still running for it
  std::vector<Attempt> attempts_;
  int retries_ = 0;
  int hedges_ = 0;
};

void Scatter::Launch(const Copy& copy, std::vector<int> shards, bool hedge) {
  const size_t index = attempts_.size();
  std::string named;
  for (int k : shards) {
    outstanding_[static_cast<size_t>(k)]++;
    named += (named.empty() ? "" : ",") + std::to_string(k) + "@" + copies_[static_cast<size_t>(k)].front().snapshot;
  }
  attempts_.push_back(Attempt{.member = copy.member, .shards = std::move(shards), .sent = Clock::now(), .hedge = hedge});
  store::HttpCall call;
  call.url = "http://" + copy.api + target_;
  call.headers = client_.AuthHeaders();
  call.headers.emplace_back("X-Dram-Scatter", "map");
  call.headers.emplace_back("X-Dram-Shards", named);
  const auto left = Client::Impl::Left(deadline_);
  call.headers.emplace_back("X-Dram-Deadline-Ms", std::to_string(left.count()));
  call.timeout = left;
  auto shared = client_.shared;
  shared->map_requests++;
  shared->members.Started(copy.member);
  if (!hedge) client_.budget->Sent();  // (a hedge is the extra the budget counts)
  {
    common::MutexLock lock(shared->mu);
    shared->running++;
  }
  std::thread([shared, mailbox = mailbox_, call = std::move(call), index, member = copy.member] {
    const auto started = Clock::now();
    MapReply reply = ReadMapReply(shared->transport.Perform(call));
    reply.attempt = index;
    const bool answered = reply.failure.ok();
    shared->members.Finished(member, answered ? std::optional(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started))
                                              : std::nullopt);
    mailbox->Post(std::move(reply));
    common::MutexLock lock(shared->mu);
    if (--shared->running == 0) shared->idle.NotifyAll();
  }).detach();
}

std::vector<int> Scatter::Dispatch(const std::vector<int>& shards, bool hedge) {
  std::vector<int> none;
  std::map<std::string, std::pair<Copy, std::vector<int>>> by_member;
  for (int k : shards) {
    const auto& options = copies_[static_cast<size_t>(k)];
    size_t& next = next_[static_cast<size_t>(k)];
    if (next >= options.size()) {
      none.push_back(k);
      continue;
    }
    const Copy& copy = options[next++];
    auto& group = by_member[copy.member];
    group.first = copy;
    group.second.push_back(k);
  }
  for (auto& [member, group] : by_member) Launch(group.first, std::move(group.second), hedge);
  return none;
}

void Scatter::HedgeLateAttempts(Clock::time_point& wake) {
  if (!client_.options.hedge) return;
  const auto now = Clock::now();
  for (size_t i = 0; i < attempts_.size(); ++i) {
    if (attempts_[i].finished || attempts_[i].hedged || attempts_[i].hedge) continue;
    auto p95 = client_.shared->members.P95(attempts_[i].member);
    if (!p95) continue;
    const auto due = attempts_[i].sent + *p95;
    if (due > now) {
      wake = std::min(wake, due);
      continue;
    }
    attempts_[i].hedged = true;
    std::vector<int> late;
    std::set<std::string> members;  // one hedge request per member the late shards go to
    for (int k : attempts_[i].shards) {
      const auto shard = static_cast<size_t>(k);
      if (next_[shard] >= copies_[shard].size()) continue;
      late.push_back(k);
      members.insert(copies_[shard][next_[shard]].member);
    }
    const int requests = static_cast<int>(members.size());
    if (late.empty() || !client_.budget->TryTake(requests)) continue;
    hedges_ += requests;
    client_.shared->hedges += requests;
    Dispatch(late, /*hedge=*/true);
  }
}

Result<ClientAnswer> Scatter::Run(std::vector<std::vector<Copy>> replicas, const std::vector<int>& needed) {
  const size_t shards = replicas.size();
  copies_.resize(shards);
  next_.assign(shards, 0);
  outstanding_.assign(shards, 0);
  std::vector<int> no_copy;
  for (size_t k = 0; k < shards; ++k) {
    auto& options = replicas[k];
    // Same zone first, then the member with the fewest of this client's requests outstanding,
    // then any (at random: one request at a time still spreads over every copy).
    std::vector<std::tuple<bool, int, uint32_t, size_t>> order;
    for (size_t i = 0; i < options.size(); ++i) {
      order.emplace_back(!client_.options.zone.empty() && options[i].zone != client_.options.zone,
                         client_.shared->members.Outstanding(options[i].member), client_.Random(), i);
    }
    std::sort(order.begin(), order.end());
    for (const auto& entry : order) {
      const Copy& copy = options[std::get<3>(entry)];
      // One snapshot per shard for the whole request: its first choice's (of the version pinned).
      if (copies_[k].empty() || copy.snapshot == copies_[k].front().snapshot) copies_[k].push_back(copy);
    }
  }
  for (int k : needed) {
    if (copies_[static_cast<size_t>(k)].empty()) no_copy.push_back(k);
  }
  if (!no_copy.empty()) {
    return Unavailable("shard" + std::string(no_copy.size() > 1 ? "s " : " ") + api::ShardList(no_copy) + " of '" + database_ +
                       "' ha" + (no_copy.size() > 1 ? "ve" : "s") + " no ready copy");
  }
  Dispatch(needed, false);

  std::vector<std::optional<api::PartialResult>> done(shards);
  std::vector<std::string> answered_by(shards);
  size_t remaining = needed.size();
  std::optional<api::ShardPlan> plan;
  std::string format = "json";
  std::string last_failure;
  while (remaining > 0) {
    Clock::time_point wake = deadline_;
    HedgeLateAttempts(wake);
    std::optional<MapReply> reply = mailbox_->Take(wake);
    if (!reply) {
      if (Clock::now() < deadline_) continue;  // a hedge is due
      std::vector<int> late;
      for (int k : needed) {
        if (!done[static_cast<size_t>(k)]) late.push_back(k);
      }
      return DeadlineExceeded("shard" + std::string(late.size() > 1 ? "s " : " ") + api::ShardList(late) + " of '" + database_ +
                              "' did not answer in time");
    }
    attempts_[reply->attempt].finished = true;
    const Attempt attempt = attempts_[reply->attempt];  // a copy: Dispatch below appends to attempts_
    for (int k : attempt.shards) outstanding_[static_cast<size_t>(k)]--;
    if (reply->refused) {
      // The same request is refused the same way everywhere (bad params, no such endpoint).
      ClientAnswer answer;
      answer.status = reply->refused;
      answer.body = std::move(reply->refusal);
      answer.content_type = std::move(reply->refusal_type);
      return answer;
    }
    std::vector<int> failed;
    if (!reply->failure.ok()) {
      last_failure = "member " + attempt.member + ": " + reply->failure.ToString();
      failed = attempt.shards;
    } else {
      if (!plan) plan = std::move(reply->reduce);
      format = reply->format;
      for (auto& partial : reply->partials) {
        const auto k = static_cast<size_t>(partial.shard);
        // (A shard answered already: a hedge's twin was first.)
        if (k >= shards || done[k] || !std::binary_search(needed.begin(), needed.end(), partial.shard)) continue;
        answered_by[k] = attempt.member;
        done[k] = std::move(partial);
        --remaining;
      }
      for (int k : reply->missing) {
        last_failure = "member " + attempt.member + " no longer holds shard " + std::to_string(k) + " at that snapshot";
        failed.push_back(k);
      }
    }
    std::vector<int> retry;
    for (int k : failed) {
      const auto index = static_cast<size_t>(k);
      if (index < shards && !done[index] && outstanding_[index] == 0) retry.push_back(k);
    }
    if (retry.empty()) continue;
    ++retries_;
    client_.shared->retries++;
    std::vector<int> lost = Dispatch(retry, false);
    if (!lost.empty()) {
      return Unavailable("no copy of shard" + std::string(lost.size() > 1 ? "s " : " ") + api::ShardList(lost) + " of '" + database_ +
                         "' answered (last failure: " + last_failure + ")");
    }
  }
  if (!plan) return Internal("no map step returned its reduce step");
  std::vector<api::PartialResult> partials;
  ClientAnswer answer;
  common::Fnv1a64 id;
  for (int shard : needed) {
    const auto k = static_cast<size_t>(shard);
    answer.shards.push_back(ClientShard{.shard = shard, .member = answered_by[k], .snapshot = done[k]->snapshot});
    id.Add(done[k]->snapshot);
    partials.push_back(std::move(*done[k]));
  }
  std::string rows;
  ASSIGN_OR_RETURN(api::Reduced reduced, client_.reducer->Reduce(*plan, partials, FormatNamed(format), rows,
                                                                 Client::Impl::Left(deadline_)));
  answer.retries = retries_;
  answer.hedges = hedges_;
  if (format != "json") {
    answer.content_type = format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
    answer.body = std::move(rows);
    return answer;
  }
  // The members' meta for a merged answer, where the client can say it.
  answer.content_type = "application/json";
  std::string& body = answer.body;
  body = "{\"data\":" + rows + ",\"meta\":{\"row_count\":" + std::to_string(reduced.rows);
  if (reduced.total) body += ",\"total\":" + std::to_string(*reduced.total);
  body += ",\"snapshot_id\":\"shards-" + id.hex() + "\",\"shards\":[";
  for (size_t k = 0; k < answer.shards.size(); ++k) {
    body += (k ? ",{\"shard\":" : "{\"shard\":") + std::to_string(answer.shards[k].shard) + ",\"member\":";
    common::AppendJsonString(body, answer.shards[k].member);
    body += ",\"snapshot\":";
    common::AppendJsonString(body, answer.shards[k].snapshot);
    body += "}";
  }
  body += "]";
  if (stale_) {
    std::vector<api::AnsweredShard> answered;
    for (size_t k = 0; k < partials.size(); ++k) {
      answered.push_back({answer.shards[k].shard, answer.shards[k].snapshot, partials[k].watermark_ms});
    }
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    body += api::StaleMeta(answered, superseded_, std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  }
  body += ",\"retries\":" + std::to_string(retries_) + ",\"hedges\":" + std::to_string(hedges_) + "}}";
  return answer;
}

Result<std::vector<std::vector<Copy>>> DecodeShardMap(const std::string& text, std::string& database, std::vector<int>& needed) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  const json::object* object = ec ? nullptr : parsed.if_object();
  const json::value* name = object ? object->if_contains("database") : nullptr;
  const json::value* replicas = object ? object->if_contains("replicas") : nullptr;
  if (!name || !name->is_string() || !replicas || !replicas->is_array()) return Internal("a malformed shard map");
  database = std::string(name->as_string());
  std::vector<std::vector<Copy>> out;
  for (const auto& shard : replicas->as_array()) {
    if (!shard.is_array()) return Internal("a malformed shard map");
    auto& copies = out.emplace_back();
    for (const auto& item : shard.as_array()) {
      const json::object* copy = item.if_object();
      auto text_of = [&](const char* key) -> std::string {
        const json::value* value = copy ? copy->if_contains(key) : nullptr;
        return value && value->is_string() ? std::string(value->as_string()) : "";
      };
      Copy entry{.member = text_of("member"),
                 .api = text_of("api"),
                 .zone = text_of("zone"),
                 .snapshot = text_of("snapshot"),
                 .previous = text_of("previous")};
      if (entry.api.empty() || entry.snapshot.empty()) return Internal("a malformed shard map");
      copies.push_back(std::move(entry));
    }
  }
  if (out.empty()) return Internal("a shard map without shards");
  // The shards the request needs, when the member could tell (its params pin the shard column).
  needed.clear();
  if (const json::value* only = object->if_contains("needed"); only && only->is_array()) {
    for (const auto& k : only->as_array()) {
      if (!k.is_int64() || k.as_int64() < 0 || k.as_int64() >= static_cast<int64_t>(out.size())) return Internal("a malformed shard map");
      needed.push_back(static_cast<int>(k.as_int64()));
    }
    std::sort(needed.begin(), needed.end());
    needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
  }
  if (needed.empty()) {
    for (size_t k = 0; k < out.size(); ++k) needed.push_back(static_cast<int>(k));
  }
  return out;
}

// Whether `target` asks for a stale read (?consistency=stale; the member checks the value too).
bool AsksStaleRead(std::string_view target) {
  const size_t query = target.find('?');
  if (query == std::string_view::npos) return false;
  for (size_t start = query + 1; start <= target.size();) {
    const size_t end = std::min(target.find('&', start), target.size());
    if (target.substr(start, end - start) == "consistency=stale") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

Result<ClientAnswer> Client::Impl::Get(std::string_view target) {
  if (target.empty() || target.front() != '/') return InvalidArgument("the target is a path: /v1/name?query");
  const Clock::time_point deadline = Clock::now() + options.timeout;
  shared->requests++;
  // The shard map, from the first member that answers.
  Result<store::HttpReply> reply = Unavailable("no member to ask");
  // The members given, in turn; those learned from shard maps only when none of them answers.
  const std::vector<std::string> members = Seeds();
  const size_t given = options.members.size();
  const size_t first = next_seed.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < members.size(); ++i) {
    store::HttpCall call;
    call.url = "http://" + (i < given ? members[(first + i) % given] : members[i]) + std::string(target);
    call.headers = AuthHeaders();
    call.headers.emplace_back("X-Dram-Scatter", "plan");
    call.timeout = Left(deadline);
    reply = shared->transport.Perform(call);
    if (reply.ok() && reply->status < 500) break;
  }
  if (!reply.ok()) return Unavailable("no member answered: " + reply.status().ToString());
  const std::string* scatter = reply->Header("x-dram-scatter");
  if (!scatter || *scatter != "plan") {
    // Not over a sharded database (answered as it is), or refused.
    ClientAnswer answer;
    answer.status = static_cast<int>(reply->status);
    answer.body = std::move(reply->body);
    const std::string* type = reply->Header("content-type");
    answer.content_type = type ? *type : "";
    return answer;
  }
  std::string database;
  std::vector<int> needed;
  ASSIGN_OR_RETURN(auto replicas, DecodeShardMap(reply->body, database, needed));
  Learn(replicas);
  // Never shards of two data versions in one answer, unless the request asks for a stale read.
  api::PinnedShards pinned = api::PinForRequest(std::move(replicas), AsksStaleRead(target));
  RETURN_IF_ERROR(api::CheckOneVersion(pinned, database, needed.size()));
  return Scatter(*this, std::string(target), database, deadline, pinned.stale, std::move(pinned.superseded))
      .Run(std::move(pinned.replicas), needed);
}

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  if (options.members.empty()) return InvalidArgument("a client needs at least one member address");
  if (!(options.hedge_budget >= 0 && options.hedge_budget <= 1)) return InvalidArgument("hedge_budget is a share in [0, 1]");
  ASSIGN_OR_RETURN(auto reducer, api::ShardReducer::Create(2));
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  {
    common::MutexLock lock(impl->mu);
    impl->seeds = impl->options.members;
  }
  impl->reducer = std::move(reducer);
  impl->budget = std::make_unique<client::HedgeBudget>(impl->options.hedge_budget);
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() {
  // Map steps that lost a hedge race may still run; each ends by its request's deadline.
  common::MutexLock lock(impl_->shared->mu);
  impl_->shared->idle.Wait(impl_->shared->mu, [this]() REQUIRES(impl_->shared->mu) { return impl_->shared->running == 0; });
}

Result<ClientAnswer> Client::Get(std::string_view target) { return impl_->Get(target); }

ClientStats Client::stats() const {
  return ClientStats{.requests = impl_->shared->requests.load(),
                     .map_requests = impl_->shared->map_requests.load(),
                     .retries = impl_->shared->retries.load(),
                     .hedges = impl_->shared->hedges.load()};
}

}  // namespace dram
