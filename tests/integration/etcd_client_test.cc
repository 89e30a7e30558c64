// EtcdClient and PrefixWatcher against real etcd 3.4 clusters of three members on 127.0.0.1
// (scripts/etcd_cluster.sh). EtcdClientTest shares one cluster; each EtcdFaultTest kills or
// freezes members of a cluster of its own.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>
#include <tuple>
#include <vector>

#include "cluster/etcd_client.h"
#include "cluster/prefix_watcher.h"
#include "testutil/etcd_cluster.h"

namespace dram::cluster {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::EtcdCluster;
using Map = std::map<std::string, std::string>;

std::chrono::milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// Polls `done` every 50 ms until it holds or `timeout` passes.
template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

std::unique_ptr<EtcdClient> Connect(const std::string& endpoints) {
  auto client = EtcdClient::Create(endpoints);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

// The value under `key`, "<absent>" when there is none, "<error: …>" when the read failed.
std::string ValueOf(EtcdClient& client, const std::string& key) {
  auto got = client.Get(key);
  if (!got.ok()) return "<error: " + got.status().ToString() + ">";
  return got->kvs.empty() ? "<absent>" : got->kvs[0].value;
}

// Retries a put while the cluster elects a leader or regains its quorum.
Status PutEventually(EtcdClient& client, const std::string& key, const std::string& value,
                     std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto put = client.Put(key, value);
    if (put.ok() || Clock::now() >= deadline) return std::move(put).TakeStatus();
    std::this_thread::sleep_for(200ms);
  }
}

// The receiver's side of a PrefixWatcher: applies snapshots and events to a map, and notes
// any update that would move it back in revision order.
class Mirror {
 public:
  std::function<void(const PrefixUpdate&)> Receiver() {
    return [this](const PrefixUpdate& update) { Apply(update); };
  }
  Map values() const {
    std::lock_guard lock(mu_);
    return values_;
  }
  int snapshots() const {
    std::lock_guard lock(mu_);
    return snapshots_;
  }
  int updates() const {
    std::lock_guard lock(mu_);
    return updates_;
  }
  bool went_back() const {
    std::lock_guard lock(mu_);
    return went_back_;
  }

 private:
  void Apply(const PrefixUpdate& update) {
    std::lock_guard lock(mu_);
    ++updates_;
    went_back_ = went_back_ || update.revision < revision_;
    revision_ = update.revision;
    if (update.snapshot) {
      ++snapshots_;
      values_.clear();
      for (const EtcdKeyValue& kv : update.kvs) values_[kv.key] = kv.value;
      return;
    }
    for (const EtcdEvent& event : update.events) {
      if (event.type == EtcdEvent::Type::kPut) {
        values_[event.kv.key] = event.kv.value;
      } else {
        values_.erase(event.kv.key);
      }
    }
  }

  mutable std::mutex mu_;
  Map values_;
  int snapshots_ = 0;
  int updates_ = 0;
  int64_t revision_ = 0;
  bool went_back_ = false;
};

// Counts a watch's reconnects and keeps the last reason.
struct Reconnects {
  std::atomic<int> count{0};
  std::mutex mu;
  std::string last;
  std::string Last() {
    std::lock_guard lock(mu);
    return last;
  }
  EtcdWatchOptions Options(std::chrono::milliseconds idle_timeout) {
    return {.idle_timeout = idle_timeout, .on_reconnect = [this](const Status& why) {
              ++count;
              std::lock_guard lock(mu);
              last = why.ToString();
            }};
  }
};

// Runs EtcdClient::Watch on a thread of its own until `stop` (a copy shares its state) is
// triggered; the destructor triggers it and joins, so a failed assertion leaves no thread behind.
class WatchThread {
 public:
  WatchThread(EtcdClient& client, EtcdKeyRange range, int64_t start_revision, EtcdEventsCallback on_events,
              std::stop_source stop, EtcdWatchOptions options = {})
      : stop_(std::move(stop)),
        thread_([this, &client, range = std::move(range), start_revision, on_events = std::move(on_events),
                 options = std::move(options)] {
          end_ = client.Watch(range, start_revision, on_events, stop_.get_token(), options);
          returned_ = true;
        }) {}
  ~WatchThread() { (void)Stop(); }

  // Whether Watch returned (by itself, or after a stop).
  bool returned() const { return returned_; }

  // Stops the watch and returns how it ended.
  Result<EtcdWatchEnd> Stop() {
    stop_.request_stop();
    if (thread_.joinable()) thread_.join();
    return end_;
  }

 private:
  std::stop_source stop_;
  Result<EtcdWatchEnd> end_ = Internal("the watch did not run");
  std::atomic<bool> returned_{false};
  std::thread thread_;  // last: starts once the fields above exist
};

class EtcdClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = EtcdCluster::Start(3); }
  static void TearDownTestSuite() { cluster_.reset(); }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "the etcd cluster did not start";
    client_ = Connect(cluster_->endpoints());
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    if (HasFailure() && cluster_) std::fprintf(stderr, "%s", cluster_->LogTails().c_str());
  }

  static inline std::unique_ptr<EtcdCluster> cluster_;
  std::unique_ptr<EtcdClient> client_;
};

TEST_F(EtcdClientTest, KeyValueRoundTripKeepsBinaryBytesAndEmptyValues) {
  const std::string prefix = "/kv/";
  const std::string binary_key = prefix + std::string("b\0\xff\x01", 4);
  const std::string binary_value("\0\x80\xff\n\"\\{", 7);
  auto first = client_->Put(binary_key, binary_value);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(client_->Put(prefix + "empty", "").ok());

  auto got = client_->Get(binary_key);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].key, binary_key);
  EXPECT_EQ(got->kvs[0].value, binary_value);
  EXPECT_EQ(got->kvs[0].create_revision, *first);
  EXPECT_EQ(got->kvs[0].mod_revision, *first);
  EXPECT_EQ(got->kvs[0].version, 1);
  EXPECT_GT(got->revision, *first);  // the empty value's put came after

  auto empty = client_->Get(prefix + "empty");
  ASSERT_TRUE(empty.ok());
  ASSERT_EQ(empty->kvs.size(), 1u);  // present, with an empty value
  EXPECT_EQ(empty->kvs[0].value, "");

  auto second = client_->Put(binary_key, "v2");
  ASSERT_TRUE(second.ok());
  got = client_->Get(binary_key, {.serializable = true});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].version, 2);
  EXPECT_EQ(got->kvs[0].create_revision, *first);
  EXPECT_EQ(got->kvs[0].mod_revision, *second);

  auto all = client_->Range(EtcdKeyRange::Prefix(prefix));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->kvs.size(), 2u);
  EXPECT_EQ(all->kvs[0].key, binary_key);  // key order: "b…" < "empty"
  EXPECT_EQ(all->kvs[1].key, prefix + "empty");
  auto between = client_->Range({prefix + "a", prefix + "c"});
  ASSERT_TRUE(between.ok());
  ASSERT_EQ(between->kvs.size(), 1u);
  EXPECT_EQ(between->kvs[0].key, binary_key);

  auto missing = client_->Get(prefix + "missing");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->kvs.empty());
  EXPECT_GE(missing->revision, *second);

  auto deleted = client_->DeleteRange(EtcdKeyRange::Single(binary_key));
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->deleted, 1);
  EXPECT_EQ(ValueOf(*client_, binary_key), "<absent>");
  deleted = client_->DeleteRange(EtcdKeyRange::Prefix(prefix));
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->deleted, 1);
  all = client_->Range(EtcdKeyRange::Prefix(prefix));
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->kvs.empty());

  EXPECT_EQ(client_->Put("", "v").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(EtcdClientTest, TxnPutIfAbsentAndCompareAndSwap) {
  const std::string key = "/txn/owner";
  const std::vector<EtcdCompare> absent = {EtcdCompare::CreateRevisionEquals(key, 0)};
  auto won = client_->Txn(absent, {EtcdOp::Put(key, "a")}, {EtcdOp::Range(EtcdKeyRange::Single(key))});
  ASSERT_TRUE(won.ok()) << won.status().ToString();
  EXPECT_TRUE(won->succeeded);
  auto lost = client_->Txn(absent, {EtcdOp::Put(key, "b")}, {EtcdOp::Range(EtcdKeyRange::Single(key))});
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(lost->succeeded);
  ASSERT_EQ(lost->results.size(), 1u);
  ASSERT_EQ(lost->results[0].kvs.size(), 1u);
  EXPECT_EQ(lost->results[0].kvs[0].value, "a");  // the failure branch read the winner

  const int64_t read_at = lost->results[0].kvs[0].mod_revision;
  auto stale = client_->Txn({EtcdCompare::ModRevisionEquals(key, read_at - 1)}, {EtcdOp::Put(key, "c")});
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->succeeded);
  EXPECT_EQ(ValueOf(*client_, key), "a");
  auto swapped = client_->Txn({EtcdCompare::ModRevisionEquals(key, read_at)}, {EtcdOp::Put(key, "c")});
  ASSERT_TRUE(swapped.ok());
  EXPECT_TRUE(swapped->succeeded);
  EXPECT_GT(swapped->revision, read_at);
  EXPECT_EQ(ValueOf(*client_, key), "c");

  auto wrong_value = client_->Txn({EtcdCompare::ValueEquals(key, "a")}, {EtcdOp::Delete(EtcdKeyRange::Single(key))});
  ASSERT_TRUE(wrong_value.ok());
  EXPECT_FALSE(wrong_value->succeeded);
  auto removed = client_->Txn({EtcdCompare::ValueEquals(key, "c"), EtcdCompare::VersionEquals(key, 2)},
                              {EtcdOp::Delete(EtcdKeyRange::Single(key))});
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->succeeded);
  ASSERT_EQ(removed->results.size(), 1u);
  EXPECT_EQ(removed->results[0].deleted, 1);
  EXPECT_EQ(ValueOf(*client_, key), "<absent>");
}

TEST_F(EtcdClientTest, LeaseKeysVanishWithoutKeepAliveAndStayWithIt) {
  // etcd raises a TTL to its minimum, 1.5 election timeouts: 4 s with the fixture's settings.
  auto lapsing = client_->Grant(1);
  auto kept = client_->Grant(1);
  ASSERT_TRUE(lapsing.ok()) << lapsing.status().ToString();
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE(client_->Put("/lease/lapsing", "x", *lapsing).ok());
  ASSERT_TRUE(client_->Put("/lease/kept", "y", *kept).ok());
  auto got = client_->Get("/lease/kept");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].lease, *kept);

  const auto start = Clock::now();
  bool kept_alive = true;
  bool gone = WaitFor(
      [&] {
        auto ttl = client_->KeepAliveOnce(*kept);
        kept_alive = kept_alive && ttl.ok() && *ttl > 0;
        return ValueOf(*client_, "/lease/lapsing") == "<absent>";
      },
      15s);
  ASSERT_TRUE(gone) << "a key under an unrenewed lease outlived it";
  EXPECT_GE(Since(start), 500ms);
  EXPECT_TRUE(kept_alive);
  EXPECT_EQ(ValueOf(*client_, "/lease/kept"), "y");
  EXPECT_EQ(client_->KeepAliveOnce(*lapsing).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(client_->Revoke(*kept).ok());
  EXPECT_EQ(ValueOf(*client_, "/lease/kept"), "<absent>");
  EXPECT_EQ(client_->KeepAliveOnce(*kept).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(client_->Revoke(*kept).code(), StatusCode::kNotFound);
}

TEST_F(EtcdClientTest, WatchDeliversPutsAndDeletesInOrder) {
  const std::string prefix = "/watch/";
  auto now = client_->Range(EtcdKeyRange::Prefix(prefix));
  ASSERT_TRUE(now.ok());
  std::mutex mu;
  std::vector<EtcdEvent> seen;
  std::stop_source stop;
  WatchThread watch(
      *client_, EtcdKeyRange::Prefix(prefix), now->revision + 1,
      [&](const std::vector<EtcdEvent>& events) {
        std::lock_guard lock(mu);
        seen.insert(seen.end(), events.begin(), events.end());
        if (seen.size() >= 5) stop.request_stop();
      },
      stop, {.idle_timeout = 3s});
  std::vector<int64_t> revisions;
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}, {"a", "3"}}) {
    auto put = client_->Put(prefix + key, value);
    ASSERT_TRUE(put.ok());
    revisions.push_back(*put);
  }
  ASSERT_TRUE(client_->Put("/watch0", "outside").ok());  // the prefix's range end: not watched
  auto deleted = client_->DeleteRange(EtcdKeyRange::Single(prefix + "a"));
  ASSERT_TRUE(deleted.ok());
  revisions.push_back(deleted->revision);
  auto empty = client_->Put(prefix + "c", "");
  ASSERT_TRUE(empty.ok());
  revisions.push_back(*empty);

  const bool all = WaitFor([&] { return stop.stop_requested(); }, 10s);
  Result<EtcdWatchEnd> end = watch.Stop();
  ASSERT_TRUE(all) << "the watch saw " << seen.size() << " of 5 events";
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(end->reason, EtcdWatchEnd::Reason::kStopped);
  EXPECT_EQ(end->next_revision, revisions.back() + 1);
  using Type = EtcdEvent::Type;
  const std::vector<std::tuple<Type, std::string, std::string>> expected = {
      {Type::kPut, "a", "1"}, {Type::kPut, "b", "2"}, {Type::kPut, "a", "3"}, {Type::kDelete, "a", ""}, {Type::kPut, "c", ""}};
  ASSERT_EQ(seen.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(seen[i].type, std::get<0>(expected[i])) << i;
    EXPECT_EQ(seen[i].kv.key, prefix + std::get<1>(expected[i])) << i;
    EXPECT_EQ(seen[i].kv.value, std::get<2>(expected[i])) << i;
    EXPECT_EQ(seen[i].kv.mod_revision, revisions[i]) << i;
  }
}

TEST_F(EtcdClientTest, AnIdleWatchStopsWithinASecond) {
  WatchThread watch(*client_, EtcdKeyRange::Prefix("/idle/"), 0, [](const std::vector<EtcdEvent>&) {}, {});
  std::this_thread::sleep_for(300ms);
  const auto start = Clock::now();
  Result<EtcdWatchEnd> end = watch.Stop();
  EXPECT_LT(Since(start), 1s);
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(end->reason, EtcdWatchEnd::Reason::kStopped);
  EXPECT_GT(end->next_revision, 1);  // "from now" became a revision once the watch was created
}

TEST_F(EtcdClientTest, WatchFromACompactedRevisionReportsTheCompaction) {
  const std::string key = "/compacted/k";
  auto first = client_->Put(key, "1");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(client_->Put(key, "2").ok());
  auto last = client_->Put(key, "3");
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(client_->Compact(*last).ok());
  EXPECT_EQ(client_->Compact(*first).status().code(), StatusCode::kOutOfRange);

  std::atomic<int> delivered{0};
  WatchThread watch(*client_, EtcdKeyRange::Single(key), *first, [&](const std::vector<EtcdEvent>&) { ++delivered; }, {});
  // The watch returns by itself, at once.
  EXPECT_TRUE(WaitFor([&] { return watch.returned(); }, 2s));
  Result<EtcdWatchEnd> end = watch.Stop();
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(end->reason, EtcdWatchEnd::Reason::kCompacted);
  EXPECT_EQ(end->compact_revision, *last);
  EXPECT_EQ(delivered.load(), 0);
  EXPECT_EQ(ValueOf(*client_, key), "3");  // what a caller re-reads
}

TEST_F(EtcdClientTest, PrefixWatcherMirrorsAPrefixStaysConnectedWhenQuietAndStopsPromptly) {
  const std::string prefix = "/mirror/";
  ASSERT_TRUE(client_->Put(prefix + "a", "1").ok());
  Mirror mirror;
  Reconnects reconnects;
  // etcd skips the first progress notification after events, so a stream can be silent for two
  // of its 1 s intervals: 3 s is the shortest safe idle timeout here.
  auto watcher = std::make_unique<PrefixWatcher>(*client_, prefix, mirror.Receiver(), reconnects.Options(3s));
  EXPECT_TRUE(WaitFor([&] { return mirror.values() == Map{{prefix + "a", "1"}}; }, 5s));

  ASSERT_TRUE(client_->Put(prefix + "b", "2").ok());
  ASSERT_TRUE(client_->DeleteRange(EtcdKeyRange::Single(prefix + "a")).ok());
  ASSERT_TRUE(client_->Put(prefix + "c", "3").ok());
  ASSERT_TRUE(client_->Put("/mirror0", "outside").ok());
  EXPECT_TRUE(WaitFor([&] { return mirror.values() == Map{{prefix + "b", "2"}, {prefix + "c", "3"}}; }, 5s));

  // Quiet for longer than the idle timeout: the progress notifications etcd sends every second
  // (the fixture's setting) keep the stream alive.
  std::this_thread::sleep_for(4s);
  ASSERT_TRUE(client_->Put(prefix + "d", "4").ok());
  EXPECT_TRUE(WaitFor([&] { return mirror.values().count(prefix + "d") == 1; }, 5s));
  EXPECT_EQ(reconnects.count.load(), 0) << reconnects.Last();
  EXPECT_EQ(mirror.snapshots(), 1);
  EXPECT_FALSE(mirror.went_back());

  const auto start = Clock::now();
  watcher->Stop();
  EXPECT_LT(Since(start), 1s);
  const int updates = mirror.updates();
  ASSERT_TRUE(client_->Put(prefix + "e", "5").ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(mirror.updates(), updates);
}

TEST_F(EtcdClientTest, ADeadEndpointFirstInTheListIsSkipped) {
  // Port 1: nothing listens, the connection is refused at once.
  auto client = Connect("http://127.0.0.1:1," + cluster_->endpoints());
  ASSERT_NE(client, nullptr);
  const auto start = Clock::now();
  ASSERT_TRUE(client->Put("/rotate/k", "v").ok());
  EXPECT_EQ(ValueOf(*client, "/rotate/k"), "v");
  EXPECT_LT(Since(start), 1s);
}

TEST_F(EtcdClientTest, AMalformedEndpointListIsInvalidArgument) {
  for (const std::string& bad : {cluster_->endpoints() + ",127.0.0.1:2379", std::string("http://127.0.0.1:2379/v3"),
                                 std::string("http://127.0.0.1"), std::string(" , ")}) {
    auto client = EtcdClient::Create(bad);
    ASSERT_FALSE(client.ok()) << bad;
    EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  auto client = EtcdClient::Create(cluster_->endpoints() + ",127.0.0.1:2379");
  EXPECT_NE(client.status().message().find("127.0.0.1:2379"), std::string::npos) << client.status().message();
}

// Each test here gets a cluster of its own, since it kills or freezes members.
class EtcdFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = EtcdCluster::Start(3);
    ASSERT_NE(cluster_, nullptr) << "the etcd cluster did not start";
    client_ = Connect(cluster_->endpoints());
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    if (HasFailure() && cluster_) std::fprintf(stderr, "%s", cluster_->LogTails().c_str());
  }

  // The leader's member name ("m2"), asked of every member until one says it leads.
  std::string Leader() {
    std::string leader;
    WaitFor(
        [&] {
          for (const std::string& member : cluster_->members()) {
            auto status = client_->MemberStatus(cluster_->url(member));
            if (status.ok() && status->IsLeader()) leader = member;
          }
          return !leader.empty();
        },
        10s);
    return leader;
  }
  // The client URLs of `first`, then of every other member.
  std::string EndpointsStartingWith(const std::string& first) {
    std::string out = cluster_->url(first);
    for (const std::string& member : cluster_->members()) {
      if (member != first) out += "," + cluster_->url(member);
    }
    return out;
  }

  std::unique_ptr<EtcdCluster> cluster_;
  std::unique_ptr<EtcdClient> client_;
};

TEST_F(EtcdFaultTest, AWatcherOnTheLeaderMovesOnWhenTheLeaderIsKilled) {
  const std::string leader = Leader();
  ASSERT_FALSE(leader.empty());
  auto watching = Connect(EndpointsStartingWith(leader));  // its watch starts on the leader
  const std::string prefix = "/failover/";
  Mirror mirror;
  Reconnects reconnects;
  PrefixWatcher watcher(*watching, prefix, mirror.Receiver(), reconnects.Options(3s));
  ASSERT_TRUE(client_->Put(prefix + "k1", "1").ok());
  ASSERT_TRUE(WaitFor([&] { return mirror.values().count(prefix + "k1") == 1; }, 5s));

  ASSERT_TRUE(cluster_->Kill(leader));
  const auto killed = Clock::now();
  Status put = PutEventually(*client_, prefix + "k2", "2", 20s);
  ASSERT_TRUE(put.ok()) << put.ToString();
  ASSERT_TRUE(client_->Put(prefix + "k3", "3").ok());
  const Map expected = {{prefix + "k1", "1"}, {prefix + "k2", "2"}, {prefix + "k3", "3"}};
  EXPECT_TRUE(WaitFor([&] { return mirror.values() == expected; }, 15s));
  std::fprintf(stderr, "leader %s killed: later events mirrored after %lld ms\n", leader.c_str(),
               static_cast<long long>(Since(killed).count()));
  EXPECT_GE(reconnects.count.load(), 1);
  EXPECT_FALSE(mirror.went_back());
}

TEST_F(EtcdFaultTest, WithoutQuorumCallsFailWithinBoundsAndRecoverAfterRestart) {
  ASSERT_TRUE(client_->Put("/quorum/k", "before").ok());
  ASSERT_TRUE(cluster_->Kill("m1"));
  ASSERT_TRUE(cluster_->Kill("m2"));

  auto start = Clock::now();
  auto got = client_->Get("/quorum/k");
  const auto get_took = Since(start);
  EXPECT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable) << got.status().ToString();
  EXPECT_LT(get_took, 5s);
  start = Clock::now();
  auto put = client_->Put("/quorum/k", "lost");
  const auto put_took = Since(start);
  EXPECT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), StatusCode::kUnavailable) << put.status().ToString();
  EXPECT_LT(put_took, 5s);
  std::fprintf(stderr, "without quorum: Get failed after %lld ms (%s), Put after %lld ms (%s)\n",
               static_cast<long long>(get_took.count()), got.status().ToString().c_str(),
               static_cast<long long>(put_took.count()), put.status().ToString().c_str());
  // A serializable read needs no quorum: the surviving member answers from its own copy.
  auto local = client_->Get("/quorum/k", {.serializable = true});
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  ASSERT_EQ(local->kvs.size(), 1u);
  EXPECT_EQ(local->kvs[0].value, "before");

  ASSERT_TRUE(cluster_->Restart({"m1", "m2"}));
  Status recovered = PutEventually(*client_, "/quorum/k", "after", 15s);
  ASSERT_TRUE(recovered.ok()) << recovered.ToString();
  EXPECT_EQ(ValueOf(*client_, "/quorum/k"), "after");
}

TEST_F(EtcdFaultTest, ACompactionWhileTheWatcherIsCutOffBringsAFreshSnapshot) {
  // The watcher's only member is a follower, so the others keep their leader while it is down.
  const std::string leader = Leader();
  ASSERT_FALSE(leader.empty());
  std::string cut_off, others;
  for (const std::string& member : cluster_->members()) {
    if (member != leader && cut_off.empty()) {
      cut_off = member;
    } else {
      others += (others.empty() ? "" : ",") + cluster_->url(member);
    }
  }
  const std::string prefix = "/resume/";
  ASSERT_TRUE(client_->Put(prefix + "a", "1").ok());
  ASSERT_TRUE(client_->Put(prefix + "b", "2").ok());
  auto watching = Connect(cluster_->url(cut_off));
  Mirror mirror;
  PrefixWatcher watcher(*watching, prefix, mirror.Receiver(), {.idle_timeout = 3s});
  ASSERT_TRUE(WaitFor([&] { return mirror.values().size() == 2; }, 5s));

  ASSERT_TRUE(cluster_->Kill(cut_off));
  auto writer = Connect(others);
  ASSERT_TRUE(writer->DeleteRange(EtcdKeyRange::Single(prefix + "a")).ok());
  ASSERT_TRUE(writer->Put(prefix + "b", "20").ok());
  auto last = writer->Put(prefix + "c", "3");
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(writer->Compact(*last).ok());
  // etcd serves a restarted member's clients only once it has applied the log it missed, the
  // compaction included, so the resumed watch finds its history gone.
  ASSERT_TRUE(cluster_->Restart({cut_off}));

  const Map expected = {{prefix + "b", "20"}, {prefix + "c", "3"}};
  EXPECT_TRUE(WaitFor([&] { return mirror.values() == expected; }, 15s));
  EXPECT_EQ(mirror.snapshots(), 2);
  EXPECT_FALSE(mirror.went_back());
}

TEST_F(EtcdFaultTest, AWatcherOnAFrozenMemberMovesOnAfterTheIdleTimeout) {
  auto watching = Connect(EndpointsStartingWith("m1"));  // its watch starts on m1
  const std::string prefix = "/frozen/";
  Mirror mirror;
  Reconnects reconnects;
  PrefixWatcher watcher(*watching, prefix, mirror.Receiver(), reconnects.Options(2s));
  ASSERT_TRUE(client_->Put(prefix + "k1", "1").ok());
  ASSERT_TRUE(WaitFor([&] { return mirror.values().count(prefix + "k1") == 1; }, 5s));

  // SIGSTOP: m1's connections stay open and say nothing, as across a lost network path.
  ASSERT_TRUE(cluster_->Freeze("m1"));
  const auto frozen = Clock::now();
  auto others = Connect(cluster_->url("m2") + "," + cluster_->url("m3"));
  Status put = PutEventually(*others, prefix + "k2", "2", 20s);  // after an election if m1 led
  ASSERT_TRUE(put.ok()) << put.ToString();
  EXPECT_TRUE(WaitFor([&] { return mirror.values().count(prefix + "k2") == 1; }, 15s));
  std::fprintf(stderr, "m1 frozen: later events mirrored after %lld ms (%s)\n",
               static_cast<long long>(Since(frozen).count()), reconnects.Last().c_str());
  EXPECT_GE(reconnects.count.load(), 1);
  EXPECT_TRUE(cluster_->Thaw("m1"));
}

}  // namespace
}  // namespace dram::cluster
