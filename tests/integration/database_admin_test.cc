// The database manager through the real CLI and admin port: add from S3 and from a local
// directory, list, stats, versions, query, aliases (incl. an endpoint that follows an alias),
// delete, persistence across a restart, and bad input that leaves nothing behind.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "store/store_uri.h"
#include "testutil/http_client.h"
#include "testutil/s3_env.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace json = boost::json;

constexpr const char* kToken = "admin-token-for-tests-0123456789";

class DatabaseAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = "dbadmin-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
    auto opened = store::OpenStore(S3TestUri(prefix_), S3TestLookup());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
    // A database directory in S3: a table per sub-directory (Hive partitions) and per top-level file.
    TempDir scratch;
    scratch.Write("gen.sql", "COPY (SELECT i AS id, i * 2 AS amount FROM range(1000) t(i) WHERE i < 500) TO '" +
                                 scratch.path() + "/a.parquet' (FORMAT parquet);\n"
                                 "COPY (SELECT i AS id, i * 2 AS amount FROM range(1000) t(i) WHERE i >= 500) TO '" +
                                 scratch.path() + "/b.parquet' (FORMAT parquet);\n");
    CommandResult generated = RunCommand({DramSqlBinary(), scratch.path() + "/gen.sql"});
    ASSERT_EQ(generated.exit_code, 0) << generated.output;
    Upload(scratch.path() + "/a.parquet", "orders/region=north/part-0.parquet");
    Upload(scratch.path() + "/b.parquet", "orders/region=south/part-0.parquet");
    ASSERT_TRUE(store_->Put("shops.csv", "shop,city\n1,Lyon\n2,Oslo\n").ok());
    ASSERT_TRUE(store_->Put("_SUCCESS", "").ok());

    // The project declares one local dataset and an alias over it, with an endpoint on the alias.
    project_.Write("dram.yml", "server: {listen: 127.0.0.1:0}\nengine: {threads: 1, pool_size: 2}\naliases: {live: base}\n");
    project_.Write("data/base/prices.csv", "sku,price\na,1\nb,2\n");
    project_.Write("datasets/base.yml", "name: base\ntables:\n  prices: {path: data/base}\n");
    project_.Write("endpoints/prices.yml", "name: prices\nversion: 1\ndataset: live\ntable: prices\ncolumns: [sku, price]\norder_by: [sku]\n");
    // A second local database directory with the same schema and other values.
    other_.Write("prices.csv", "sku,price\na,10\nb,20\nc,30\n");
  }

  void Upload(const std::string& path, const std::string& key) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(store_->Put(key, bytes).ok());
  }

  std::map<std::string, std::string> Env() const {
    auto env = S3TestEnvironment();
    env["DRAM_ADMIN_TOKEN"] = kToken;
    return env;
  }

  CommandResult Dram(std::vector<std::string> args, ServerProcess& server) {
    args.insert(args.begin(), DramBinary());
    args.push_back("--admin");
    args.push_back("http://127.0.0.1:" + std::to_string(server.admin_port()));
    return RunCommand(args, Env());
  }

  std::string prefix_;
  std::unique_ptr<store::ObjectStore> store_;
  TempDir project_, other_, cache_;
};

TEST_F(DatabaseAdminTest, AddQueryAliasDeleteAndRestart) {
  auto server = ServerProcess::Start(project_.path(), cache_.path(), Env());
  ASSERT_TRUE(server);
  HttpClient api("127.0.0.1", server->api_port());
  EXPECT_NE(api.Get("/v1/prices").body.find("\"price\":1"), std::string::npos);

  CommandResult add = Dram({"db", "add", "sales", S3TestUri(prefix_), "--resolver", "success_marker", "--refresh", "1h",
                            "--sort-by", "orders:id"}, *server);
  ASSERT_EQ(add.exit_code, 0) << add.output;
  EXPECT_NE(add.output.find("orders (1000 rows)"), std::string::npos) << add.output;
  EXPECT_NE(add.output.find("shops (2 rows)"), std::string::npos) << add.output;

  CommandResult list = Dram({"db", "list"}, *server);
  ASSERT_EQ(list.exit_code, 0) << list.output << add.output;
  EXPECT_NE(list.output.find("sales"), std::string::npos);
  EXPECT_NE(list.output.find("base"), std::string::npos);

  // Hive partitions became a column; the totals are exact.
  CommandResult query = Dram({"query", "sales", "SELECT region, count(*) AS n, sum(amount) AS total FROM orders GROUP BY region ORDER BY region",
                              "--format", "csv"}, *server);
  ASSERT_EQ(query.exit_code, 0) << query.output;
  EXPECT_EQ(query.output, "region,n,total\r\nnorth,500,249500\r\nsouth,500,749500\r\n");
  CommandResult table = Dram({"query", "sales", "SELECT city FROM shops ORDER BY shop"}, *server);
  EXPECT_NE(table.output.find("Lyon"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("(2 rows)"), std::string::npos) << table.output;
  // Read-only: a write fails and changes nothing.
  CommandResult write = Dram({"query", "sales", "DELETE FROM shops"}, *server);
  EXPECT_EQ(write.exit_code, 1) << write.output;
  EXPECT_NE(Dram({"query", "sales", "SELECT count(*) AS n FROM shops", "--format", "csv"}, *server).output.find("\n2\r\n"),
            std::string::npos);

  CommandResult stats = Dram({"db", "stats", "sales"}, *server);
  EXPECT_NE(stats.output.find("in 3 files (3 cached)"), std::string::npos) << stats.output;  // _SUCCESS is no data
  EXPECT_NE(stats.output.find("queries:       4 (last 20"), std::string::npos) << stats.output;  // the 4 dram query calls
  HttpClient status_client("127.0.0.1", server->admin_port(), kToken);
  EXPECT_NE(status_client.Get("/status").body.find("\"download\":{\"total_bytes\":"), std::string::npos);
  CommandResult versions = Dram({"db", "versions", "sales"}, *server);
  EXPECT_NE(versions.output.find("current"), std::string::npos) << versions.output;

  // Repointing the alias the endpoint follows: a database of another shape is refused, one that
  // fits goes live for the endpoint at once.
  CommandResult refused = Dram({"alias", "set", "live", "sales"}, *server);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(api.Get("/v1/prices").body.find("\"price\":1"), std::string::npos);
  ASSERT_EQ(Dram({"db", "add", "prices2", other_.path()}, *server).exit_code, 0);
  CommandResult repoint = Dram({"alias", "set", "live", "prices2"}, *server);
  ASSERT_EQ(repoint.exit_code, 0) << repoint.output;
  EXPECT_NE(api.Get("/v1/prices").body.find("\"price\":30"), std::string::npos);
  ASSERT_EQ(Dram({"alias", "set", "reports", "sales"}, *server).exit_code, 0);
  EXPECT_NE(Dram({"query", "reports", "SELECT count(*) AS n FROM orders", "--format", "csv"}, *server).output.find("1000"),
            std::string::npos);

  // Delete: refused while an alias uses it; forced, the alias goes with it.
  CommandResult in_use = Dram({"db", "delete", "sales"}, *server);
  EXPECT_EQ(in_use.exit_code, 1);
  EXPECT_NE(in_use.output.find("alias reports"), std::string::npos) << in_use.output;
  EXPECT_EQ(Dram({"db", "delete", "sales", "--force"}, *server).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(cache_.path() + "/sales"));
  EXPECT_EQ(Dram({"alias", "get", "reports"}, *server).exit_code, 1);
  EXPECT_EQ(Dram({"db", "delete", "base"}, *server).exit_code, 1);  // declared in YAML

  // Bad input loses nothing: an empty directory is refused and nothing is registered.
  CommandResult empty = Dram({"db", "add", "nothing", S3TestUri(prefix_ + "-empty")}, *server);
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.output.find("no Parquet or CSV files"), std::string::npos) << empty.output;
  EXPECT_EQ(Dram({"db", "stats", "nothing"}, *server).exit_code, 1);
  EXPECT_EQ(Dram({"db", "add", "bad name", other_.path()}, *server).exit_code, 1);

  // A directory holding one DuckDB file is that database, its tables as they are.
  {
    TempDir scratch;
    scratch.Write("make.sql", "CREATE TABLE animals AS SELECT * FROM (VALUES (1, 'ant'), (2, 'bee')) t(id, name);\n"
                              "CREATE TABLE sizes AS SELECT 1 AS id, 0.5 AS mm;\nCHECKPOINT;\n");
    CommandResult made = RunCommand({DramSqlBinary(), "--db", scratch.path() + "/zoo.duckdb", scratch.path() + "/make.sql"});
    ASSERT_EQ(made.exit_code, 0) << made.output;
    auto duck_store = store::OpenStore(S3TestUri(prefix_ + "-duck"), S3TestLookup());
    ASSERT_TRUE(duck_store.ok());
    std::ifstream in(scratch.path() + "/zoo.duckdb", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE((*duck_store)->Put("zoo.duckdb", bytes).ok());
    CommandResult duck = Dram({"db", "add", "zoo", S3TestUri(prefix_ + "-duck")}, *server);
    ASSERT_EQ(duck.exit_code, 0) << duck.output;
    EXPECT_NE(duck.output.find("animals (2 rows), sizes (1 rows)"), std::string::npos) << duck.output;
    EXPECT_NE(Dram({"query", "zoo", "SELECT name FROM animals WHERE id = 2", "--format", "csv"}, *server).output.find("bee"),
              std::string::npos);
  }

  // Without the token: 401, nothing listed.
  HttpClient admin("127.0.0.1", server->admin_port());
  EXPECT_EQ(admin.Get("/databases").status, 401);

  // A restart serves the runtime databases and the repointed alias again, from disk.
  server.reset();
  server = ServerProcess::Start(project_.path(), cache_.path(), Env());
  ASSERT_TRUE(server);
  HttpClient api2("127.0.0.1", server->api_port());
  EXPECT_NE(api2.Get("/v1/prices").body.find("\"price\":30"), std::string::npos);
  CommandResult after = Dram({"alias", "list"}, *server);
  EXPECT_NE(after.output.find("prices2"), std::string::npos) << after.output;
}

// An ad hoc analysis on a server without a cluster: the database is one shard (0), map and reduce
// run as one statement on its copy, through `dram analyze` and POST /analyze; bad input is refused
// whole and changes nothing.
TEST_F(DatabaseAdminTest, AnAdHocAnalysisRunsOnADatabaseAsItsOneShard) {
  project_.Write("data/base/prices.csv", "sku,price\na,1.5\nb,2.25\nc,4\nd,\n");
  auto server = ServerProcess::Start(project_.path(), cache_.path(), Env());
  ASSERT_TRUE(server);
  const std::string map = "SELECT sku, price FROM prices;";
  CommandResult reduced = Dram({"analyze", "base", "--map", map, "--reduce",
                                "SELECT sum(price) AS total, count(price) AS priced, count(*) AS n FROM partials", "--format", "csv"},
                               *server);
  ASSERT_EQ(reduced.exit_code, 0) << reduced.output;
  EXPECT_EQ(reduced.output, "total,priced,n\r\n7.75,3,4\r\n");
  // The same text as one query answers the same.
  CommandResult direct = Dram({"query", "base", "SELECT sum(price) AS total, count(price) AS priced, count(*) AS n FROM prices",
                               "--format", "csv"}, *server);
  EXPECT_EQ(direct.output, reduced.output);
  // No reduce: the map's rows; through an alias; shard 0 named; the table and where it ran.
  CommandResult rows = Dram({"analyze", "live", "--map", "SELECT sku FROM prices WHERE price > 2 ORDER BY sku", "--shards", "0"}, *server);
  ASSERT_EQ(rows.exit_code, 0) << rows.output;
  EXPECT_NE(rows.output.find("(2 rows)"), std::string::npos) << rows.output;
  EXPECT_NE(rows.output.find("shards: 0"), std::string::npos) << rows.output;
  HttpClient admin("127.0.0.1", server->admin_port(), kToken);
  HttpResult json_answer = admin.Request("POST", "/analyze", {}, R"({"database":"base","map":"SELECT sku, price FROM prices ORDER BY sku LIMIT 1"})");
  ASSERT_EQ(json_answer.status, 200) << json_answer.body;
  json::value parsed = json::parse(json_answer.body);
  EXPECT_NE(json_answer.body.find(R"("data":[{"sku":"a","price":1.5}])"), std::string::npos) << json_answer.body;
  EXPECT_EQ(json::serialize(parsed.at("columns")), R"([{"name":"sku","type":"VARCHAR"},{"name":"price","type":"DOUBLE"}])");
  EXPECT_EQ(parsed.at("shards").as_array().size(), 1u);

  // Shards a database does not have are listed; a write is refused and changes nothing; SQL that
  // does not bind is the admin's to read; fields are checked, every error at once.
  CommandResult no_shard = Dram({"analyze", "base", "--map", map, "--shards", "0,1,3"}, *server);
  EXPECT_EQ(no_shard.exit_code, 1);
  EXPECT_NE(no_shard.output.find("shards 1, 3 of 'base' do not exist: it has 1 shard (0)"), std::string::npos) << no_shard.output;
  HttpResult write = admin.Request("POST", "/analyze", {}, R"({"database":"base","map":"SELECT 1","reduce":"DELETE FROM prices"})");
  EXPECT_TRUE(write.status == 403 || write.status == 422) << write.status << write.body;
  HttpResult two = admin.Request("POST", "/analyze", {}, R"({"database":"base","map":"SELECT 1; DROP TABLE prices"})");
  EXPECT_EQ(two.status, 422) << two.body;
  EXPECT_NE(Dram({"query", "base", "SELECT count(*) AS n FROM prices", "--format", "csv"}, *server).output.find("\n4\r\n"),
            std::string::npos);
  CommandResult unbound = Dram({"analyze", "base", "--map", map, "--reduce", "SELECT sum(cost) FROM partials"}, *server);
  EXPECT_EQ(unbound.exit_code, 1);
  EXPECT_NE(unbound.output.find("cost"), std::string::npos) << unbound.output;
  HttpResult bad = admin.Request("POST", "/analyze", {}, R"({"database":"base","reduse":"SELECT 1","shards":[0,0],"timeout":"soon"})");
  EXPECT_EQ(bad.status, 422) << bad.body;
  for (const char* expected : {"'reduse' is not a field", "shards names a shard twice", "timeout must be", "map is required"}) {
    EXPECT_NE(bad.body.find(expected), std::string::npos) << expected << " in " << bad.body;
  }
  EXPECT_EQ(admin.Request("POST", "/analyze", {}, R"({"database":"nope","map":"SELECT 1"})").status, 404);
  HttpClient anonymous("127.0.0.1", server->admin_port());
  EXPECT_EQ(anonymous.Request("POST", "/analyze", {}, R"({"database":"base","map":"SELECT 1"})").status, 401);
}

// One Status→HTTP table on both ports: a taken name is a 409 conflict, data that cannot be loaded
// is a 502 load_failed naming no local path, a missing bucket is named, a wrong method is a 405
// method_not_allowed counted as 405.
TEST_F(DatabaseAdminTest, ErrorsMapTheSameWayOnEveryPort) {
  ASSERT_TRUE(store_->Put("broken/orders.parquet", std::string("PAR1 this is not a parquet file at all PAR1")).ok());
  auto server = ServerProcess::Start(project_.path(), cache_.path(), Env());
  ASSERT_TRUE(server);
  HttpClient admin("127.0.0.1", server->admin_port());
  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", std::string("Bearer ") + kToken}};
  auto add = [&](const std::string& name, const std::string& uri) {
    return admin.Request("POST", "/databases", auth, json::serialize(json::object{{"name", name}, {"uri", uri}}));
  };

  auto taken = add("base", other_.path());
  EXPECT_EQ(taken.status, 409) << taken.body;
  EXPECT_NE(taken.body.find("\"code\":\"conflict\""), std::string::npos) << taken.body;

  auto corrupt = add("broken", S3TestUri(prefix_ + "/broken"));
  EXPECT_EQ(corrupt.status, 502) << corrupt.body;
  EXPECT_NE(corrupt.body.find("\"code\":\"load_failed\""), std::string::npos) << corrupt.body;
  EXPECT_EQ(corrupt.body.find(cache_.path()), std::string::npos) << corrupt.body;
  EXPECT_EQ(admin.Request("GET", "/status", auth).body.find(cache_.path() + "/broken"), std::string::npos);

  const std::string bucket = "dram-no-such-bucket-" + std::to_string(::getpid());
  auto missing = add("nowhere", "s3://" + bucket + "/data");
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_NE(missing.body.find(bucket), std::string::npos) << missing.body;

  auto rollback = admin.Request("POST", "/databases/base/rollback", auth);
  EXPECT_EQ(rollback.status, 409) << rollback.body;  // nothing to roll back to

  HttpClient api("127.0.0.1", server->api_port());
  auto post = api.Request("POST", "/v1/prices", {}, "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.body.find("\"code\":\"method_not_allowed\""), std::string::npos) << post.body;
  EXPECT_NE(admin.Request("GET", "/metrics", auth).body.find("dram_requests_total{endpoint=\"/v1/prices\",status=\"405\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace dram::testing
