// `dram init`: a project written from data validates, serves, and its endpoints count the rows
// DuckDB counts; a non-empty directory is refused.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "testutil/http_client.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace json = boost::json;

// `dram validate` on a generated project, then a real server of it (null, with a failure, if
// either does not succeed).
std::unique_ptr<ServerProcess> ValidateAndServe(const std::string& project, const std::string& cache) {
  CommandResult validate = RunCommand({DramBinary(), "validate", project});
  EXPECT_EQ(validate.exit_code, 0) << validate.output;
  if (validate.exit_code != 0) return nullptr;
  return ServerProcess::Start(project, cache);
}

// Runs SQL with dram-sql; `{D}` stands for `dir`.
void RunSql(const TempDir& dir, std::string sql) {
  for (size_t at; (at = sql.find("{D}")) != std::string::npos;) sql.replace(at, 3, dir.path());
  dir.Write("script.sql", sql);
  CommandResult result = RunCommand({DramSqlBinary(), dir.path() + "/script.sql"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
}

// A count DuckDB computes: `query` returns one number, written through a CSV file.
int64_t CountBySql(const TempDir& dir, const std::string& query) {
  RunSql(dir, "COPY (" + query + ") TO '{D}/count.csv' (HEADER false);");
  return std::stoll(ReadFile(dir.path() + "/count.csv"));
}

// Local data: events (Parquet, two files, a date and a tenant column) and regions (CSV).
void WriteLocalData(const TempDir& data) {
  std::filesystem::create_directories(data.path() + "/events");
  RunSql(data, R"(
CREATE TABLE e AS SELECT i AS event_id, 't0' || (i % 4) AS tenant_id, 'p' || (i % 25) AS product,
  DATE '2024-01-01' + CAST(i % 60 AS INTEGER) AS day, (i % 7) * 1.5 AS revenue, i % 10 AS units
FROM range(6000) t(i);
COPY (SELECT * FROM e WHERE event_id < 3000) TO '{D}/events/part-0.parquet' (FORMAT parquet);
COPY (SELECT * FROM e WHERE event_id >= 3000) TO '{D}/events/part-1.parquet' (FORMAT parquet);
COPY (SELECT 'r' || (i % 5) AS region, 'name ' || i AS name, i * 100 AS population FROM range(40) t(i))
  TO '{D}/regions.csv' (HEADER true);
)");
}

json::object GetJson(HttpClient& client, const std::string& target, const std::string& token = "") {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
  HttpResult result = client.Get(target, headers);
  EXPECT_EQ(result.status, 200) << target << ": " << result.body;
  if (result.status != 200) return {};
  return json::parse(result.body).as_object();
}

int64_t TotalOf(const json::object& body) { return body.at("meta").at("total").to_number<int64_t>(); }

int64_t SumOfRowCounts(const json::object& body) {
  int64_t sum = 0;
  for (const auto& row : body.at("data").as_array()) sum += row.at("row_count").to_number<int64_t>();
  return sum;
}

CommandResult Init(const std::string& dir, const std::string& from, const std::string& tenant = "") {
  std::vector<std::string> argv = {DramBinary(), "init", dir, "--from", from};
  if (!tenant.empty()) argv.insert(argv.end(), {"--tenant-column", tenant});
  return RunCommand(argv);
}

TEST(InitCommandTest, WritesAProjectThatValidatesAndServesTheRightCounts) {
  TempDir data, root, cache;
  WriteLocalData(data);
  const std::string project = root.path() + "/project";
  CommandResult init = Init(project, data.path());
  ASSERT_EQ(init.exit_code, 0) << init.output;
  for (const char* file : {"dram.yml", "endpoints/events.yml", "endpoints/events_summary.yml", "endpoints/regions.yml",
                           "endpoints/regions_summary.yml"}) {
    EXPECT_TRUE(std::filesystem::exists(project + "/" + file)) << file << "\n" << init.output;
  }
  std::string dataset;  // one dataset, named after the data's directory
  for (const auto& entry : std::filesystem::directory_iterator(project + "/datasets")) dataset += ReadFile(entry.path());
  EXPECT_NE(dataset.find("sort_by: [product, tenant_id, day]"), std::string::npos) << dataset;
  EXPECT_NE(dataset.find("key: [event_id]"), std::string::npos) << dataset;
  CommandResult validate = RunCommand({DramBinary(), "validate", project});
  ASSERT_EQ(validate.exit_code, 0) << validate.output << ReadFile(project + "/endpoints/events.yml");

  auto server = ServerProcess::Start(project, cache.path());
  ASSERT_NE(server, nullptr);
  HttpClient client("127.0.0.1", server->api_port());
  const std::string events = "read_parquet('" + data.path() + "/events/*.parquet')";
  EXPECT_EQ(TotalOf(GetJson(client, "/v1/events")), CountBySql(data, "SELECT count(*) FROM " + events));
  json::object page = GetJson(client, "/v1/events?product=p3&from=2024-01-10&to=2024-01-20&limit=5&columns=event_id,day");
  EXPECT_EQ(TotalOf(page), CountBySql(data, "SELECT count(*) FROM " + events +
                                                " WHERE product = 'p3' AND day BETWEEN '2024-01-10' AND '2024-01-20'"));
  EXPECT_EQ(page.at("data").as_array().size(), 5u);
  json::object by_day = GetJson(client, "/v1/events_summary?tenant_id=t01");
  EXPECT_EQ(by_day.at("data").as_array().size(), 15u);  // i % 4 == 1 falls on 15 of the 60 days
  EXPECT_EQ(SumOfRowCounts(by_day), CountBySql(data, "SELECT count(*) FROM " + events + " WHERE tenant_id = 't01'"));
  const std::string regions = "read_csv('" + data.path() + "/regions.csv')";
  EXPECT_EQ(TotalOf(GetJson(client, "/v1/regions")), CountBySql(data, "SELECT count(*) FROM " + regions));
  EXPECT_EQ(SumOfRowCounts(GetJson(client, "/v1/regions_summary")), 40);
  EXPECT_EQ(server->Stop(), 0);
}

TEST(InitCommandTest, TenantColumnScopesEveryEndpointAndNeedsKeys) {
  TempDir data, root, cache;
  WriteLocalData(data);
  const std::string project = root.path() + "/project";
  CommandResult init = Init(project, data.path(), "tenant_id");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  EXPECT_NE(ReadFile(project + "/dram.yml").find("mode: keys"), std::string::npos);
  EXPECT_NE(ReadFile(project + "/endpoints/events.yml").find("tenant_column: tenant_id"), std::string::npos);
  EXPECT_EQ(ReadFile(project + "/endpoints/regions.yml").find("tenant_column"), std::string::npos);
  CommandResult validate = RunCommand({DramBinary(), "validate", project});
  ASSERT_EQ(validate.exit_code, 0) << validate.output;
  CommandResult key = RunCommand({DramBinary(), "keys", "create", project, "--tenant", "t01"});
  ASSERT_EQ(key.exit_code, 0) << key.output;
  size_t at = key.output.find("dram_");
  ASSERT_NE(at, std::string::npos) << key.output;
  std::string token = key.output.substr(at, key.output.find('\n', at) - at);

  auto server = ServerProcess::Start(project, cache.path());
  ASSERT_NE(server, nullptr);
  HttpClient client("127.0.0.1", server->api_port());
  EXPECT_EQ(client.Get("/v1/events").status, 401);
  const int64_t expected = CountBySql(data, "SELECT count(*) FROM read_parquet('" + data.path() +
                                                "/events/*.parquet') WHERE tenant_id = 't01'");
  EXPECT_EQ(TotalOf(GetJson(client, "/v1/events", token)), expected);
  EXPECT_EQ(SumOfRowCounts(GetJson(client, "/v1/events_summary", token)), expected);
  EXPECT_EQ(server->Stop(), 0);
}

TEST(InitCommandTest, HivePartitionsBecomeColumnsAndParams) {
  TempDir data, root, cache;
  RunSql(data, R"(
COPY (SELECT i AS order_id, 2023 + (i % 2) AS year, 1 + (i % 3) AS month, 'c' || (i % 30) AS customer,
             i * 0.25 AS amount FROM range(3000) t(i))
  TO '{D}/sales' (FORMAT parquet, PARTITION_BY (year, month));
)");
  const std::string project = root.path() + "/project";
  CommandResult init = Init(project, data.path());
  ASSERT_EQ(init.exit_code, 0) << init.output;
  auto server = ValidateAndServe(project, cache.path());
  ASSERT_NE(server, nullptr);
  HttpClient client("127.0.0.1", server->api_port());
  EXPECT_EQ(TotalOf(GetJson(client, "/v1/sales")), 3000);
  const std::string sales = "read_parquet('" + data.path() + "/sales/**/*.parquet', hive_partitioning = true)";
  EXPECT_EQ(TotalOf(GetJson(client, "/v1/sales?month=2")), CountBySql(data, "SELECT count(*) FROM " + sales + " WHERE month = 2"));
  EXPECT_EQ(SumOfRowCounts(GetJson(client, "/v1/sales_summary")), 3000);
  EXPECT_EQ(server->Stop(), 0);
}

TEST(InitCommandTest, ADuckdbFileIsServedAsItIs) {
  TempDir data, root, cache;
  std::filesystem::create_directories(data.path() + "/db");
  data.Write("make.sql", R"(
CREATE TABLE orders AS SELECT i AS order_id, 'c' || (i % 30) AS customer,
  DATE '2024-01-01' + CAST(i % 90 AS INTEGER) AS day, i * 0.5 AS amount FROM range(5000) t(i);
CREATE TABLE shops AS SELECT i AS shop_id, 'shop ' || i AS name FROM range(10) t(i);
)");
  CommandResult made = RunCommand({DramSqlBinary(), "--db", data.path() + "/db/shop.duckdb", data.path() + "/make.sql"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string project = root.path() + "/project";
  CommandResult init = Init(project, data.path() + "/db");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  auto server = ValidateAndServe(project, cache.path());
  ASSERT_NE(server, nullptr);
  HttpClient client("127.0.0.1", server->api_port());
  EXPECT_EQ(TotalOf(GetJson(client, "/v1/orders")), 5000);
  EXPECT_EQ(TotalOf(GetJson(client, "/v1/orders?customer=c3")), 5000 / 30 + 1);  // i % 30 == 3: 167 of 5,000
  json::object by_day = GetJson(client, "/v1/orders_summary");
  EXPECT_EQ(by_day.at("data").as_array().size(), 90u);
  EXPECT_EQ(SumOfRowCounts(by_day), 5000);
  EXPECT_EQ(TotalOf(GetJson(client, "/v1/shops")), 10);
  EXPECT_EQ(server->Stop(), 0);
}

TEST(InitCommandTest, RefusesANonEmptyDirectory) {
  TempDir data, project;
  WriteLocalData(data);
  project.Write("notes.txt", "mine");
  CommandResult init = Init(project.path(), data.path());
  EXPECT_EQ(init.exit_code, 1);
  EXPECT_NE(init.output.find("not an empty directory"), std::string::npos) << init.output;
  EXPECT_EQ(ReadFile(project.path() + "/notes.txt"), "mine");
  EXPECT_FALSE(std::filesystem::exists(project.path() + "/dram.yml"));
}

}  // namespace
}  // namespace dram::testing
