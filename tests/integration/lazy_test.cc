// Lazy databases against radosgw: only metadata at load, then each query fetches the files its
// predicates may match (partition and min/max pruning), once even under concurrent queries, within
// a disk budget; and every answer equals the one from a fully loaded copy of the same data.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "store/store_uri.h"
#include "testutil/http_client.h"
#include "testutil/s3_env.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace json = boost::json;

constexpr int kDays = 30;
// readings: one Hive partition per month of 2024, a row per minute of its first 28 days; month m's
// levels lie in [m * 100, m * 100 + 0.996].
constexpr int kMonths = 6;
constexpr const char* kToken = "lazy-admin-token-0123456789abcdef";

std::string Day(int d) {
  return std::string(d + 1 < 10 ? "2024-01-0" : "2024-01-") + std::to_string(d + 1);
}

class LazyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    prefix_ = new std::string("lazy-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    auto store = store::OpenStore(S3TestUri(*prefix_), S3TestLookup());
    ASSERT_TRUE(store.ok());
    // 30 day partitions of events; ids are disjoint ranges per day (min/max pruning), and a
    // payload column gives the files some size.
    TempDir scratch;
    std::string sql;
    for (int d = 0; d < kDays; ++d) {
      sql += "COPY (SELECT " + std::to_string(d * 10000) + " + i AS id, i % 7 AS shop, (i * 37 + " + std::to_string(d) +
             ") % 1000 AS amount, md5(i::VARCHAR || '" + std::to_string(d) + "') AS payload FROM range(" +
             std::to_string(3000 + d * 50) + ") t(i)) TO '" + scratch.path() + "/d" + std::to_string(d) +
             ".parquet' (FORMAT parquet);\n";
    }
    for (int m = 1; m <= kMonths; ++m) {
      sql += "COPY (SELECT TIMESTAMP '2024-0" + std::to_string(m) + "-01 00:00:00' + i * INTERVAL 1 MINUTE AS at, "
             "(" + std::to_string(m * 100) + " + (i % 997) / 1000)::DECIMAL(9,3) AS level, md5(i::VARCHAR) AS note FROM range(" +
             std::to_string(28 * 24 * 60) +
             ") t(i)) TO '" + scratch.path() + "/m" + std::to_string(m) + ".parquet' (FORMAT parquet);\n";
    }
    scratch.Write("gen.sql", sql);
    CommandResult generated = RunCommand({DramSqlBinary(), scratch.path() + "/gen.sql"});
    ASSERT_EQ(generated.exit_code, 0) << generated.output;
    for (int d = 0; d < kDays; ++d) {
      std::ifstream in(scratch.path() + "/d" + std::to_string(d) + ".parquet", std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      ASSERT_TRUE((*store)->Put("events/day=" + Day(d) + "/part-0.parquet", bytes).ok());
    }
    for (int m = 1; m <= kMonths; ++m) {
      std::ifstream in(scratch.path() + "/m" + std::to_string(m) + ".parquet", std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      ASSERT_TRUE((*store)->Put("readings/month=2024-0" + std::to_string(m) + "/part-0.parquet", bytes).ok());
    }
    ASSERT_TRUE((*store)->Put("shops.csv", "shop,name\n0,a\n1,b\n2,c\n3,d\n4,e\n5,f\n6,g\n").ok());
  }
  static void TearDownTestSuite() { delete prefix_; }

  void SetUp() override {
    project_.Write("dram.yml", "server: {listen: 127.0.0.1:0}\nengine: {threads: 1, pool_size: 4}\n");
    const std::string source = "source: " + S3TestUri(*prefix_) + "\n";
    project_.Write("datasets/full.yml", "name: full\n" + source);
    project_.Write("datasets/lazy.yml", "name: lazy\nlazy: true\n" + source);
    project_.Write("datasets/tight.yml", "name: tight\nlazy: true\nlazy_budget: 200KB\n" + source);
    for (const std::string dataset : {"full", "lazy", "tight"}) {
      project_.Write("endpoints/" + dataset + "_day.yml", "name: " + dataset + "_day\nversion: 1\ndataset: " + dataset +
                                                            "\ntable: events\nparams:\n  day: {type: date, required: true}\n"
                                                            "  shop: {type: integer}\nfilters:\n"
                                                            "  - {column: day, op: eq, param: day}\n"
                                                            "  - {column: shop, op: eq, param: shop}\n"
                                                            "columns: [id, shop, amount, day]\norder_by: [id]\n"
                                                            "limit: {default: 100000, max: 100000}\n");
      project_.Write("endpoints/" + dataset + "_ids.yml", "name: " + dataset + "_ids\nversion: 1\ndataset: " + dataset +
                                                            "\ntable: events\nparams:\n  from: {type: integer}\n  to: {type: integer}\n"
                                                            "filters:\n  - {column: id, op: between, param: [from, to]}\n"
                                                            "group_by: [day]\nselect:\n  - day\n  - {agg: sum, column: amount, as: total}\n"
                                                            "  - {agg: count, as: n}\norder_by: [day]\n");
      project_.Write("endpoints/" + dataset + "_hour.yml", "name: " + dataset + "_hour\nversion: 1\ndataset: " + dataset +
                                                             "\ntable: readings\nparams:\n  from: {type: timestamp}\n"
                                                             "  to: {type: timestamp}\n  at_least: {type: number}\nfilters:\n"
                                                             "  - {column: at, op: between, param: [from, to]}\n"
                                                             "  - {column: level, op: gte, param: at_least}\n"
                                                             "columns: [at, level, month]\norder_by: [at]\n"
                                                             "limit: {default: 100000, max: 100000}\n");
    }
    env_ = S3TestEnvironment();
    env_["DRAM_ADMIN_TOKEN"] = kToken;
    server_ = ServerProcess::Start(project_.path(), cache_.path(), env_);
    ASSERT_TRUE(server_);
  }

  std::string Data(const std::string& target) {
    HttpClient client("127.0.0.1", server_->api_port());
    HttpResult result = client.Get(target);
    EXPECT_EQ(result.status, 200) << target << ": " << result.body << "\n" << server_->log();
    if (result.status != 200) return "";
    return json::serialize(json::parse(result.body).at("data"));
  }
  json::object Stats(const std::string& name) {
    HttpClient admin("127.0.0.1", server_->admin_port());
    HttpResult result = admin.Get("/databases/" + name, {{"Authorization", std::string("Bearer ") + kToken}});
    EXPECT_EQ(result.status, 200) << result.body;
    return json::parse(result.body).as_object();
  }

  static std::string* prefix_;
  TempDir project_, cache_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<ServerProcess> server_;
};
std::string* LazyTest::prefix_ = nullptr;

TEST_F(LazyTest, LoadsOnlyMetadataAndASelectiveQueryFetchesUnderTenPercent) {
  json::object lazy = Stats("lazy");
  const int64_t store_bytes = lazy.at("store_bytes").to_number<int64_t>();
  EXPECT_TRUE(lazy.at("lazy").as_bool());
  EXPECT_EQ(lazy.at("fetched_bytes").to_number<int64_t>(), 0);
  EXPECT_LT(lazy.at("metadata_bytes").to_number<int64_t>(), store_bytes / 10);
  EXPECT_EQ(lazy.at("rows").to_number<int64_t>(), Stats("full").at("rows").to_number<int64_t>());

  EXPECT_EQ(Data("/v1/lazy_day?day=2024-01-07"), Data("/v1/full_day?day=2024-01-07"));
  int64_t fetched = Stats("lazy").at("fetched_bytes").to_number<int64_t>();
  EXPECT_GT(fetched, 0);
  EXPECT_LT(fetched, store_bytes / 10) << "one partition of " << kDays;
  EXPECT_EQ(Stats("lazy").at("files_cached").to_number<int64_t>(), 2);  // the day's file and shops.csv (eager)
  // The same day again: nothing more is fetched.
  EXPECT_EQ(Data("/v1/lazy_day?day=2024-01-07&shop=3"), Data("/v1/full_day?day=2024-01-07&shop=3"));
  EXPECT_EQ(Stats("lazy").at("fetched_bytes").to_number<int64_t>(), fetched);
}

TEST_F(LazyTest, AnswersEqualTheFullyLoadedCopy) {
  for (const std::string query : {"day=2024-01-01", "day=2024-01-30&shop=0", "day=2024-02-01", "day=2024-01-15&shop=6"}) {
    EXPECT_EQ(Data("/v1/lazy_day?" + query), Data("/v1/full_day?" + query)) << query;
    EXPECT_EQ(Data("/v1/tight_day?" + query), Data("/v1/full_day?" + query)) << query;
  }
  // Min/max pruning on id: ids 50000..50010 live in day 6 only; a range over days 3-4 and all days.
  for (const std::string query : {"from=50000&to=50010", "from=31000&to=41000", "", "from=999999"}) {
    EXPECT_EQ(Data("/v1/lazy_ids?" + query), Data("/v1/full_ids?" + query)) << query;
  }
  // Ad-hoc SQL reads every file; the answer matches too.
  HttpClient admin("127.0.0.1", server_->admin_port());
  auto sql = [&](const std::string& database) {
    json::object body{{"database", database}, {"format", "csv"},
                      {"sql", "SELECT e.day, s.name, sum(amount) AS t FROM events e JOIN shops s USING (shop) GROUP BY ALL ORDER BY ALL"}};
    return admin.Request("POST", "/query", {{"Authorization", std::string("Bearer ") + kToken}}, json::serialize(body)).body;
  };
  std::string full = sql("full");
  EXPECT_GT(full.size(), 1000u);
  EXPECT_EQ(sql("lazy"), full);
}

// Scale to zero: a database idle past its idle_evict closes its snapshot and deletes its files
// (cold, still ready for /ready); its next request loads it again (a lazy one: metadata first)
// and answers what it answered before; requests that arrive together share one load; a database
// in use is never evicted.
TEST_F(LazyTest, AnIdleDatabaseGoesColdAndItsNextRequestLoadsItAgain) {
  server_.reset();
  const std::string source = "source: " + S3TestUri(*prefix_) + "\n";
  project_.Write("datasets/full.yml", "name: full\nidle_evict: 2s\n" + source);
  project_.Write("datasets/lazy.yml", "name: lazy\nlazy: true\nidle_evict: 2s\n" + source);
  server_ = ServerProcess::Start(project_.path(), cache_.path(), env_);
  ASSERT_TRUE(server_);
  const std::string full_day = "/v1/full_day?day=2024-01-07&shop=3", lazy_day = "/v1/lazy_day?day=2024-01-07&shop=3";
  const std::string before = Data(full_day);
  ASSERT_GT(before.size(), 100u);
  EXPECT_EQ(Data(lazy_day), before);
  EXPECT_EQ(Data("/v1/lazy_ids?from=50000&to=50010"), Data("/v1/full_ids?from=50000&to=50010"));

  auto cold = [&](const std::string& name) { return Stats(name).at("cold").as_bool(); };
  auto wait_cold = [&] {
    for (int i = 0; i < 100 && !(cold("full") && cold("lazy")); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return cold("full") && cold("lazy");
  };
  ASSERT_TRUE(wait_cold()) << server_->log();
  EXPECT_FALSE(cold("tight"));  // no idle_evict: stays loaded
  EXPECT_FALSE(Stats("full").at("ready").as_bool());
  EXPECT_EQ(Stats("full").at("snapshot_bytes").to_number<int64_t>(), 0);
  EXPECT_FALSE(std::filesystem::exists(cache_.path() + "/full")) << "the snapshot's files are deleted";
  EXPECT_FALSE(std::filesystem::exists(cache_.path() + "/lazy"));
  HttpClient admin("127.0.0.1", server_->admin_port());
  const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", std::string("Bearer ") + kToken}};
  HttpResult ready = admin.Get("/ready", auth);
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(json::parse(ready.body).at("datasets").at("full"), "cold") << ready.body;
  HttpResult metrics = admin.Get("/metrics", auth);
  EXPECT_NE(metrics.body.find("dram_dataset_cold{dataset=\"full\"} 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("dram_dataset_ready{dataset=\"full\"} 1"), std::string::npos);

  // Eight requests at once on the cold database: one load, eight equal answers.
  const int64_t loads = Stats("full").at("loads_ok").to_number<int64_t>();
  std::vector<std::string> answers(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < answers.size(); ++i) threads.emplace_back([&, i] { answers[i] = Data(full_day); });
  for (auto& thread : threads) thread.join();
  for (const auto& answer : answers) EXPECT_EQ(answer, before);
  EXPECT_EQ(Stats("full").at("loads_ok").to_number<int64_t>(), loads + 1);
  EXPECT_FALSE(cold("full"));
  // The lazy one loads its metadata again and fetches only what the query needs.
  EXPECT_EQ(Data(lazy_day), before);
  json::object lazy = Stats("lazy");
  EXPECT_FALSE(lazy.at("cold").as_bool());
  EXPECT_LT(lazy.at("fetched_bytes").to_number<int64_t>(), lazy.at("store_bytes").to_number<int64_t>() / 10);

  // In use (a request every 400 ms for 4 s, twice the idle time): never evicted.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Data(full_day), before);
    EXPECT_FALSE(cold("full"));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  // And idle again: cold again.
  ASSERT_TRUE(wait_cold()) << server_->log();
  EXPECT_EQ(Data(full_day), before);
}

// Monthly partitions whose names are not dates: a time range prunes by the TIMESTAMP column's
// Parquet statistics, a level by the DECIMAL one's, so one hour fetches one month's file.
TEST_F(LazyTest, ATimeRangeFetchesOnlyTheMonthsItCovers) {
  auto store = store::OpenStore(S3TestUri(*prefix_), S3TestLookup());
  ASSERT_TRUE(store.ok());
  auto month_bytes = [&](int m) {
    auto head = (*store)->Head("readings/month=2024-0" + std::to_string(m) + "/part-0.parquet");
    EXPECT_TRUE(head.ok());
    return head.ok() ? head->size : 0;
  };
  const std::string hour = "from=2024-03-14T10:00:00Z&to=2024-03-14T11:00:00Z";
  std::string full = Data("/v1/full_hour?" + hour);
  EXPECT_EQ(json::parse(full).as_array().size(), 61u);
  EXPECT_EQ(Data("/v1/lazy_hour?" + hour), full);
  EXPECT_EQ(Stats("lazy").at("fetched_bytes").to_number<int64_t>(), month_bytes(3));
  // One microsecond past the end of April's last row (April 28 23:59) up to May's first minute.
  const std::string boundary = "from=2024-04-28T23:59:00.000001Z&to=2024-05-01T00:00:00Z";
  EXPECT_EQ(Data("/v1/lazy_hour?" + boundary), Data("/v1/full_hour?" + boundary));
  EXPECT_EQ(Stats("lazy").at("fetched_bytes").to_number<int64_t>(), month_bytes(3) + month_bytes(5));
  // Levels from May's very last (500.996) on, up to June's first hour: June is fetched, May was.
  const std::string level = "to=2024-06-01T01:00:00Z&at_least=500.996";
  std::string from_may = Data("/v1/full_hour?" + level);
  EXPECT_EQ(json::parse(from_may).as_array().size(), 61u + 40u);  // 40 rows of May at 500.996
  EXPECT_EQ(Data("/v1/lazy_hour?" + level), from_may);
  EXPECT_EQ(Stats("lazy").at("fetched_bytes").to_number<int64_t>(), month_bytes(3) + month_bytes(5) + month_bytes(6));
}

TEST_F(LazyTest, ConcurrentQueriesFetchEachFileOnceAndTheBudgetEvicts) {
  std::vector<std::thread> threads;
  std::vector<std::string> answers(8);
  for (int i = 0; i < 8; ++i) threads.emplace_back([&, i] { answers[i] = Data("/v1/lazy_day?day=2024-01-20"); });
  for (auto& thread : threads) thread.join();
  for (const auto& answer : answers) EXPECT_EQ(answer, answers[0]);
  json::object after = Stats("lazy");
  const int64_t one_file = after.at("fetched_bytes").to_number<int64_t>();
  EXPECT_EQ(after.at("files_cached").to_number<int64_t>(), 2);  // once, not 8 times
  auto store = store::OpenStore(S3TestUri(*prefix_), S3TestLookup());
  ASSERT_TRUE(store.ok());
  auto head = (*store)->Head("events/day=2024-01-20/part-0.parquet");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(one_file, head->size);  // fetched exactly once

  // The tight budget keeps about one data file: querying many days evicts older ones, and
  // every answer stays right (an evicted file is fetched again when asked for).
  for (int d = 0; d < 6; ++d) EXPECT_EQ(Data("/v1/tight_day?day=" + Day(d)), Data("/v1/full_day?day=" + Day(d)));
  EXPECT_LE(Stats("tight").at("files_cached").to_number<int64_t>(), 3);
  EXPECT_EQ(Data("/v1/tight_day?day=" + Day(0)), Data("/v1/full_day?day=" + Day(0)));
}

}  // namespace
}  // namespace dram::testing
