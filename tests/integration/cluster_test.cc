// A cluster of real dram members on loopback: 3 etcd members (scripts/etcd_cluster.sh), the S3
// fixture (radosgw) holding the catalog and the data, and `dram serve --cluster` processes. One
// scenario walks through what the cluster must survive while a watcher samples the shard map in
// etcd every 100 ms and checks that no move ever leaves a shard with fewer than N ready copies.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "cluster/etcd_client.h"
#include "cluster/records.h"
#include "dram/client.h"
#include "store/store_uri.h"
#include "testutil/command.h"
#include "testutil/etcd_cluster.h"
#include "testutil/fault_proxy.h"
#include "testutil/http_client.h"
#include "testutil/loopback.h"
#include "testutil/s3_env.h"
#include "testutil/server_process.h"
#include "testutil/temp_dir.h"

namespace dram::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

#ifdef DRAM_SANITIZED
constexpr bool kSanitized = true;  // members run several times slower: latency bounds are reported, not asserted
#else
constexpr bool kSanitized = false;
#endif

// Requests generated over 6 endpoints, each asked of a member and of the smart client. The
// sanitizer builds check memory and threads with fewer (they run several times slower).
constexpr int kGeneratedRequests = kSanitized ? 90 : 210;

constexpr int kFiles = 16;
constexpr int kRowsPerFile = 500;
constexpr int kShards = 8;
constexpr int kReplicas = 2;
constexpr const char* kClusterSecret = "test-cluster-secret-0123456789";

struct Member {
  std::string id;      // its advertise address
  std::string listen;  // where it listens, when not at its advertise address (behind a proxy)
  std::unique_ptr<ServerProcess> process;
  std::unique_ptr<TempDir> cache;
  bool example = false;  // examples/cluster_member rather than `dram serve`
  std::string zone;      // --zone
};

// The same rows in the same order, each value equal; a DOUBLE computed from other rows (an
// average, a sum of DOUBLEs) may differ in its last digits, as the order of adding them differs
// between one copy and four shards.
void ExpectSameData(const json::value& whole, const json::value& sharded, const std::string& context) {
  if (whole == sharded) return;
  const json::array& a = whole.as_array();
  const json::array& b = sharded.as_array();
  ASSERT_EQ(a.size(), b.size()) << context << "\nwhole:   " << json::serialize(whole) << "\nsharded: " << json::serialize(sharded);
  for (size_t i = 0; i < a.size(); ++i) {
    const json::object& x = a[i].as_object();
    const json::object& y = b[i].as_object();
    ASSERT_EQ(x.size(), y.size()) << context;
    for (const auto& [key, value] : x) {
      ASSERT_TRUE(y.contains(key)) << context << " row " << i << " lacks " << key;
      const json::value& other = y.at(key);
      if (value.is_double() && other.is_double()) {
        EXPECT_NEAR(value.as_double(), other.as_double(), 1e-12 * std::max(1.0, std::fabs(value.as_double())))
            << context << " row " << i << " " << key;
      } else {
        EXPECT_EQ(value, other) << context << " row " << i << " " << key << "\nwhole:   " << json::serialize(a[i])
                                << "\nsharded: " << json::serialize(b[i]);
      }
    }
  }
}

// Which member holds a ready copy of which shard: (database, shard) → members, read from etcd.
using ReadyMap = std::map<std::pair<std::string, int>, std::set<std::string>>;

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    etcd_ = EtcdCluster::Start(3);
    ASSERT_TRUE(etcd_) << "etcd did not start";
    const std::string run = std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
    cluster_ = "test-" + run;
    keys_ = std::make_unique<cluster::Keys>(cluster_);
    catalog_ = S3TestUri("cluster-catalog-" + run);
    data_ = S3TestUri("cluster-data-" + run);
    UploadData();
    auto client = cluster::EtcdClient::Create(etcd_->endpoints());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value();
  }

  void TearDown() override {
    StopWatcher();
    for (auto& member : members_) {
      if (member.process && HasFailure()) std::fprintf(stderr, "--- member %s log:\n%s\n", member.id.c_str(), member.process->log().c_str());
    }
    members_.clear();
  }

  // orders: kFiles Parquet files under orders/; tenants: one file, copied whole into every shard.
  void UploadData() {
    auto store = store::OpenStore(data_, S3TestLookup());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    TempDir scratch;
    std::string sql;
    for (int f = 0; f < kFiles; ++f) {
      // Besides id/tenant/amount, a column of each kind the generated requests group, order and
      // add up by: VARCHAR with NULLs, DATE, DECIMAL, DOUBLEs that differ in the last digits, BOOLEAN.
      sql += "COPY (SELECT i AS id, i % 5 AS tenant, i * 3 AS amount, "
             "CASE WHEN i % 17 = 0 THEN NULL ELSE ['north', 'south', 'east', 'west'][1 + (hash(i) % 4)::INTEGER] END AS region, "
             "DATE '2026-01-01' + (i % 40)::INTEGER AS day, ((hash(i, 2) % 100000) / 100)::DECIMAL(10, 2) AS price, "
             "0.1 + i * 1e-17 + (hash(i, 3) % 1000) / 7.0 AS score, i % 3 = 0 AS flag FROM range(" +
             std::to_string(f * kRowsPerFile) + ", " +
             std::to_string((f + 1) * kRowsPerFile) + ") t(i)) TO '" + scratch.path() + "/o" + std::to_string(f) +
             ".parquet' (FORMAT parquet);\n";
    }
    sql += "COPY (SELECT i AS tenant, 'tenant ' || i AS name FROM range(5) t(i)) TO '" + scratch.path() + "/t.parquet' (FORMAT parquet);\n";
    sql += "COPY (SELECT i AS code, 'region ' || i AS name FROM range(3) t(i)) TO '" + scratch.path() + "/r.parquet' (FORMAT parquet);\n";
    scratch.Write("gen.sql", sql);
    CommandResult generated = RunCommand({DramSqlBinary(), scratch.path() + "/gen.sql"});
    ASSERT_EQ(generated.exit_code, 0) << generated.output;
    auto upload = [&](const std::string& local, const std::string& key) {
      std::string bytes = ReadFile(scratch.path() + "/" + local);
      ASSERT_FALSE(bytes.empty());
      auto put = (*store)->Put(key, bytes);
      ASSERT_TRUE(put.ok()) << put.status().ToString();
    };
    for (int f = 0; f < kFiles; ++f) upload("o" + std::to_string(f) + ".parquet", "shop/orders/part-" + std::to_string(f) + ".parquet");
    upload("t.parquet", "shop/tenants/tenants.parquet");
    upload("r.parquet", "ref/regions/regions.parquet");
  }

  // Starts (or restarts, on its port and cache) one member.
  std::unique_ptr<ServerProcess> LaunchMember(const Member& member) {
    if (member.example) {
      // The same member, as a program of one's own with C++ analyses (examples/cluster_member).
      return ServerProcess::Launch({ClusterMemberExampleBinary(), "--catalog", catalog_, "--cluster", cluster_, "--etcd",
                                    etcd_->endpoints(), "--advertise", member.id, "--cache-dir", member.cache->path(),
                                    "--lease-ttl", "2", "--poll-interval", "200", "{READY}"},
                                   [] {
                                     auto env = S3TestEnvironment();
                                     env["DRAM_CLUSTER_SECRET"] = kClusterSecret;
                                     return env;
                                   }());
    }
    std::vector<std::string> args = {
        DramBinary(), "serve", "--catalog", catalog_, "--cluster", cluster_, "--etcd", etcd_->endpoints(), "--advertise", member.id,
        "--listen", member.listen.empty() ? member.id : member.listen, "--admin-listen", "127.0.0.1:0", "--cache-dir", member.cache->path(), "--lease-ttl", "2",
        "--rereplicate-after", "8000", "--poll-interval", "200", "--ready-file", "{READY}"};
    if (!member.zone.empty()) args.insert(args.end(), {"--zone", member.zone});
    return ServerProcess::Launch(
        args,
        [] {
          auto env = S3TestEnvironment();
          env["DRAM_CLUSTER_SECRET"] = kClusterSecret;
          return env;
        }());
  }

  Member& StartMember(bool example = false, std::string zone = "") {
    const int port = FreeLoopbackPort();
    Member member;
    member.example = example;
    member.zone = std::move(zone);
    member.id = "127.0.0.1:" + std::to_string(port);
    member.cache = std::make_unique<TempDir>();
    member.process = LaunchMember(member);
    EXPECT_TRUE(member.process) << "member did not start";
    members_.push_back(std::move(member));
    return members_.back();
  }

  // A key for `tenant` in the project's keys file (dram keys create); the key's text.
  std::string CreateKey(const TempDir& project, const std::string& tenant) {
    CommandResult created = RunCommand({DramBinary(), "keys", "create", project.path(), "--tenant", tenant});
    const size_t at = created.output.find("dram_");
    EXPECT_NE(at, std::string::npos) << created.output;
    return at == std::string::npos ? "" : created.output.substr(at, created.output.find_first_of(" \n", at) - at);
  }

  CommandResult Dram(std::vector<std::string> args, const Member& via) {
    args.insert(args.begin(), DramBinary());
    args.push_back("--admin");
    args.push_back("http://127.0.0.1:" + std::to_string(via.process->admin_port()));
    return RunCommand(args, S3TestEnvironment());
  }

  // Ready copies per shard and the live members, as etcd says now (linearizable reads).
  bool ReadCluster(ReadyMap& ready, std::set<std::string>& live) {
    auto members = client_->Range(cluster::EtcdKeyRange::Prefix(keys_->members()));
    auto replicas = client_->Range(cluster::EtcdKeyRange::Prefix(keys_->replicas()));
    if (!members.ok() || !replicas.ok()) return false;
    for (const auto& kv : members->kvs) {
      if (auto record = cluster::DecodeMember(kv.value); record.ok()) live.insert(record->id);
    }
    for (const auto& kv : replicas->kvs) {
      auto record = cluster::DecodeReplica(kv.value);
      if (record.ok() && record->state == "ready" && live.contains(record->member)) {
        ready[{record->copy.database, record->copy.shard}].insert(record->member);
      }
    }
    return true;
  }

  ReadyMap Ready() {
    ReadyMap ready;
    std::set<std::string> live;
    ReadCluster(ready, live);
    return ready;
  }

  // Every shard of `database` has exactly `copies` ready copies (surplus ones dropped).
  bool Settled(const std::string& database, int shards, size_t copies) {
    ReadyMap ready = Ready();
    for (int shard = 0; shard < shards; ++shard) {
      if (ready[{database, shard}].size() != copies) return false;
    }
    return true;
  }

  // Placement is done: every member started is live, each shard of `database` has exactly
  // `copies` copies and all of them are ready (none loading: a surplus copy becoming ready would be
  // dropped, moving a shard mid-test), and the map held still for a second (a member that has just
  // registered may not have claimed its share yet: with only the first member's copies, the map
  // looks settled; a CI run saw a shard move between the answer and the test's own read).
  bool PlacementDone(const std::string& database, int shards, size_t copies) {
    auto sample = [&] {
      std::set<std::string> live;
      ReadyMap ready;
      if (!ReadCluster(ready, live) || live.size() != members_.size()) return std::optional<std::string>();
      auto replicas = client_->Range(cluster::EtcdKeyRange::Prefix(keys_->replicas()));
      if (!replicas.ok()) return std::optional<std::string>();
      std::map<int, size_t> held;
      std::string shape;
      for (const auto& kv : replicas->kvs) {
        auto record = cluster::DecodeReplica(kv.value);
        if (!record.ok() || record->copy.database != database || !live.contains(record->member)) continue;
        if (record->state != "ready") return std::optional<std::string>();
        held[record->copy.shard]++;
        shape += record->member + "/" + std::to_string(record->copy.shard) + " ";
      }
      for (int shard = 0; shard < shards; ++shard) {
        if (held[shard] != copies) return std::optional<std::string>();
      }
      return std::optional<std::string>(shape);
    };
    const auto first = sample();
    if (!first) return false;
    std::this_thread::sleep_for(1s);
    return sample() == first;
  }

  // Samples the shard map every 100 ms; while `guard_` > 0, a sample where some shard of orders
  // has fewer than min(guard_, live members) ready copies is a violation.
  void StartWatcher() {
    watcher_ = std::thread([this] {
      while (!stop_watch_) {
        const int guard = guard_;
        ReadyMap ready;
        std::set<std::string> live;
        if (guard > 0 && ReadCluster(ready, live)) {
          samples_++;
          const size_t floor = std::min<size_t>(guard, live.size());
          for (int shard = 0; shard < kShards; ++shard) {
            if (ready[{"orders", shard}].size() < floor) {
              violations_++;
              std::fprintf(stderr, "watcher: shard %d has %zu ready copies (< %zu)\n", shard, ready[{"orders", shard}].size(), floor);
            }
          }
        }
        std::this_thread::sleep_for(100ms);
      }
    });
  }
  void StopWatcher() {
    stop_watch_ = true;
    if (watcher_.joinable()) watcher_.join();
  }

  json::value AdminJson(const Member& member, const std::string& path) {
    HttpClient admin("127.0.0.1", member.process->admin_port());
    auto reply = admin.Get(path);
    boost::system::error_code ec;
    json::value value = json::parse(reply.body, ec);
    return ec ? json::value() : value;
  }

  std::unique_ptr<EtcdCluster> etcd_;
  std::unique_ptr<cluster::EtcdClient> client_;
  std::unique_ptr<cluster::Keys> keys_;
  std::string cluster_, catalog_, data_;
  std::vector<Member> members_;
  std::thread watcher_;
  std::atomic<bool> stop_watch_{false};
  std::atomic<int> guard_{0};
  std::atomic<int> violations_{0};
  std::atomic<int> samples_{0};
};

TEST_F(ClusterTest, PlacesCopiesKeepsNReadyThroughMovesAndSurvivesFailures) {
  for (int i = 0; i < 4; ++i) StartMember();
  ASSERT_TRUE(WaitFor([&] { return AdminJson(members_[0], "/cluster/status").at("members").as_array().size() == 4; }, 10s));

  // One command: committed once, loaded by the members placement picks, --wait until N ready.
  CommandResult added = Dram({"db", "add", "orders", data_ + "/shop", "--replicas", "2", "--shards", "8", "--global", "tenants",
                              "--wait", "--timeout", "60"},
                             members_[0]);
  ASSERT_EQ(added.exit_code, 0) << added.output;
  EXPECT_NE(added.output.find("every shard has 2 ready copies"), std::string::npos) << added.output;
  ASSERT_TRUE(WaitFor([&] { return Settled("orders", kShards, kReplicas); }, 20s));
  {
    // Spread over every member; each shard holds its part of orders and the whole tenants table.
    std::map<std::string, int> per_member;
    int64_t rows = 0;
    for (const auto& [copy, holders] : Ready()) {
      for (const auto& holder : holders) per_member[holder]++;
      const Member* member = nullptr;
      for (const auto& m : members_) {
        if (m.id == *holders.begin()) member = &m;
      }
      ASSERT_NE(member, nullptr);
      CommandResult counted = Dram({"query", "orders~" + std::to_string(copy.second),
                                    "SELECT (SELECT count(*) FROM orders) AS o, (SELECT count(*) FROM tenants) AS t", "--format", "csv"},
                                   *member);
      ASSERT_EQ(counted.exit_code, 0) << counted.output;
      const std::string line = counted.output.substr(counted.output.find('\n') + 1);
      rows += std::atoll(line.c_str());
      EXPECT_EQ(line.substr(line.find(',') + 1, 1), "5") << counted.output;
    }
    EXPECT_EQ(rows, kFiles * kRowsPerFile);  // the shards partition the table
    EXPECT_EQ(per_member.size(), 4u);
    CommandResult where = Dram({"cluster", "where", "orders", "--format", "json"}, members_[3]);
    ASSERT_EQ(where.exit_code, 0) << where.output;
    json::value parsed = json::parse(where.output);
    EXPECT_EQ(parsed.at("shards").as_array().size(), static_cast<size_t>(kShards));
    EXPECT_TRUE(parsed.at("shards").at(0).at("replicas").at(0).as_object().contains("snapshot"));
  }

  guard_ = kReplicas;
  StartWatcher();

  // A member joins: it gets its share, surplus copies go only once others are ready.
  Member& joined = StartMember();
  ASSERT_TRUE(WaitFor(
      [&] {
        int held = 0;
        for (const auto& [copy, holders] : Ready()) held += holders.contains(joined.id);
        return held > 0 && Settled("orders", kShards, kReplicas);
      },
      30s))
      << joined.process->log();

  // Drain a member: no new copies, its copies made elsewhere first, then it leaves.
  const std::string drained = members_[1].id;
  CommandResult drain = Dram({"cluster", "drain", drained}, members_[0]);
  ASSERT_EQ(drain.exit_code, 0) << drain.output;
  ASSERT_TRUE(WaitFor(
      [&] {
        ReadyMap ready;
        std::set<std::string> live;
        return ReadCluster(ready, live) && !live.contains(drained) && Settled("orders", kShards, kReplicas);
      },
      30s))
      << members_[1].process->log();
  members_[1].process->Stop();

  // The etcd leader killed: a new one is elected, leases are renewed, nothing moves.
  const ReadyMap before_leader = Ready();
  std::string leader;
  for (const auto& name : etcd_->members()) {
    auto status = client_->MemberStatus(etcd_->url(name));
    if (status.ok() && status->IsLeader()) leader = name;
  }
  ASSERT_FALSE(leader.empty());
  ASSERT_TRUE(etcd_->Kill(leader));
  std::this_thread::sleep_for(6s);
  EXPECT_EQ(Ready(), before_leader);
  ASSERT_TRUE(etcd_->Restart({leader}));
  EXPECT_GT(samples_.load(), 20);
  EXPECT_EQ(violations_.load(), 0) << "a move left a shard with fewer than N ready copies";
  guard_ = 0;  // from here on members fail on purpose

  // A member paused past its lease, then resumed before the re-replication delay: it registers
  // again and serves the same copies; nobody else loads anything (no flapping).
  Member& paused = members_[2];
  json::value loaded_before = AdminJson(members_[0], "/cluster/status").at("bytes_loaded");
  // etcd raises a lease's TTL to its minimum (1.5 election timeouts: 3.75 s -> 4 s here), so the
  // pause outlasts that, and stays under the re-replication delay (8 s).
  ASSERT_EQ(::kill(paused.process->pid(), SIGSTOP), 0);
  std::this_thread::sleep_for(5500ms);
  ASSERT_EQ(::kill(paused.process->pid(), SIGCONT), 0);
  ASSERT_TRUE(WaitFor([&] { return Settled("orders", kShards, kReplicas); }, 15s));
  json::value paused_status = AdminJson(paused, "/cluster/status");
  EXPECT_GE(paused_status.at("registrations").as_int64(), 2) << json::serialize(paused_status);
  EXPECT_EQ(AdminJson(members_[0], "/cluster/status").at("bytes_loaded"), loaded_before);

  // A member killed: after the delay its copies are made again elsewhere.
  Member& killed = members_[3];
  ASSERT_EQ(::kill(killed.process->pid(), SIGKILL), 0);
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor(
      [&] {
        ReadyMap ready;
        std::set<std::string> live;
        if (!ReadCluster(ready, live) || live.contains(killed.id)) return false;
        for (int shard = 0; shard < kShards; ++shard) {
          if (ready[{"orders", shard}].size() < static_cast<size_t>(kReplicas)) return false;
        }
        return true;
      },
      30s));
  std::fprintf(stderr, "[ figures ] N copies restored %.1f s after SIGKILL (lease TTL 4 s + delay 8 s + load)\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count());

  // etcd down entirely: members keep serving what they hold and drop nothing. First, a settled
  // cluster: exactly N copies and no load still running anywhere.
  ASSERT_TRUE(WaitFor(
      [&] {
        if (!Settled("orders", kShards, kReplicas)) return false;
        for (const auto& m : members_) {
          if (&m == &killed || m.id == drained) continue;
          if (json::serialize(AdminJson(m, "/ready")).find("loading") != std::string::npos) return false;
        }
        return true;
      },
      30s));
  std::map<std::string, std::string> held_before;
  for (const auto& m : members_) {
    if (&m == &killed || m.id == drained) continue;
    held_before[m.id] = json::serialize(AdminJson(m, "/ready").at("datasets"));
  }
  for (const auto& name : etcd_->members()) ASSERT_TRUE(etcd_->Kill(name));
  std::this_thread::sleep_for(5s);
  for (const auto& m : members_) {
    if (!held_before.contains(m.id)) continue;
    json::value ready = AdminJson(m, "/ready");
    EXPECT_EQ(json::serialize(ready.at("datasets")), held_before[m.id]) << m.id;
    EXPECT_TRUE(ready.as_object().contains("cluster")) << json::serialize(ready);  // says etcd is unreachable
    CommandResult counted = Dram({"query", "orders~0", "SELECT count(*) FROM tenants", "--format", "csv"}, m);
    if (held_before[m.id].find("orders~0") != std::string::npos) {
      EXPECT_EQ(counted.exit_code, 0) << counted.output;
    }
  }
  // A member that starts while etcd is unreachable serves what it has on disk and says so.
  Member& restarted = members_[0];
  restarted.process->Stop();
  restarted.process = LaunchMember(restarted);
  ASSERT_TRUE(restarted.process);
  json::value warm = AdminJson(restarted, "/ready");
  EXPECT_EQ(json::serialize(warm.at("datasets")), held_before[restarted.id]) << json::serialize(warm);
  EXPECT_NE(json::serialize(warm).find("etcd unreachable"), std::string::npos) << json::serialize(warm);
  ASSERT_TRUE(etcd_->Restart(etcd_->members()));
  ASSERT_TRUE(WaitFor([&] { return Settled("orders", kShards, kReplicas); }, 30s));
  EXPECT_TRUE(WaitFor([&] { return AdminJson(restarted, "/cluster/status").at("etcd").at("ok").as_bool(); }, 10s));

  // A database on every member; an alias set on one member is served by another within 1 s.
  CommandResult everywhere = Dram({"db", "add", "ref", data_ + "/ref", "--replicas", "all", "--wait", "--timeout", "60"}, members_[0]);
  ASSERT_EQ(everywhere.exit_code, 0) << everywhere.output;
  Member& far = members_[4];
  ASSERT_TRUE(WaitFor([&] { return Ready()[{"ref", 0}].contains(far.id); }, 20s));
  const int64_t reloads_before = AdminJson(far, "/status").at("catalog").at("reloads_ok").as_int64();
  CommandResult alias = Dram({"alias", "set", "current_ref", "ref"}, members_[0]);
  ASSERT_EQ(alias.exit_code, 0) << alias.output;
  const auto set_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return json::serialize(AdminJson(far, "/aliases")).find("current_ref") != std::string::npos; }, 5s));
  const double alias_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - set_at).count();
  std::fprintf(stderr, "[ figures ] alias set on one member served by another after %.2f s\n", alias_seconds);
  if (!kSanitized) {
    EXPECT_LT(alias_seconds, 1.5);
  }
  // Applied in place: no new generation (no reload of every database) on the other member.
  EXPECT_EQ(AdminJson(far, "/status").at("catalog").at("reloads_ok").as_int64(), reloads_before);

  // A member that joins gets every "all" database.
  Member& late = StartMember();
  ASSERT_TRUE(WaitFor([&] { return Ready()[{"ref", 0}].contains(late.id); }, 30s)) << late.process->log();
}

TEST_F(ClusterTest, ShardsByAColumnPutEachTenantInOneShard) {
  StartMember();
  StartMember();
  // A column that is not in every split table: refused before anything is committed.
  CommandResult missing = Dram({"db", "add", "bad", data_ + "/shop", "--shards", "4", "--shard-by", "region"}, members_[0]);
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("'region' is not a column of table"), std::string::npos) << missing.output;
  EXPECT_EQ(json::serialize(AdminJson(members_[0], "/databases").at("databases")), "[]");

  CommandResult added = Dram({"db", "add", "orders", data_ + "/shop", "--shards", "4", "--replicas", "1", "--shard-by", "tenant",
                              "--global", "tenants", "--wait", "--timeout", "60"},
                             members_[0]);
  ASSERT_EQ(added.exit_code, 0) << added.output;
  std::map<std::string, int> shard_of_tenant;
  std::map<std::string, int64_t> rows_of_tenant;
  int64_t rows = 0;
  for (const auto& [copy, holders] : Ready()) {
    ASSERT_EQ(copy.first, "orders");
    const Member* member = members_[0].id == *holders.begin() ? &members_[0] : &members_[1];
    CommandResult tenants = Dram({"query", "orders~" + std::to_string(copy.second),
                                  "SELECT tenant, count(*) AS n, (SELECT count(*) FROM tenants) AS t FROM orders GROUP BY tenant ORDER BY tenant",
                                  "--format", "json"},
                                 *member);
    ASSERT_EQ(tenants.exit_code, 0) << tenants.output;
    json::value parsed = json::parse(tenants.output);
    const json::array& list = parsed.at("data").as_array();
    for (const auto& row : list) {
      const std::string tenant = json::serialize(row.at("tenant"));
      EXPECT_FALSE(shard_of_tenant.contains(tenant)) << "tenant " << tenant << " in two shards";
      shard_of_tenant[tenant] = copy.second;
      rows_of_tenant[tenant] = std::atoll(json::serialize(row.at("n")).c_str());
      rows += rows_of_tenant[tenant];
      EXPECT_EQ(json::serialize(row.at("t")), "5");  // the global table, whole
    }
  }
  EXPECT_EQ(shard_of_tenant.size(), 5u);
  EXPECT_EQ(rows, kFiles * kRowsPerFile);

  // An ad hoc analysis over the shards (dram analyze), through either member: each shard's map on
  // the member holding it, reduced by the one asked; it answers what the copies hold one by one.
  const std::string map = "SELECT tenant, count(*) AS n, (SELECT count(*) FROM tenants) AS t FROM orders GROUP BY tenant";
  const std::string reduce = "SELECT tenant, sum(n) AS n, sum(t) AS t FROM partials GROUP BY tenant ORDER BY tenant";
  for (const Member& via : members_) {
    CommandResult analysed;
    // The member's shard map follows etcd within a poll: until then a shard may have no ready copy.
    for (int attempt = 0; attempt < 50; ++attempt) {
      analysed = Dram({"analyze", "orders", "--map", map, "--reduce", reduce, "--format", "json"}, via);
      if (analysed.exit_code == 0) break;
      std::this_thread::sleep_for(200ms);
    }
    ASSERT_EQ(analysed.exit_code, 0) << analysed.output;
    json::value parsed = json::parse(analysed.output);
    std::map<std::string, int64_t> analysed_rows;
    for (const auto& row : parsed.at("data").as_array()) {
      analysed_rows[json::serialize(row.at("tenant"))] = std::atoll(json::serialize(row.at("n")).c_str());
      EXPECT_EQ(json::serialize(row.at("t")), "5");  // only the tenant's own shard has its rows
    }
    EXPECT_EQ(analysed_rows, rows_of_tenant) << analysed.output;
    ASSERT_EQ(parsed.at("shards").as_array().size(), 4u) << analysed.output;
    for (const auto& shard : parsed.at("shards").as_array()) {
      const int k = static_cast<int>(shard.at("shard").as_int64());
      EXPECT_EQ(json::serialize(shard.at("member")), json::serialize(json::value(*Ready()[{"orders", k}].begin())));
    }
  }
  // Named shards only: the tenants those shards hold.
  const int some_shard = shard_of_tenant.begin()->second;
  CommandResult named = Dram({"analyze", "orders", "--map", map, "--reduce", reduce, "--format", "json", "--shards",
                              std::to_string(some_shard)}, members_[1]);
  ASSERT_EQ(named.exit_code, 0) << named.output;
  const json::value named_rows = json::parse(named.output);
  for (const auto& row : named_rows.at("data").as_array()) {
    EXPECT_EQ(shard_of_tenant[json::serialize(row.at("tenant"))], some_shard) << named.output;
  }
  // Bad analyses are refused with what is wrong: shards it does not have (listed), a map that does
  // not bind (DuckDB's message, from whichever member ran it), a statement that is not a SELECT.
  CommandResult no_shard = Dram({"analyze", "orders", "--map", map, "--shards", "1,4,7"}, members_[0]);
  EXPECT_EQ(no_shard.exit_code, 1);
  EXPECT_NE(no_shard.output.find("shards 4, 7 of 'orders' do not exist: it has 4 shards (0 to 3)"), std::string::npos) << no_shard.output;
  CommandResult unbound = Dram({"analyze", "orders", "--map", "SELECT no_such_column FROM orders"}, members_[0]);
  EXPECT_EQ(unbound.exit_code, 1);
  EXPECT_NE(unbound.output.find("no_such_column"), std::string::npos) << unbound.output;
  CommandResult write = Dram({"analyze", "orders", "--map", "CREATE TEMP VIEW shadow AS SELECT 1"}, members_[1]);
  EXPECT_EQ(write.exit_code, 1);
  EXPECT_NE(write.output.find("read-only"), std::string::npos) << write.output;
}

// Scale to zero in a cluster: copies idle past idle_evict go cold (files deleted, still held:
// placement neither reloads nor moves them, and they are not under-replicated), and the next
// request, to any member, loads the copies it needs again and answers what it answered before.
TEST_F(ClusterTest, IdleCopiesGoColdStayPlacedAndWarmOnTheNextRequest) {
  TempDir project;
  project.Write("dram.yml", "engine:\n  threads: 1\n  pool_size: 2\n");
  project.Write("datasets/orders.yml",
                "name: orders\nsource: " + data_ + "/shop\nreplicas: 1\nshards: 4\nglobal: [tenants]\nidle_evict: 3s\n");
  project.Write("endpoints/by_tenant.yml",
                "name: by_tenant\ndataset: orders\ntable: orders\ngroup_by: [tenant]\nselect:\n  - tenant\n"
                "  - {column: amount, agg: sum, as: revenue}\n  - {agg: count, as: n}\norder_by: [tenant]\ncache: false\n");
  CommandResult applied = RunCommand({DramBinary(), "apply", project.path(), "--catalog", catalog_}, S3TestEnvironment());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  auto states = [&] {
    std::map<std::pair<int, std::string>, std::string> out;  // (shard, member) → state
    auto replicas = client_->Range(cluster::EtcdKeyRange::Prefix(keys_->replicas()));
    if (!replicas.ok()) return out;
    for (const auto& kv : replicas->kvs) {
      auto record = cluster::DecodeReplica(kv.value);
      if (record.ok() && record->copy.database == "orders") out[{record->copy.shard, record->member}] = record->state;
    }
    return out;
  };
  StartMember();
  StartMember();
  // Placement settles (one copy per shard, surplus dropped) while copies may already go cold: a
  // copy nobody asks for is idle from its load on.
  auto settled = [&] {
    auto now = states();
    std::set<int> shards;
    for (const auto& [where, state] : now) {
      if (state != "ready" && state != "cold") return false;
      shards.insert(where.first);
    }
    return now.size() == 4 && shards.size() == 4;
  };
  ASSERT_TRUE(WaitFor(settled, 60s));
  std::this_thread::sleep_for(5s);  // surplus copies go after 2 lease TTLs (2 s each here)
  ASSERT_TRUE(WaitFor(settled, 30s));
  auto all_in = [&](const std::string& state) {
    auto now = states();
    return now.size() == 4 && std::all_of(now.begin(), now.end(), [&](const auto& s) { return s.second == state; });
  };
  auto get = [&](const Member& member) {
    HttpClient api("127.0.0.1", member.process->api_port());
    HttpResult answer = api.Get("/v1/by_tenant");
    EXPECT_EQ(answer.status, 200) << answer.body;
    return answer.status == 200 ? json::serialize(json::parse(answer.body).at("data")) : "";
  };
  const std::string before = get(members_[0]);
  ASSERT_NE(before.find("\"n\":1600"), std::string::npos) << before;  // 8,000 rows over 5 tenants
  auto placed = states();

  // (The request above may have loaded cold copies: ready first, then cold again when idle.)
  ASSERT_TRUE(WaitFor([&] { return all_in("ready"); }, 20s));
  ASSERT_TRUE(WaitFor([&] { return all_in("cold"); }, 30s)) << "copies did not go cold";
  for (const auto& member : members_) {
    for (int k = 0; k < 4; ++k) EXPECT_FALSE(std::filesystem::exists(member.cache->path() + "/orders~" + std::to_string(k)));
    EXPECT_EQ(AdminJson(member, "/ready").at("ready"), json::value(true));
    EXPECT_EQ(AdminJson(member, "/cluster/status").at("under_replicated").as_array().size(), 0u);
  }
  // Placement leaves them where they are: no load, no move, for a few reconciler rounds.
  std::this_thread::sleep_for(2s);
  auto cold_now = states();
  ASSERT_EQ(cold_now.size(), placed.size());
  for (const auto& [where, state] : cold_now) {
    EXPECT_TRUE(placed.contains(where)) << "copy of shard " << where.first << " moved to " << where.second;
    EXPECT_EQ(state, "cold");
  }

  // The next request, through the other member: every shard loads again, the same answer.
  EXPECT_EQ(get(members_[1]), before);
  ASSERT_TRUE(WaitFor([&] { return all_in("ready"); }, 20s));
  EXPECT_EQ(get(members_[0]), before);
}

// A database that is not split, held by 2 of 3 members: the member without a copy hands requests
// to one with a copy, and each tenant's requests go to one home member whichever member they
// reach (one cache miss, then hits through every member); with a holder killed, every member
// still answers.
TEST_F(ClusterTest, AnUnsplitDatabaseIsServedByEveryMemberAndATenantByItsHome) {
  TempDir project;
  project.Write("dram.yml", "engine:\n  threads: 1\n  pool_size: 2\nauth:\n  mode: keys\n");
  project.Write("datasets/shop.yml", "name: shop\nsource: " + data_ + "/shop\nreplicas: 2\n");
  project.Write("endpoints/mine.yml", R"(name: mine
dataset: shop
table: orders
tenant_column: tenant
group_by: [tenant]
select: [tenant, {agg: count, as: n}, {column: amount, agg: sum, as: revenue}]
)");
  std::map<int, std::string> keys;
  for (int tenant = 0; tenant < 5; ++tenant) keys[tenant] = CreateKey(project, std::to_string(tenant));
  CommandResult applied = RunCommand({DramBinary(), "apply", project.path(), "--catalog", catalog_}, S3TestEnvironment());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  for (int i = 0; i < 3; ++i) StartMember();
  // Two ready copies and no third one on its way: a surplus copy that becomes ready later (then is
  // dropped) would change the tenants' homes mid-test (a CI run saw 2 misses for tenant 3).
  // Every copy of shop as etcd has it now: member → state.
  auto copies_of_shop = [&] {
    std::map<std::string, std::string> out;
    auto replicas = client_->Range(cluster::EtcdKeyRange::Prefix(keys_->replicas()));
    if (!replicas.ok()) return out;
    for (const auto& kv : replicas->kvs) {
      auto record = cluster::DecodeReplica(kv.value);
      if (record.ok() && record->copy.database == "shop") out[record->member] = record->state;
    }
    return out;
  };
  auto describe = [](const std::map<std::string, std::string>& copies) {
    std::string out;
    for (const auto& [member, state] : copies) out += member + " " + state + "; ";
    return out;
  };
  auto two_copies_only = [&] {
    const auto copies = copies_of_shop();
    return copies.size() == 2 && std::all_of(copies.begin(), copies.end(), [](const auto& c) { return c.second == "ready"; });
  };
  ASSERT_TRUE(WaitFor([&] { return two_copies_only() && (std::this_thread::sleep_for(500ms), two_copies_only()); }, 60s))
      << describe(copies_of_shop());
  const std::set<std::string> holders = Ready()[{"shop", 0}];
  // Each member picks a tenant's home from its own view of the shard map, which follows etcd a
  // little behind: until every view has both holders, two members can pick different homes (a CI
  // run saw 2 misses for the first tenant).
  auto sees_holders = [&](const Member& member) {
    json::value where = AdminJson(member, "/cluster/where/shop");
    std::set<std::string> ready;
    if (!where.is_object()) return false;
    for (const auto& replica : where.at("shards").at(0).at("replicas").as_array()) {
      if (replica.at("state") == "ready") ready.insert(std::string(replica.at("member").as_string()));
    }
    return ready == holders;
  };
  ASSERT_TRUE(WaitFor([&] { return std::all_of(members_.begin(), members_.end(), sees_holders); }, 30s));
  auto get = [&](const Member& member, int tenant) {
    HttpClient api("127.0.0.1", member.process->api_port());
    return api.Get("/v1/mine", {{"X-API-Key", keys[tenant]}});
  };
  const std::string expected_n = "\"n\":" + std::to_string(kFiles * kRowsPerFile / 5);
  for (int tenant = 0; tenant < 5; ++tenant) {
    int misses = 0;
    for (const auto& member : members_) {
      HttpResult answer = get(member, tenant);
      ASSERT_EQ(answer.status, 200) << member.id << (holders.contains(member.id) ? " (holder)" : " (no copy)") << ": " << answer.body;
      json::array rows = json::parse(answer.body).at("data").as_array();
      ASSERT_EQ(rows.size(), 1u) << answer.body;
      EXPECT_EQ(rows[0].at("tenant"), json::value(tenant)) << answer.body;
      EXPECT_NE(answer.body.find(expected_n), std::string::npos) << answer.body;
      misses += answer.Header("x-cache") == "miss";
    }
    // Two members hold a copy: without a home per tenant, each would run the query once.
    EXPECT_EQ(misses, 1) << "tenant " << tenant << "; copies now: " << describe(copies_of_shop());
  }
  // An ad hoc analysis is answered by every member, the one without a copy too (the map runs on a
  // holder's copy: one shard, 0).
  for (const auto& member : members_) {
    CommandResult analysed = Dram({"analyze", "shop", "--map", "SELECT tenant, count(*) AS n FROM orders GROUP BY tenant",
                                   "--reduce", "SELECT count(*) AS tenants, sum(n) AS n FROM partials", "--format", "csv"},
                                  member);
    EXPECT_EQ(analysed.output, "tenants,n\r\n5," + std::to_string(kFiles * kRowsPerFile) + "\r\n")
        << member.id << (holders.contains(member.id) ? " (holder)" : " (no copy)");
  }

  // A holder dies: until its lease ends it is still in the shard map; every member answers anyway
  // (the next holder, or its own copy).
  Member& victim = *std::find_if(members_.begin(), members_.end(), [&](const Member& m) { return holders.contains(m.id); });
  ASSERT_EQ(::kill(victim.process->pid(), SIGKILL), 0);
  for (int round = 0; round < 2; ++round) {
    for (const auto& member : members_) {
      if (&member == &victim) continue;
      for (int tenant = 0; tenant < 5; ++tenant) {
        HttpResult answer = get(member, tenant);
        EXPECT_EQ(answer.status, 200) << member.id << " tenant " << tenant << ": " << answer.body;
        EXPECT_NE(answer.body.find(expected_n), std::string::npos) << answer.body;
      }
    }
  }
}

// A request whose params pin the column a database is split by needs one shard: the member
// holding it runs the whole query on its copy (no map step, no reduce), and a member that does not
// hold it hands the request over whole; the answers (rows, totals, groups) are an unsplit copy's.
TEST_F(ClusterTest, ARequestForOneShardRunsWholeWhereTheShardIs) {
  TempDir project;
  project.Write("dram.yml", "engine:\n  threads: 1\n  pool_size: 2\n");
  project.Write("datasets/by_tenant.yml", "name: by_tenant\nsource: " + data_ + "/shop\nreplicas: 1\nshards: 4\nshard_by: tenant\n");
  project.Write("datasets/whole.yml", "name: whole\nsource: " + data_ + "/shop\n");
  for (const std::string dataset : {"by_tenant", "whole"}) {
    project.Write("endpoints/" + dataset + "_rows.yml", "name: " + dataset + "_rows\ndataset: " + dataset + R"(
table: orders
params:
  tenant: {type: integer, required: true}
  min_amount: {type: integer}
filters:
  - {column: tenant, op: eq, param: tenant}
  - {column: amount, op: gte, param: min_amount}
order_by: [id]
total: true
limit: {default: 7, max: 5000}
)");
    project.Write("endpoints/" + dataset + "_sums.yml", "name: " + dataset + "_sums\ndataset: " + dataset + R"(
table: orders
params:
  tenant: {type: integer, required: true}
filters:
  - {column: tenant, op: eq, param: tenant}
group_by: [tenant]
select: [tenant, {column: amount, agg: sum, as: revenue}, {agg: count, as: n}, {column: amount, agg: avg, as: mean}]
)");
  }
  CommandResult applied = RunCommand({DramBinary(), "apply", project.path(), "--catalog", catalog_}, S3TestEnvironment());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  StartMember();
  StartMember();
  ASSERT_TRUE(WaitFor([&] { return PlacementDone("by_tenant", 4, 1) && Ready()[{"whole", 0}].size() == 2; }, 60s));
  const ReadyMap ready = Ready();
  std::set<std::string> seen_holders;
  for (int tenant = 0; tenant < 5; ++tenant) {
    for (const auto& member : members_) {
      HttpClient api("127.0.0.1", member.process->api_port());
      const std::string t = "tenant=" + std::to_string(tenant);
      for (const std::string& query : {t, t + "&min_amount=500&offset=3", t + "&limit=5000"}) {
        for (const std::string endpoint : {"rows", "sums"}) {
          if (endpoint == "sums" && query != t) continue;  // its only param is the tenant
          HttpResult split, whole;
          // The member's shard map follows etcd within a poll.
          ASSERT_TRUE(WaitFor([&] { return (split = api.Get("/v1/by_tenant_" + endpoint + "?" + query)).status == 200; }, 10s))
              << member.id << " " << query << ": " << split.body;
          whole = api.Get("/v1/whole_" + endpoint + "?" + query);
          ASSERT_EQ(whole.status, 200) << whole.body;
          json::value a = json::parse(split.body), b = json::parse(whole.body);
          EXPECT_EQ(json::serialize(a.at("data")), json::serialize(b.at("data"))) << member.id << " " << endpoint << "?" << query;
          if (b.at("meta").as_object().contains("total")) {
            EXPECT_EQ(a.at("meta").at("total"), b.at("meta").at("total")) << query;
          }
          const json::array& shards = a.at("meta").at("shards").as_array();
          ASSERT_EQ(shards.size(), 1u) << split.body;
          const int k = static_cast<int>(shards[0].at("shard").as_int64());
          ASSERT_TRUE(ready.contains({"by_tenant", k}));
          const std::string holder = *ready.at({"by_tenant", k}).begin();
          EXPECT_EQ(shards[0].at("member"), json::value(holder)) << split.body;
          seen_holders.insert(holder == member.id ? "asked the holder" : "asked the other member");
        }
      }
    }
  }
  EXPECT_EQ(seen_holders.size(), 2u);  // both paths were taken
  // No map step ran anywhere: the holder answered each request whole.
  for (const auto& member : members_) {
    HttpClient admin("127.0.0.1", member.process->admin_port());
    const std::string metrics = admin.Get("/metrics").body;
    EXPECT_EQ(metrics.find("endpoint=\"/_cluster/v1/map\""), std::string::npos) << member.id;
  }
}

TEST_F(ClusterTest, BadInputIsRefusedAndChangesNothing) {
  StartMember();
  CommandResult shards = Dram({"db", "add", "bad", data_ + "/shop", "--shards", "0"}, members_[0]);
  EXPECT_EQ(shards.exit_code, 2) << shards.output;
  CommandResult lazy = Dram({"db", "add", "bad", data_ + "/shop", "--shards", "2", "--lazy"}, members_[0]);
  EXPECT_EQ(lazy.exit_code, 1) << lazy.output;
  EXPECT_NE(lazy.output.find("cannot be sharded"), std::string::npos) << lazy.output;
  CommandResult where = Dram({"cluster", "where", "nothing"}, members_[0]);
  EXPECT_EQ(where.exit_code, 1) << where.output;
  EXPECT_NE(where.output.find("unknown database"), std::string::npos) << where.output;
  CommandResult drain = Dram({"cluster", "drain", "127.0.0.1:1"}, members_[0]);
  EXPECT_EQ(drain.exit_code, 1) << drain.output;
  EXPECT_EQ(json::serialize(AdminJson(members_[0], "/databases").at("databases")), "[]");

  CommandResult malformed = RunCommand({DramBinary(), "serve", "--catalog", catalog_, "--cluster", "c", "--etcd", "ftp://nowhere",
                                        "--advertise", "127.0.0.1:1"},
                                       S3TestEnvironment());
  EXPECT_EQ(malformed.exit_code, 1) << malformed.output;
  EXPECT_NE(malformed.output.find("--etcd"), std::string::npos) << malformed.output;

  // N larger than the live members: accepted, reported as under-replicated.
  CommandResult wide = Dram({"db", "add", "wide", data_ + "/ref", "--replicas", "3"}, members_[0]);
  ASSERT_EQ(wide.exit_code, 0) << wide.output;
  ASSERT_TRUE(WaitFor([&] { return Ready()[{"wide", 0}].size() == 1; }, 20s));
  CommandResult status = Dram({"cluster", "status"}, members_[0]);
  EXPECT_NE(status.output.find("under-replicated: wide shard 0: 1 of 3 ready"), std::string::npos) << status.output;
}

// Transparent scatter-gather: 6 endpoints (rows, groups, totals, pages by an aggregate, an SQL
// map/reduce) over a database split into 4 shards (2 copies each) on 3 members answer, through
// any member and through the smart client, exactly what the same endpoints answer over an
// unsplit copy of the same data; a member killed mid-stream costs no request; members' map endpoint
// refuses a caller without the cluster secret.
TEST_F(ClusterTest, AnyMemberAnswersForEveryShardAsOneCopyWould) {
  TempDir project;
  project.Write("dram.yml", "engine:\n  threads: 1\n  pool_size: 2\n");
  project.Write("datasets/orders.yml", "name: orders\nsource: " + data_ + "/shop\nreplicas: 2\nshards: 4\nglobal: [tenants]\n");
  project.Write("datasets/whole.yml", "name: whole\nsource: " + data_ + "/shop\n");
  const std::string params = R"(params:
  tenant: {type: integer}
  min_amount: {type: integer}
  sort: {type: string}
filters:
  - {column: tenant, op: eq, param: tenant}
  - {column: amount, op: gte, param: min_amount}
)";
  for (const std::string dataset : {"orders", "whole"}) {
    project.Write("endpoints/" + dataset + "_rows.yml", "name: " + dataset + "_rows\ndataset: " + dataset + "\ntable: orders\n" + params +
                                                        "sort: {param: sort, allowed: [amount, tenant, id, price, score, day, region]}\n"
                                                        "order_by: [id]\ntotal: true\nlimit: {max: 5000}\n");
    project.Write("endpoints/" + dataset + "_by_tenant.yml",
                  "name: " + dataset + "_by_tenant\ndataset: " + dataset + "\ntable: orders\n" + params +
                      "group_by: [tenant]\nselect:\n  - tenant\n  - {column: amount, agg: sum, as: revenue}\n"
                      "  - {agg: count, as: n}\n  - {column: amount, agg: avg, as: mean}\n  - {column: id, agg: min}\n"
                      "  - {column: id, agg: max}\norder_by: [tenant]\n");
    // Two group keys (one with NULLs), DECIMAL sums and averages, a DOUBLE max, ordered by an
    // aggregate by default: top-k per shard, then merged.
    project.Write("endpoints/" + dataset + "_by_day.yml", "name: " + dataset + "_by_day\ndataset: " + dataset + R"(
table: orders
params:
  regions: {type: list<string>}
  from: {type: date}
  to: {type: date}
  min_amount: {type: integer}
  sort: {type: string}
filters:
  - {column: region, op: in, param: regions}
  - {column: day, op: between, param: [from, to]}
  - {column: amount, op: gte, param: min_amount}
group_by: [day, region]
select:
  - day
  - region
  - {column: price, agg: sum, as: revenue}
  - {agg: count, as: n}
  - {column: price, agg: avg, as: mean_price}
  - {column: score, agg: max, as: best}
order_by: [-revenue]
sort: {param: sort, allowed: [revenue, n, day, region, best]}
total: true
limit: {max: 5000}
)");
    // No group: one row of every aggregate, incl. DOUBLE sums and averages.
    project.Write("endpoints/" + dataset + "_totals.yml", "name: " + dataset + "_totals\ndataset: " + dataset + R"(
table: orders
params:
  tenant: {type: integer}
  regions: {type: list<string>}
  flag: {type: boolean}
filters:
  - {column: tenant, op: eq, param: tenant}
  - {column: region, op: in, param: regions}
  - {column: flag, op: eq, param: flag}
select:
  - {column: amount, agg: sum, as: total_amount}
  - {agg: count, as: n}
  - {column: score, agg: avg, as: mean_score}
  - {column: score, agg: sum, as: total_score}
  - {column: day, agg: min, as: first_day}
  - {column: price, agg: max, as: top_price}
  - {column: region, agg: min, as: first_region}
)");
    // Chosen columns, ordered by a column with many ties (the rest of the row breaks them).
    project.Write("endpoints/" + dataset + "_picks.yml", "name: " + dataset + "_picks\ndataset: " + dataset + R"(
table: orders
columns: [id, region, day, price, flag]
params:
  min_price: {type: number}
  flag: {type: boolean}
  from: {type: date}
  to: {type: date}
  sort: {type: string}
filters:
  - {column: price, op: gte, param: min_price}
  - {column: flag, op: eq, param: flag}
  - {column: day, op: between, param: [from, to]}
order_by: [-day]
sort: {param: sort, allowed: [price, day, region, flag]}
total: true
limit: {max: 5000}
)");
    // An analysis: the map joins the global table (whole in every shard); params split between
    // map and reduce.
    project.Write("endpoints/" + dataset + "_stats.yml", "name: " + dataset + "_stats\ndataset: " + dataset + R"(
params:
  min_amount: {type: integer}
  min_n: {type: integer}
  sort: {type: string}
map: |
  SELECT t.name AS tenant_name, sum(o.amount) AS revenue, count(*) AS n, max(o.amount) AS biggest
  FROM orders o JOIN tenants t USING (tenant)
  WHERE {{min_amount}} IS NULL OR o.amount >= {{min_amount}}
  GROUP BY t.name
reduce: |
  SELECT tenant_name, sum(revenue) AS revenue, sum(n) AS n, max(biggest) AS biggest, sum(revenue) / sum(n) AS mean
  FROM partials
  GROUP BY tenant_name
  HAVING sum(n) >= coalesce({{min_n}}, 0)
sort: {param: sort, allowed: [revenue, n, tenant_name]}
order_by: [tenant_name]
total: true
)");
  }
  CommandResult applied = RunCommand({DramBinary(), "apply", project.path(), "--catalog", catalog_}, S3TestEnvironment());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  // Each in a zone of its own: a member holding several of the shards a request sends it combines
  // their partials into one (ShardPlan::combine_sql), which the answers below check too.
  for (const char* zone : {"a", "b", "c"}) StartMember(false, zone);
  ASSERT_TRUE(WaitFor([&] { return Settled("orders", 4, 2) && Ready()[{"whole", 0}].size() == 3; }, 60s));
  // Settled counts ready copies only: a member may still be loading its share (then the others
  // drop theirs). Placement is done once the map holds still. (With 4 shards, 2 copies and 3
  // members, the load cap still lets one member take every copy its rank gives it, so a member
  // may hold no shard of orders: ~4% of port choices.)
  ReadyMap settled;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (!Settled("orders", 4, 2)) return false;
        ReadyMap now = Ready();
        const bool still = now == settled;
        settled = std::move(now);
        if (!still) std::this_thread::sleep_for(3s);
        return still;
      },
      90s));
  std::set<std::string> holding;
  for (const auto& [copy, holders] : settled) {
    if (copy.first == "orders") holding.insert(holders.begin(), holders.end());
  }

  std::mt19937 random(1202);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  auto sort = [&](std::vector<std::string> allowed) {
    return std::string("&sort=") + (pick(2) ? "-" : "") + allowed[static_cast<size_t>(pick(static_cast<int>(allowed.size())))];
  };
  auto day = [&](int from) {
    const int d = from + pick(10);
    return std::string("2026-01-") + (d < 10 ? "0" : "") + std::to_string(d);
  };
  auto regions = [&] { return std::string("&regions=") + std::vector<std::string>{"north", "north,east", "west,south,east"}[static_cast<size_t>(pick(3))]; };
  auto query = [&](const std::string& shape) {
    std::string q = "limit=" + std::to_string(1 + pick(120)) + "&offset=" + std::to_string(pick(200));
    if (shape == "_stats") {
      q = "limit=" + std::to_string(1 + pick(5)) + "&offset=" + std::to_string(pick(4));
      if (pick(2)) q += "&min_amount=" + std::to_string(pick(20000));
      if (pick(2)) q += "&min_n=" + std::to_string(pick(2000));
      if (pick(2)) q += sort({"revenue", "n"});
    } else if (shape == "_by_day") {  // up to 40 days × 5 regions (one NULL)
      q = "limit=" + std::to_string(1 + pick(120)) + "&offset=" + std::to_string(pick(40));
      if (pick(2)) q += regions();
      if (pick(2)) q += "&from=" + day(1);
      if (pick(2)) q += "&to=" + day(15);
      if (pick(3) == 0) q += "&min_amount=" + std::to_string(pick(20000));
      if (pick(2)) q += sort({"revenue", "n", "day", "region", "best"});
    } else if (shape == "_totals") {
      q.clear();
      if (pick(2)) q += "&tenant=" + std::to_string(pick(6));  // 5: no rows
      if (pick(2)) q += regions();
      if (pick(2)) q += std::string("&flag=") + (pick(2) ? "true" : "false");
      return q.empty() ? q : q.substr(1);
    } else if (shape == "_picks") {
      if (pick(2)) q += "&min_price=" + std::to_string(pick(1000)) + "." + std::to_string(pick(100));
      if (pick(2)) q += std::string("&flag=") + (pick(2) ? "true" : "false");
      if (pick(3) == 0) q += "&from=" + day(1);
      if (pick(3) == 0) q += "&to=" + day(15);
      if (pick(2)) q += sort({"price", "day", "region", "flag"});
    } else {
      if (shape == "_by_tenant") q = "limit=" + std::to_string(1 + pick(6)) + "&offset=" + std::to_string(pick(3));  // 5 tenants
      if (pick(shape == "_by_tenant" ? 3 : 2) == 0) q += "&tenant=" + std::to_string(pick(5));
      if (pick(2)) q += "&min_amount=" + std::to_string(pick(20000));
      if (pick(2)) q += sort(shape == "_rows" ? std::vector<std::string>{"amount", "tenant", "price", "score", "day", "region"}
                                              : std::vector<std::string>{"amount", "tenant"});
    }
    if (pick(3) == 0) q += "&total=true";
    return q;
  };
  // The smart client, told of one member only: it finds the rest in the shard map.
  ClientOptions client_options;
  client_options.members = {members_[1].id};
  client_options.cluster_secret = kClusterSecret;
  auto client = Client::Create(client_options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const std::vector<std::string> shapes = {"_rows", "_by_tenant", "_stats", "_by_day", "_totals", "_picks"};
  std::map<std::string, int> compared, answered_rows;
  for (int request = 0; request < kGeneratedRequests && !HasFailure(); ++request) {
    const std::string& shape = shapes[static_cast<size_t>(pick(static_cast<int>(shapes.size())))];
    const std::string q = query(shape);
    const Member& via = members_[static_cast<size_t>(pick(3))];
    HttpClient api("127.0.0.1", std::stoi(via.id.substr(via.id.find(':') + 1)));
    auto sharded = api.Get("/v1/orders" + shape + "?" + q);
    auto whole = api.Get("/v1/whole" + shape + "?" + q);
    ASSERT_EQ(sharded.status, 200) << shape << "?" << q << "\n" << sharded.body << "\n" << via.process->log();
    ASSERT_EQ(whole.status, 200) << shape << "?" << q << "\n" << whole.body;
    json::value a = json::parse(sharded.body), b = json::parse(whole.body);
    ExpectSameData(b.at("data"), a.at("data"), "any member " + shape + "?" + q);
    const auto& meta = a.at("meta").as_object();
    EXPECT_EQ(meta.at("shards").as_array().size(), 4u) << sharded.body;
    if (b.at("meta").as_object().contains("total")) {
      EXPECT_EQ(meta.at("total"), b.at("meta").at("total")) << q;
    }
    // The same through the smart client (map steps to the members it picks, reduced here).
    auto smart = (*client)->Get("/v1/orders" + shape + "?" + q);
    ASSERT_TRUE(smart.ok()) << smart.status().ToString();
    ASSERT_EQ(smart->status, 200) << smart->body;
    json::value c = json::parse(smart->body);
    ExpectSameData(b.at("data"), c.at("data"), "smart client " + shape + "?" + q);
    EXPECT_EQ(smart->shards.size(), 4u);
    if (b.at("meta").as_object().contains("total")) {
      EXPECT_EQ(c.at("meta").at("total"), b.at("meta").at("total")) << "client " << q;
    }
    ++compared[shape];
    answered_rows[shape] += !b.at("data").as_array().empty();
  }
  for (const auto& shape : shapes) {
    std::fprintf(stderr, "%s: %d requests, %d with rows\n", shape.c_str(), compared[shape], answered_rows[shape]);
    EXPECT_GE(compared[shape], kGeneratedRequests / 12) << shape;  // every shape, several times,
    EXPECT_GE(answered_rows[shape] * 3, compared[shape] * 2) << shape;  // mostly with rows to compare
  }
  int total = 0;
  for (const auto& [shape, n] : compared) total += n;
  EXPECT_EQ(total, kGeneratedRequests);
  // The client spreads map steps over the members, and asks the same request of the same
  // request shape anywhere: a bad param is refused as any member refuses it; an endpoint that is
  // not sharded is answered as it is.
  {
    std::set<std::string> used;
    for (int i = 0; i < 12; ++i) {
      auto smart = (*client)->Get("/v1/orders_stats?min_amount=" + std::to_string(i));
      ASSERT_TRUE(smart.ok()) << smart.status().ToString();
      for (const auto& shard : smart->shards) used.insert(shard.member);
    }
    EXPECT_EQ(used, holding);
    auto refused = (*client)->Get("/v1/orders_stats?min_amount=many");
    ASSERT_TRUE(refused.ok()) << refused.status().ToString();
    EXPECT_EQ(refused->status, 422) << refused->body;
    auto plain = (*client)->Get("/v1/whole_stats?min_n=2");
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_EQ(plain->status, 200) << plain->body;
    EXPECT_TRUE(plain->shards.empty());
    auto smart = (*client)->Get("/v1/orders_stats?min_n=2");
    ASSERT_TRUE(smart.ok());
    EXPECT_EQ(json::serialize(json::parse(smart->body).at("data")), json::serialize(json::parse(plain->body).at("data")));
    // Shards that do not exist: 422 listing them (from a member that holds a shard; one that
    // holds none sends the client elsewhere with a 503).
    const std::string& holder = *holding.begin();
    HttpClient api("127.0.0.1", std::stoi(holder.substr(holder.find(':') + 1)));
    auto bad = api.Request("GET", "/v1/orders_stats",
                           {{"X-Dram-Scatter", "map"}, {"X-Dram-Shards", "1@x,7@y,9@z"}, {"X-Dram-Cluster-Secret", kClusterSecret}}, "");
    EXPECT_EQ(bad.status, 422) << bad.body;
    EXPECT_NE(bad.body.find("no shard 7, 9"), std::string::npos) << bad.body;
    auto twice = api.Request("GET", "/v1/orders_stats",
                             {{"X-Dram-Scatter", "map"}, {"X-Dram-Shards", "1@x,1@x"}, {"X-Dram-Cluster-Secret", kClusterSecret}}, "");
    EXPECT_EQ(twice.status, 422) << twice.body;
    // Map steps and the shard map only for the cluster's own clients (the secret): they carry
    // more than the endpoint shows.
    for (const char* kind : {"map", "plan"}) {
      auto refused = api.Request("GET", "/v1/orders_stats", {{"X-Dram-Scatter", kind}, {"X-Dram-Shards", "1@x"}}, "");
      EXPECT_EQ(refused.status, 403) << refused.body;
      auto wrong = api.Request("GET", "/v1/orders_stats",
                               {{"X-Dram-Scatter", kind}, {"X-Dram-Shards", "1@x"}, {"X-Dram-Cluster-Secret", "wrong"}}, "");
      EXPECT_EQ(wrong.status, 403) << wrong.body;
    }
    ClientOptions stranger;
    stranger.members = {members_[0].id};
    auto without = Client::Create(stranger);
    auto denied = (*without)->Get("/v1/orders_stats");
    ASSERT_TRUE(denied.ok());
    EXPECT_EQ(denied->status, 403) << denied->body;
    // The CLI.
    CommandResult cli = RunCommand({DramBinary(), "client", "query", "/v1/orders_stats?min_n=2", "--members", members_[2].id, "--verbose"},
                                   {{"DRAM_CLUSTER_SECRET", kClusterSecret}});
    ASSERT_EQ(cli.exit_code, 0) << cli.output;
    const size_t body = cli.output.find("{\"data\"");
    ASSERT_NE(body, std::string::npos) << cli.output;
    EXPECT_EQ(json::serialize(json::parse(cli.output.substr(body)).at("data")), json::serialize(json::parse(plain->body).at("data")));
    EXPECT_NE(cli.output.find("shard 3: "), std::string::npos) << cli.output;
  }
  // A merged answer is cached under every shard's snapshot: asked again, the same rows from the cache.
  {
    HttpClient api("127.0.0.1", std::stoi(members_[0].id.substr(members_[0].id.find(':') + 1)));
    // (Above the generated requests' range of min_amount, so the first is a miss.)
    auto first = api.Get("/v1/orders_by_tenant?min_amount=20077");
    auto again = api.Get("/v1/orders_by_tenant?min_amount=20077");
    ASSERT_EQ(first.status, 200) << first.body;
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(json::parse(first.body).at("meta").at("cache"), json::value("miss")) << first.body;
    EXPECT_EQ(json::parse(again.body).at("meta").at("cache"), json::value("hit")) << again.body;
    // The coordinated answer says where its time went, and that its reduce ran as merge steps
    // (engine::MergePartials), not as a query; the cached one ran nothing.
    const std::string timing = first.Header("server-timing");
    std::smatch phases;
    ASSERT_TRUE(std::regex_match(timing, phases,
                                 std::regex(R"(gather;dur=([0-9.]+), reduce;dur=([0-9.]+);desc="merge", total;dur=([0-9.]+))")))
        << timing;
    const double gather = std::stod(phases[1]), reduce = std::stod(phases[2]), total = std::stod(phases[3]);
    EXPECT_GT(gather, 0);
    EXPECT_GT(reduce, 0);
    EXPECT_LE(gather + reduce, total + 0.002) << timing;  // (each rounded to 0.001 ms)
    double slowest = 0;
    const json::value first_parsed = json::parse(first.body);
    for (const auto& shard : first_parsed.at("meta").at("shards").as_array()) {
      slowest = std::max(slowest, shard.at("ms").to_number<double>());
    }
    EXPECT_LE(slowest, gather + 0.01) << timing << " " << first.body;  // (meta's ms are rounded to 0.01)
    EXPECT_EQ(again.Header("server-timing"), "") << "a cache hit ran no gather";
    EXPECT_EQ(json::serialize(json::parse(first.body).at("data")), json::serialize(json::parse(again.body).at("data")));
    EXPECT_EQ(json::parse(first.body).at("meta").at("shards"), json::parse(again.body).at("meta").at("shards"));
  }
  // Members counted the map steps they served under their own path (not as API requests): the
  // smart client's, and the coordinators' (a member holding every shard coordinates alone).
  bool counted_client = false, counted_map = false, some_member_lacks_a_shard = false;  // (holds 1 to 3)
  for (const Member& member : members_) {
    HttpClient admin("127.0.0.1", member.process->admin_port());
    const std::string metrics = admin.Get("/metrics").body;
    counted_client = counted_client || metrics.find("dram_requests_total{endpoint=\"/_cluster/v1/client-map\",status=\"200\"}") !=
                                           std::string::npos;
    counted_map =
        counted_map || metrics.find("dram_requests_total{endpoint=\"/_cluster/v1/map\",status=\"200\"}") != std::string::npos;
    int held = 0;
    for (const auto& [copy, holders] : settled) held += copy.first == "orders" && holders.contains(member.id);
    some_member_lacks_a_shard = some_member_lacks_a_shard || (held > 0 && held < 4);
  }
  EXPECT_TRUE(counted_client);
  if (some_member_lacks_a_shard) {
    EXPECT_TRUE(counted_map);
  }

  // A member too small to be given a shard (capacity 1 MB against the others' default weight)
  // still answers: it hands the request to a member that holds one.
  {
    Member small;
    small.id = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
    small.cache = std::make_unique<TempDir>();
    auto env = S3TestEnvironment();
    env["DRAM_CLUSTER_SECRET"] = kClusterSecret;
    small.process = ServerProcess::Launch(
        {DramBinary(), "serve", "--catalog", catalog_, "--cluster", cluster_, "--etcd", etcd_->endpoints(), "--advertise", small.id,
         "--listen", small.id, "--admin-listen", "127.0.0.1:0", "--cache-dir", small.cache->path(), "--lease-ttl", "2",
         "--rereplicate-after", "8000", "--poll-interval", "200", "--capacity", "1MB", "--ready-file", "{READY}"},
        env);
    ASSERT_TRUE(small.process);
    ASSERT_TRUE(WaitFor([&] { return Ready()[{"whole", 0}].contains(small.id); }, 30s));
    bool holds_orders = false;
    for (const auto& [copy, holders] : Ready()) holds_orders = holds_orders || (copy.first == "orders" && holders.contains(small.id));
    HttpClient api("127.0.0.1", std::stoi(small.id.substr(small.id.find(':') + 1)));
    auto forwarded = api.Get("/v1/orders_by_tenant?min_amount=100");
    ASSERT_EQ(forwarded.status, 200) << forwarded.body << "\n" << small.process->log();
    EXPECT_EQ(json::serialize(json::parse(forwarded.body).at("data")),
              json::serialize(json::parse(api.Get("/v1/whole_by_tenant?min_amount=100").body).at("data")));
    if (holds_orders) std::fprintf(stderr, "note: the small member was given a shard; the request was not forwarded\n");
    small.process->Stop();
    ASSERT_TRUE(WaitFor([&] { return Settled("orders", 4, 2); }, 30s));
  }

  // Members refuse a map step without the secret (the path is then like any unknown one).
  {
    HttpClient api("127.0.0.1", std::stoi(members_[0].id.substr(members_[0].id.find(':') + 1)));
    auto refused = api.Request("POST", "/_cluster/v1/map", {{"Content-Type", "application/json"}},
                               R"({"database":"orders","shards_total":4,"shards":[],"sql":"SELECT 1","values":[]})");
    EXPECT_NE(refused.status, 200) << refused.body;
    auto wrong = api.Request("POST", "/_cluster/v1/map", {{"X-Dram-Cluster-Secret", "wrong"}},
                             R"({"database":"orders","shards_total":4,"shards":[],"sql":"SELECT 1","values":[]})");
    EXPECT_NE(wrong.status, 200) << wrong.body;
  }

  // The member that stays holds a shard; the other two are killed one after the other.
  std::vector<size_t> order = {0, 1, 2};
  std::stable_partition(order.begin(), order.end(), [&](size_t i) { return holding.contains(members_[i].id); });
  const Member& kept = members_[order[0]];
  const Member& first_victim = members_[order[1]];
  const Member& second_victim = members_[order[2]];
  // A member killed: its shards' other copies answer, within the request, while its records
  // still say ready (until its lease expires).
  ::kill(first_victim.process->pid(), SIGKILL);
  HttpClient api("127.0.0.1", std::stoi(kept.id.substr(kept.id.find(':') + 1)));
  const int64_t retries_before = (*client)->stats().retries;
  for (int request = 0; request < 20; ++request) {
    auto answer = api.Get("/v1/orders_by_tenant");
    ASSERT_EQ(answer.status, 200) << answer.body;
    const std::string whole = json::serialize(json::parse(api.Get("/v1/whole_by_tenant").body).at("data"));
    EXPECT_EQ(json::serialize(json::parse(answer.body).at("data")), whole);
    // The client too: a map step sent to the dead member is sent to another copy.
    auto smart = (*client)->Get("/v1/orders_by_tenant?limit=50&offset=" + std::to_string(request % 3));
    ASSERT_TRUE(smart.ok()) << smart.status().ToString();
    auto again = json::serialize(json::parse(api.Get("/v1/whole_by_tenant?limit=50&offset=" + std::to_string(request % 3)).body).at("data"));
    EXPECT_EQ(json::serialize(json::parse(smart->body).at("data")), again);
  }
  EXPECT_GT((*client)->stats().retries, retries_before);

  // A second member killed: shards that the kept member does not hold have no copy left. The answer is
  // a 503 naming them, or, asked for, what the remaining shards hold, flagged partial.
  std::vector<int64_t> only_elsewhere;
  ReadyMap ready = Ready();
  for (int k = 0; k < 4; ++k) {
    if (!ready[{"orders", k}].contains(kept.id)) only_elsewhere.push_back(k);
  }
  ::kill(second_victim.process->pid(), SIGKILL);
  if (!only_elsewhere.empty()) {
    // (A request answered before would still come from the cache: its shards' snapshots are
    // immutable, and the dead members' records stay until their leases run out.)
    auto refused = api.Get("/v1/orders_by_tenant?min_amount=4321");
    EXPECT_EQ(refused.status, 503) << refused.body;
    auto smart = (*client)->Get("/v1/orders_by_tenant?min_amount=4321");
    EXPECT_EQ(smart.status().code(), StatusCode::kUnavailable) << smart.status().ToString();
    // "shard K" or "shards K, L": the client answers as soon as one shard has no copy left, so
    // it names those lost in that round, one or more of them.
    std::string lost;
    for (int64_t k : only_elsewhere) lost += (lost.empty() ? "" : "|") + std::to_string(k);
    EXPECT_TRUE(std::regex_search(smart.status().message(), std::regex("shards? ([0-9]+, )*(" + lost + ")\\b")))
        << smart.status().ToString();
    EXPECT_NE(refused.body.find("no ready copy"), std::string::npos) << refused.body;
    EXPECT_NE(refused.body.find(std::to_string(only_elsewhere.front())), std::string::npos) << refused.body;
    auto partial = api.Get("/v1/orders_by_tenant?min_amount=4321&partial=allow");
    ASSERT_EQ(partial.status, 200) << partial.body;
    json::value parsed = json::parse(partial.body);
    EXPECT_EQ(parsed.at("meta").at("partial"), json::value(true)) << partial.body;
    json::array expected;
    for (int64_t k : only_elsewhere) expected.push_back(k);
    EXPECT_EQ(parsed.at("meta").at("missing_shards"), json::value(expected)) << partial.body;
    EXPECT_EQ(parsed.at("meta").at("shards").as_array().size(), 4 - only_elsewhere.size()) << partial.body;
  }
}

// The smart client on a cluster with keys: each tenant gets its own rows through every member's
// map step, a refusal comes back as the members give it, and a member made slow now and then
// (behind the fault proxy) is hedged within the budget.
TEST_F(ClusterTest, TheSmartClientKeepsTenantsApartAndHedgesASlowMember) {
  TempDir project;
  project.Write("dram.yml", "engine:\n  threads: 1\n  pool_size: 2\nauth:\n  mode: keys\n");
  project.Write("datasets/orders.yml", "name: orders\nsource: " + data_ + "/shop\nreplicas: 2\nshards: 3\nglobal: [tenants]\n");
  project.Write("endpoints/mine.yml", R"(name: mine
dataset: orders
tenant_column: tenant
map: |
  SELECT CAST(o.tenant AS VARCHAR) AS tenant, t.name, count(*) AS n, sum(o.amount) AS revenue
  FROM orders o JOIN tenants t USING (tenant) GROUP BY ALL
reduce: |
  SELECT tenant, name, sum(n) AS n, sum(revenue) AS revenue FROM partials GROUP BY tenant, name
order_by: [tenant]
)");
  // Split by the tenant column: a tenant's request needs one shard.
  project.Write("datasets/by_tenant.yml", "name: by_tenant\nsource: " + data_ + "/shop\nreplicas: 2\nshards: 3\nshard_by: tenant\n");
  project.Write("endpoints/my_orders.yml", R"(name: my_orders
dataset: by_tenant
table: orders
tenant_column: tenant
order_by: [id]
total: true
)");
  project.Write("endpoints/orders_of.yml", R"(name: orders_of
dataset: by_tenant
table: orders
params:
  tenant: {type: integer, required: true}
filters:
  - {column: tenant, op: eq, param: tenant}
group_by: [tenant]
select: [tenant, {agg: count, as: n}, {column: amount, agg: sum, as: revenue}]
)");
  project.Write("endpoints/totals.yml", R"(name: totals
dataset: orders
table: orders
params:
  min_amount: {type: integer}
filters:
  - {column: amount, op: gte, param: min_amount}
group_by: [tenant]
select: [tenant, {column: amount, agg: sum, as: revenue}, {agg: count, as: n}]
order_by: [tenant]
cache: false
)");
  const std::string key1 = CreateKey(project, "1"), key2 = CreateKey(project, "2");
  CommandResult applied = RunCommand({DramBinary(), "apply", project.path(), "--catalog", catalog_}, S3TestEnvironment());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  // Two members, each with a copy of every shard; the second is reached (by members and clients
  // alike) through the fault proxy.
  StartMember();
  const int real_port = FreeLoopbackPort();
  FaultProxy proxy("127.0.0.1", real_port);
  {
    Member slow;
    slow.id = "127.0.0.1:" + std::to_string(proxy.port());
    slow.listen = "127.0.0.1:" + std::to_string(real_port);
    slow.cache = std::make_unique<TempDir>();
    slow.process = LaunchMember(slow);
    ASSERT_TRUE(slow.process);
    members_.push_back(std::move(slow));
  }
  ASSERT_TRUE(WaitFor([&] { return PlacementDone("orders", 3, 2) && PlacementDone("by_tenant", 3, 2); }, 60s));

  // A request that pins the shard column (the caller's tenant, or an eq filter) is asked of the
  // one shard holding it, through a member and through the client alike.
  {
    ClientOptions options;
    options.members = {members_[0].id};
    options.cluster_secret = kClusterSecret;
    options.api_key = key1;
    auto client = Client::Create(options);
    ASSERT_TRUE(client.ok());
    HttpClient api("127.0.0.1", std::stoi(members_[0].id.substr(members_[0].id.find(':') + 1)));
    auto via_member = api.Get("/v1/my_orders?limit=3", {{"X-API-Key", key1}});
    ASSERT_EQ(via_member.status, 200) << via_member.body;
    auto smart = (*client)->Get("/v1/my_orders?limit=3");
    ASSERT_TRUE(smart.ok() && smart->status == 200) << (smart.ok() ? smart->body : smart.status().ToString());
    for (const std::string& body : {via_member.body, smart->body}) {
      json::value parsed = json::parse(body);
      EXPECT_EQ(parsed.at("meta").at("shards").as_array().size(), 1u) << body;
      EXPECT_EQ(parsed.at("meta").at("total"), json::value(kFiles * kRowsPerFile / 5)) << body;
      for (const auto& row : parsed.at("data").as_array()) EXPECT_EQ(row.at("tenant"), json::value(1)) << body;
      EXPECT_EQ(parsed.at("data").as_array().size(), 3u);
      EXPECT_EQ(parsed.at("data").at(0).at("id"), json::value(1)) << body;  // the tenant's first row
    }
    EXPECT_EQ(smart->shards.size(), 1u);
    // Asked again of the member: from its cache (the key names every shard's snapshot).
    auto again = api.Get("/v1/my_orders?limit=3", {{"X-API-Key", key1}});
    EXPECT_EQ(json::parse(again.body).at("meta").at("cache"), json::value("hit")) << again.body;
    EXPECT_EQ(json::serialize(json::parse(again.body).at("data")), json::serialize(json::parse(via_member.body).at("data")));
    for (int tenant = 0; tenant < 5; ++tenant) {
      auto one = (*client)->Get("/v1/orders_of?tenant=" + std::to_string(tenant));
      ASSERT_TRUE(one.ok() && one->status == 200) << (one.ok() ? one->body : one.status().ToString());
      EXPECT_EQ(one->shards.size(), 1u);
      json::value row = json::parse(one->body).at("data").at(0);
      EXPECT_EQ(row.at("n"), json::value(kFiles * kRowsPerFile / 5)) << one->body;
      auto member = api.Get("/v1/orders_of?tenant=" + std::to_string(tenant), {{"X-API-Key", key2}});
      EXPECT_EQ(json::serialize(json::parse(member.body).at("data")), json::serialize(json::parse(one->body).at("data")));
      EXPECT_EQ(json::parse(member.body).at("meta").at("shards").as_array().size(), 1u) << member.body;
    }
  }

  // Tenants: every shard keeps only the caller's rows.
  for (const auto& [tenant, key] : std::vector<std::pair<std::string, std::string>>{{"1", key1}, {"2", key2}}) {
    ClientOptions options;
    options.members = {members_[0].id};
    options.cluster_secret = kClusterSecret;
    options.api_key = key;
    auto client = Client::Create(options);
    ASSERT_TRUE(client.ok());
    for (int i = 0; i < 5; ++i) {
      auto mine = (*client)->Get("/v1/mine");
      ASSERT_TRUE(mine.ok()) << mine.status().ToString();
      ASSERT_EQ(mine->status, 200) << mine->body;
      EXPECT_EQ(mine->shards.size(), 3u);
      json::array rows = json::parse(mine->body).at("data").as_array();
      ASSERT_EQ(rows.size(), 1u) << mine->body;
      EXPECT_EQ(rows[0].at("tenant"), json::value(tenant)) << mine->body;
      EXPECT_EQ(rows[0].at("name"), json::value("tenant " + tenant)) << mine->body;
      EXPECT_EQ(rows[0].at("n"), json::value(kFiles * kRowsPerFile / 5)) << mine->body;
    }
  }
  {
    ClientOptions options;
    options.members = {members_[1].id};
    auto anonymous = Client::Create(options);
    auto refused = (*anonymous)->Get("/v1/mine");
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->status, 401) << refused->body;
    // A map step asked directly without a key is refused the same way.
    HttpClient api("127.0.0.1", std::stoi(members_[1].id.substr(members_[1].id.find(':') + 1)));
    auto direct = api.Request("GET", "/v1/mine", {{"X-Dram-Scatter", "map"}, {"X-Dram-Shards", "0@x"}}, "");
    EXPECT_EQ(direct.status, 401) << direct.body;
  }

  // Hedging: one map step in 50 to the proxied member takes kDelay more. (The shard map is asked
  // of the other member: a slow shard map cannot be hedged.)
  constexpr auto kDelay = 1000ms;
  auto run = [&](bool hedge, int requests) {
    ClientOptions options;
    options.members = {members_[0].id};
    options.cluster_secret = kClusterSecret;
    options.api_key = key1;
    options.hedge = hedge;
    auto client = Client::Create(options);
    EXPECT_TRUE(client.ok());
    std::vector<double> times;
    for (int i = 0; i < requests; ++i) {
      if (i % 50 == 25) proxy.Set(Fault::kSlow, 1, "GET", "/v1/totals", kDelay);
      const auto started = std::chrono::steady_clock::now();
      auto answer = (*client)->Get("/v1/totals?min_amount=" + std::to_string(i % 97));
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
      EXPECT_TRUE(answer.ok() && answer->status == 200) << (answer.ok() ? answer->body : answer.status().ToString());
    }
    std::sort(times.begin(), times.end());
    return std::pair(times[times.size() * 99 / 100], (*client)->stats());
  };
  // Unhedged, the p99 of 150 requests is the 3rd slowest: one of the 3 slow ones. Hedged, it is
  // the 4th slowest of 400, so up to 3 of the 8 slow steps may go unhedged (a new client knows no
  // member's p95 before 20 answers of it; the 5% budget may be spent on ordinary late steps).
  // Sanitizer builds (a step takes ~300 ms under TSan): the slowest of 100, and the 3rd slowest
  // of 250 (2 of 5 slow steps may go unhedged).
  auto [unhedged_p99, unhedged] = run(false, kSanitized ? 100 : 150);
  auto [hedged_p99, hedged] = run(true, kSanitized ? 250 : 400);
  std::fprintf(stderr, "p99 with one slow map step in 50: unhedged %.1f ms, hedged %.1f ms; hedges %lld of %lld map requests\n",
               unhedged_p99, hedged_p99, static_cast<long long>(hedged.hedges), static_cast<long long>(hedged.map_requests));
  const double delay_ms = std::chrono::duration<double, std::milli>(kDelay).count();
  EXPECT_GE(unhedged_p99, delay_ms);
  // Hedging took most of the injected delay off the tail (Release: ~990 of 1,000 ms). Stated as
  // time saved rather than a ratio. Not asserted in sanitizer builds: an ordinary step takes a few
  // hundred ms there and the hedge fires only after the member's p95 of those, so what is saved
  // swings from run to run (TSan: 493 ms saved in one CI run, 18 ms in another, hedges 18 of 406
  // both within budget); the hedges themselves are still checked below.
  if (!kSanitized) {
    EXPECT_LT(hedged_p99, unhedged_p99 - 0.5 * delay_ms);
  }
  EXPECT_GE(hedged.hedges, 1);
  EXPECT_LE(static_cast<double>(hedged.hedges), 0.05 * static_cast<double>(hedged.map_requests));
  EXPECT_EQ(unhedged.hedges, 0);
}

// New data arrives while requests stream in, through members and through the smart client: each
// copy refreshes on its own timer, so for a while some shards have the new data and others not.
// No answer mixes the two: every shard of an answer is at one data version, and the rows counted
// are either all the old ones or all the new ones.
TEST_F(ClusterTest, ARefreshDuringAQueryStreamNeverMixesDataVersions) {
  TempDir project;
  project.Write("dram.yml", "engine:\n  threads: 1\n  pool_size: 2\n");
  project.Write("datasets/orders.yml",
                "name: orders\nsource: " + data_ + "/shop\nreplicas: 2\nshards: 3\nglobal: [tenants]\nrefresh: 1s\n");
  project.Write("endpoints/totals.yml", R"(name: totals
dataset: orders
table: orders
group_by: [tenant]
select: [tenant, {agg: count, as: n}]
order_by: [tenant]
cache: false
)");
  CommandResult applied = RunCommand({DramBinary(), "apply", project.path(), "--catalog", catalog_}, S3TestEnvironment());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  for (int i = 0; i < 3; ++i) StartMember();
  // (A member that ends up holding no shard hands its requests to one that does.)
  ASSERT_TRUE(WaitFor([&] { return PlacementDone("orders", 3, 2); }, 60s));
  ClientOptions options;
  options.members = {members_[0].id};
  options.cluster_secret = kClusterSecret;
  auto client = Client::Create(options);
  ASSERT_TRUE(client.ok());
  constexpr int64_t kOld = kFiles * kRowsPerFile, kAdded = 700;
  // An answer's rows counted, and the data versions of its shards.
  auto count_rows = [](const json::value& parsed, std::set<std::string>& versions) {
    int64_t rows = 0;
    for (const auto& row : parsed.at("data").as_array()) rows += row.at("n").to_number<int64_t>();
    for (const auto& shard : parsed.at("meta").at("shards").as_array()) {
      const std::string snapshot(shard.at("snapshot").as_string());
      versions.insert(snapshot.substr(0, snapshot.find('-')));
    }
    return rows;
  };
  // One answer: its rows counted, and whether its shards were all at one data version.
  auto check = [&](const std::string& body, const std::string& via) -> int64_t {
    std::set<std::string> versions;
    const int64_t rows = count_rows(json::parse(body), versions);
    EXPECT_EQ(versions.size(), 1u) << via << ": " << body;
    EXPECT_TRUE(rows == kOld || rows == kOld + kAdded) << via << ": " << rows << " rows: " << body;
    return rows;
  };
  // A stale read (?consistency=stale) may mix versions, and then must say so: meta.stale, with the
  // shards that answered from a replaced version and the age of its oldest data.
  int stale_answers = 0, stale_flagged = 0;
  auto check_stale = [&](const std::string& body, const std::string& via) {
    const json::value parsed = json::parse(body);
    std::set<std::string> versions;
    const int64_t rows = count_rows(parsed, versions);
    const auto& meta = parsed.at("meta").as_object();
    const bool flagged = meta.contains("stale") && meta.at("stale").as_bool();
    if (versions.size() > 1) {
      EXPECT_TRUE(flagged) << via << ": versions mixed, not flagged: " << body;
    }
    if (flagged) {
      EXPECT_TRUE(meta.contains("stale_shards") && meta.at("stale_shards").is_array()) << body;
      EXPECT_TRUE(meta.contains("stale_age_s") && meta.at("stale_age_s").as_int64() >= 0) << body;
    } else {
      EXPECT_TRUE(rows == kOld || rows == kOld + kAdded) << via << ": " << rows << " rows: " << body;
    }
    EXPECT_TRUE(rows >= kOld && rows <= kOld + kAdded) << via << ": " << rows << " rows: " << body;
    stale_answers++;
    stale_flagged += flagged;
  };
  int old_answers = 0, new_answers = 0;
  auto ask = [&](int i) {
    const Member& via = members_[static_cast<size_t>(i % 3)];
    HttpClient api("127.0.0.1", std::stoi(via.id.substr(via.id.find(':') + 1)));
    auto answer = api.Get("/v1/totals");
    EXPECT_EQ(answer.status, 200) << answer.body;
    if (answer.status == 200) (check(answer.body, "member " + via.id) == kOld ? old_answers : new_answers)++;
    auto smart = (*client)->Get("/v1/totals");
    EXPECT_TRUE(smart.ok() && smart->status == 200) << (smart.ok() ? smart->body : smart.status().ToString());
    if (smart.ok() && smart->status == 200) (check(smart->body, "client") == kOld ? old_answers : new_answers)++;
    auto stale = api.Get("/v1/totals?consistency=stale");
    EXPECT_EQ(stale.status, 200) << stale.body;
    if (stale.status == 200) check_stale(stale.body, "member " + via.id + ", stale");
    auto smart_stale = (*client)->Get("/v1/totals?consistency=stale");
    EXPECT_TRUE(smart_stale.ok() && smart_stale->status == 200) << (smart_stale.ok() ? smart_stale->body : smart_stale.status().ToString());
    if (smart_stale.ok() && smart_stale->status == 200) check_stale(smart_stale->body, "client, stale");
  };
  for (int i = 0; i < 10; ++i) ask(i);
  EXPECT_EQ(new_answers, 0);
  EXPECT_EQ(stale_flagged, 0) << "nothing is stale before new data arrives";
  // New rows in a new file (it falls in one shard; every shard's data version changes).
  {
    TempDir scratch;
    scratch.Write("gen.sql", "COPY (SELECT i AS id, i % 5 AS tenant, i * 3 AS amount FROM range(" + std::to_string(kOld) + ", " +
                                 std::to_string(kOld + kAdded) + ") t(i)) TO '" + scratch.path() + "/new.parquet' (FORMAT parquet);\n");
    ASSERT_EQ(RunCommand({DramSqlBinary(), scratch.path() + "/gen.sql"}).exit_code, 0);
    auto store = store::OpenStore(data_, S3TestLookup());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Put("shop/orders/part-new.parquet", ReadFile(scratch.path() + "/new.parquet")).ok());
  }
  // Asked until every copy has the new data (each refreshes within a second or so of the others).
  const auto until = std::chrono::steady_clock::now() + 60s;
  int streak = 0;
  for (int i = 0; streak < 30 && std::chrono::steady_clock::now() < until && !HasFailure(); ++i) {
    const int before = new_answers;
    ask(i);
    streak = new_answers == before + 2 ? streak + 1 : 0;
  }
  EXPECT_EQ(streak, 30) << "the new data did not reach every answer within 60 s";
  std::fprintf(stderr, "answers with the old data: %d, with the new: %d; stale reads %d, flagged stale %d\n", old_answers,
               new_answers, stale_answers, stale_flagged);
  // Once every copy has the new data, a stale read is not stale.
  const int flagged_before = stale_flagged;
  for (int i = 0; i < 6; ++i) ask(i);
  EXPECT_EQ(stale_flagged, flagged_before);
  EXPECT_GT(old_answers, 0);
}

TEST_F(ClusterTest, AnAnalysisWrittenInCppRunsItsMapWhereTheShardsAreAndItsReduceOnTheMemberAsked) {
  TempDir project;
  project.Write("dram.yml", "engine:\n  threads: 1\n  pool_size: 2\n");
  project.Write("datasets/orders.yml", "name: orders\nsource: " + data_ + "/shop\nreplicas: 1\nshards: 4\nglobal: [tenants]\n");
  CommandResult applied = RunCommand({DramBinary(), "apply", project.path(), "--catalog", catalog_}, S3TestEnvironment());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  // One copy of each shard: every request needs the other member's map steps too.
  StartMember(/*example=*/true);
  StartMember(/*example=*/true);
  ASSERT_TRUE(WaitFor([&] { return PlacementDone("orders", 4, 1); }, 60s));
  // Until each member sees both holders (its own view of the shard map follows etcd's).
  auto both_seen = [&] {
    for (const auto& member : members_) {
      HttpClient api("127.0.0.1", std::stoi(member.id.substr(member.id.find(':') + 1)));
      if (api.Get("/v1/largest_per_shard").status != 200) return false;
    }
    return true;
  };
  ASSERT_TRUE(WaitFor(both_seen, 30s));

  // What the analysis must answer, from the data's own definition (orders: id i, tenant i % 5,
  // amount 3i, for i < kFiles * kRowsPerFile).
  auto expected = [](int64_t min_amount) {
    std::map<int64_t, std::pair<int64_t, int64_t>> by_tenant;  // tenant → orders, revenue
    for (int64_t i = 0; i < kFiles * kRowsPerFile; ++i) {
      if (3 * i < min_amount) continue;
      by_tenant[i % 5].first++;
      by_tenant[i % 5].second += 3 * i;
    }
    return by_tenant;
  };
  auto number = [](const json::value& value) {
    return value.is_string() ? std::stod(std::string(value.as_string())) : value.to_number<double>();
  };
  for (const int64_t min_amount : {0, 12'001}) {
    const auto want = expected(min_amount);
    for (const auto& member : members_) {
      HttpClient api("127.0.0.1", std::stoi(member.id.substr(member.id.find(':') + 1)));
      auto answer = api.Get("/v1/tenant_average?min_amount=" + std::to_string(min_amount));
      ASSERT_EQ(answer.status, 200) << answer.body;
      json::value parsed = json::parse(answer.body);
      const auto& data = parsed.at("data").as_array();
      ASSERT_EQ(data.size(), want.size()) << answer.body;
      size_t row = 0;
      for (const auto& [tenant, totals] : want) {
        const auto& got = data[row++].as_object();
        EXPECT_EQ(number(got.at("tenant")), tenant) << answer.body;
        EXPECT_EQ(number(got.at("orders")), totals.first) << answer.body;
        EXPECT_EQ(number(got.at("revenue")), totals.second) << answer.body;
        // The reduce's own division, as DuckDB does it (a DOUBLE): the average of all the rows,
        // not of the shards' averages.
        EXPECT_DOUBLE_EQ(number(got.at("average")), static_cast<double>(totals.second) / static_cast<double>(totals.first))
            << answer.body;
      }
      // Every shard, each from the member holding it.
      const auto& shards = parsed.at("meta").at("shards").as_array();
      ASSERT_EQ(shards.size(), 4u) << answer.body;
      const ReadyMap ready = Ready();
      for (const auto& shard : shards) {
        const int k = static_cast<int>(shard.at("shard").as_int64());
        EXPECT_TRUE(ready.at({"orders", k}).contains(std::string(shard.at("member").as_string()))) << answer.body;
      }
    }
  }
  // A map step with no reduce: every shard's own row.
  HttpClient first("127.0.0.1", std::stoi(members_[0].id.substr(members_[0].id.find(':') + 1)));
  auto largest = first.Get("/v1/largest_per_shard");
  ASSERT_EQ(largest.status, 200) << largest.body;
  json::value parsed = json::parse(largest.body);
  ASSERT_EQ(parsed.at("data").as_array().size(), 4u) << largest.body;
  double rows = 0, top = 0;
  for (const auto& row : parsed.at("data").as_array()) {
    rows += number(row.at("n"));
    top = std::max(top, number(row.at("largest")));
  }
  EXPECT_EQ(rows, kFiles * kRowsPerFile);
  EXPECT_EQ(top, 3.0 * (kFiles * kRowsPerFile - 1));
  // Its params are checked like any endpoint's, before any shard is asked.
  EXPECT_EQ(first.Get("/v1/tenant_average?min_amount=x").status, 422);
  EXPECT_EQ(first.Get("/v1/tenant_average?limit_amount=1").status, 422);

  // The smart client: a C++ reduce is code in the members' binary, so a member coordinates it.
  ClientOptions options;
  options.members = {members_[1].id};
  options.cluster_secret = kClusterSecret;
  auto client = Client::Create(options);
  ASSERT_TRUE(client.ok());
  auto smart = (*client)->Get("/v1/tenant_average?min_amount=0");
  ASSERT_TRUE(smart.ok()) << smart.status().ToString();
  ASSERT_EQ(smart->status, 200) << smart->body;
  EXPECT_EQ(json::parse(smart->body).at("data").as_array().size(), 5u) << smart->body;
}

}  // namespace
}  // namespace dram::testing
