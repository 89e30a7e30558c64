// The CLI's validation, and server behaviour that needs its own project: overload, a dataset that
// cannot load, the admin token.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <regex>
#include <thread>

#include "integration/test_project.h"
#include "testutil/http_client.h"
#include "testutil/metrics_text.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

TEST(ValidateCommandTest, ListsEveryProblemWithFileLineAndColumn) {
  TempDir project;
  WriteTestProject(project);
  project.Write("endpoints/broken.yml", R"(name: broken
version: 1
dataset: shop
params:
  qty: {type: integr}
filters:
  - {column: qty, op: gte, param: qty}
colour: blue
)");
  project.Write("endpoints/wrong_column.yml", R"(name: wrong_column
dataset: shop
params:
  q: {type: integer}
filters:
  - {column: quantity, op: eq, param: q}
)");
  project.Write("datasets/other.yml", "name: other\ntables:\n  t: {path: nowhere.csv, format: xlsx}\n");
  // Templates the server could never run: an unknown column, and a sort choice that names none.
  project.Write("endpoints/bad_template.yml", R"(name: bad_template
dataset: shop
params:
  to: {type: date}
sql: |
  SELECT id FROM sales WHERE day < {{to}} + INTERVAL 1 DAY AND colour = 'red';
)");
  project.Write("endpoints/bad_sort.yml", R"(name: bad_sort
dataset: shop
params:
  s: {type: string}
columns: [id]
sort: {param: s, allowed: [nope]}
)");
  CommandResult result = RunCommand({DramBinary(), "validate", project.path()});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  const std::string& out = result.output;
  EXPECT_NE(out.find("broken.yml:5:15: unknown param type 'integr'"), std::string::npos) << out;
  EXPECT_NE(out.find("broken.yml:8:1: unknown key 'colour'"), std::string::npos) << out;
  EXPECT_NE(out.find("other.yml:3:34: format must be parquet or csv"), std::string::npos) << out;
  // In the same run: the schema check of the endpoints that parsed.
  EXPECT_NE(out.find("wrong_column.yml:6:5: unknown column 'quantity' in table 'sales'"), std::string::npos) << out;
  EXPECT_NE(out.find("bad_template.yml:5:6: query does not compile against dataset 'shop': Binder Error"), std::string::npos) << out;
  EXPECT_NE(out.find("colour"), std::string::npos) << out;
  EXPECT_NE(out.find("bad_sort.yml:6:7: sort allows unknown column 'nope'"), std::string::npos) << out;
  EXPECT_NE(out.find("6 problems found"), std::string::npos) << out;
  project.Write("endpoints/bad_template.yml", R"(name: bad_template
dataset: shop
params:
  to: {type: date}
sql: |
  SELECT id FROM sales WHERE day < {{to}} + INTERVAL 1 DAY;
  -- the trailing semicolon and this comment are fine
)");
  project.Write("endpoints/bad_sort.yml", "name: bad_sort\ndataset: shop\n");
  project.Write("endpoints/broken.yml", "name: broken\ndataset: shop\n");
  project.Write("datasets/other.yml", "name: other\ntables:\n  t: {path: data/sales}\n");
  project.Write("endpoints/wrong_column.yml", "name: wrong_column\ndataset: shop\n");
  result = RunCommand({DramBinary(), "validate", project.path()});
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(ValidateCommandTest, ServeRefusesABadProjectWholeAndHelpDocumentsCommands) {
  TempDir project;
  WriteTestProject(project);
  project.Write("dram.yml", "server:\n  io_threds: 2\n");
  CommandResult serve = RunCommand({DramBinary(), "serve", project.path(), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"});
  EXPECT_EQ(serve.exit_code, 1);
  EXPECT_NE(serve.output.find("dram.yml:2:3: unknown key 'io_threds'"), std::string::npos) << serve.output;
  for (const char* command : {"serve", "validate"}) {
    CommandResult help = RunCommand({DramBinary(), command, "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.output.find(std::string("dram ") + command), std::string::npos);
  }
  EXPECT_EQ(RunCommand({DramBinary(), "--help"}).exit_code, 0);
  EXPECT_EQ(RunCommand({DramBinary(), "serve", project.path(), "--bogus", "1"}).exit_code, 2);
}

// The version names the DuckDB library actually loaded (asked through SQL here, through the C
// API by the binary) and the commit of this checkout, so a package can be traced to its source.
TEST(VersionCommandTest, NamesTheLoadedDuckDbAndTheCommitOfTheCheckout) {
  TempDir scratch;
  scratch.Write("version.sql", "COPY (SELECT library_version FROM pragma_version()) TO '" + scratch.path() +
                                   "/duckdb_version.csv' (HEADER false);\n");
  ASSERT_EQ(RunCommand({DramSqlBinary(), scratch.path() + "/version.sql"}).exit_code, 0);
  std::string duckdb_version = ReadFile(scratch.path() + "/duckdb_version.csv");
  duckdb_version = duckdb_version.substr(0, duckdb_version.find_first_of("\r\n"));
  ASSERT_FALSE(duckdb_version.empty());

  CommandResult head = RunCommand({"/usr/bin/git", "-C", DRAM_SOURCE_DIR, "rev-parse", "--short", "HEAD"});
  std::string commit = head.exit_code == 0 ? head.output.substr(0, head.output.find('\n')) : "unknown";
  for (const char* command : {"--version", "version"}) {
    CommandResult version = RunCommand({DramBinary(), command});
    EXPECT_EQ(version.exit_code, 0) << version.output;
    EXPECT_TRUE(version.output.starts_with("dram " DRAM_PROJECT_VERSION "\n")) << version.output;
    EXPECT_NE(version.output.find("\nduckdb: " + duckdb_version + "\n"), std::string::npos) << version.output;
    // "-dirty" follows when the checkout has local changes.
    EXPECT_TRUE(std::regex_search(version.output, std::regex("\ncommit: " + commit + "(-dirty)?\n"))) << version.output;
    EXPECT_TRUE(std::regex_search(version.output, std::regex("\nbuild: [A-Za-z]+, [A-Za-z]+ [0-9.]+\n"))) << version.output;
    EXPECT_NE(version.output.find("\nflags: "), std::string::npos) << version.output;
  }
}

TEST(ServerLimitsTest, OverloadAnswers503WithRetryAfterAndNotReadyDatasetsAnswer503) {
  TempDir project;
  TempDir cache;
  project.Write("dram.yml", "engine:\n  threads: 1\n  pool_size: 1\n  queue_timeout: 20ms\n  memory_limit: 64MB\n");
  project.Write("data/one.csv", "x\n1\n");
  project.Write("datasets/one.yml", "name: one\ntables:\n  t: {path: data/one.csv}\n");
  project.Write("datasets/missing.yml", "name: missing\ntables:\n  t: {path: data/nothing-here/*.parquet}\n");
  project.Write("endpoints/slow.yml", R"(name: slow
dataset: one
cache: false
params:
  n: {type: integer, required: true}
sql: SELECT count(*) AS c FROM range({{n}}) r(i) WHERE hash(i) % 7 = 0
)");
  project.Write("endpoints/gone.yml", "name: gone\ndataset: missing\ntable: t\n");
  project.Write("endpoints/hog.yml", R"(name: hog
dataset: one
cache: false
params:
  n: {type: integer, required: true}
sql: SELECT count(DISTINCT i::VARCHAR || 'padding-padding-padding') AS c FROM range({{n}}) t(i)
)");
  auto server = ServerProcess::Start(project.path(), cache.path());
  ASSERT_NE(server, nullptr);
  HttpClient probe("127.0.0.1", server->api_port());
  HttpResult not_ready = probe.Get("/v1/gone");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("\"not_ready\""), std::string::npos);
  HttpClient admin("127.0.0.1", server->admin_port());
  EXPECT_EQ(admin.Get("/ready").status, 503);

  std::atomic<int> ok{0};
  std::atomic<int> overloaded{0};
  std::atomic<int> other{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      HttpClient client("127.0.0.1", server->api_port());
      HttpResult result = client.Get("/v1/slow?n=" + std::to_string(150000000 + t));
      if (result.status == 200) {
        ok++;
      } else if (result.status == 503 && result.Header("retry-after") == "1" &&
                 result.body.find("\"overloaded\"") != std::string::npos) {
        overloaded++;
      } else {
        other++;
        std::fprintf(stderr, "unexpected: %d %s\n", result.status, result.body.c_str());
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_GE(ok.load(), 1);
  EXPECT_GE(overloaded.load(), 1);
  EXPECT_EQ(other.load(), 0);
  // Every overloaded answer was a queue timeout, and /metrics says so; the dataset whose files are
  // missing shows as failing to load, the other one not.
  std::string metrics = admin.Get("/metrics").body;
  EXPECT_EQ(SampleValue(metrics, "dram_refusals_total{reason=\"queue_timeout\"}"), overloaded.load()) << metrics;
  EXPECT_EQ(SampleValue(metrics, "dram_refusals_total{reason=\"in_flight\"}"), 0) << metrics;
  EXPECT_EQ(SampleValue(metrics, "dram_dataset_load_failing{dataset=\"missing\"}"), 1) << metrics;
  EXPECT_EQ(SampleValue(metrics, "dram_dataset_load_failing{dataset=\"one\"}"), 0) << metrics;
  EXPECT_GT(SampleValue(metrics, "dram_dataset_last_success_timestamp_seconds{dataset=\"one\"}").value_or(0), 1.7e9) << metrics;
  EXPECT_EQ(SampleValue(metrics, "dram_dataset_stale{dataset=\"one\"}"), 0) << metrics;

  // A query over the memory budget fails cleanly, and the server keeps serving afterwards.
  HttpResult hog = probe.Get("/v1/hog?n=20000000");
  EXPECT_EQ(hog.status, 503);
  EXPECT_NE(hog.body.find("memory budget"), std::string::npos) << hog.body;
  EXPECT_EQ(probe.Get("/v1/hog?n=1000").status, 200);
}

TEST(ServerLimitsTest, AdminWritesNeedTheTokenWhenOneIsSet) {
  TempDir project;
  TempDir cache;
  WriteTestProject(project);
  project.Write("datasets/nested.yml", "name: nested\ntables:\n  items: {path: data/sales}\n");
  project.Write("endpoints/items.yml", "name: items\ndataset: nested\n");
  const std::string token = "t0ken-for-tests";
  auto server = ServerProcess::Start(project.path(), cache.path(), {{"DRAM_ADMIN_TOKEN", token}});
  ASSERT_NE(server, nullptr);
  HttpClient admin("127.0.0.1", server->admin_port());
  HttpResult without = admin.Request("POST", "/datasets/shop/refresh");
  EXPECT_EQ(without.status, 401);
  HttpResult wrong = admin.Request("POST", "/datasets/shop/refresh", {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong.status, 401);
  HttpResult with = admin.Request("POST", "/datasets/shop/refresh", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(with.status, 200) << with.body;
  HttpResult unknown = admin.Request("POST", "/datasets/nope/refresh", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(admin.Get("/status").body.find(token), std::string::npos);
  EXPECT_EQ(server->log().find(token), std::string::npos);
}

}  // namespace
}  // namespace dram::testing

namespace dram::testing {
namespace {

TEST(TlsTest, BothPortsServeHttpsWhenConfigured) {
  TempDir project;
  TempDir cache;
  CommandResult made = RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                   "-subj", "/CN=127.0.0.1", "-keyout", project.path() + "/key.pem", "-out",
                                   project.path() + "/cert.pem"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  project.Write("dram.yml", "server:\n  tls: {cert_file: cert.pem, key_file: key.pem}\n");
  project.Write("data/one.csv", "x\n41\n");
  project.Write("datasets/one.yml", "name: one\ntables:\n  t: {path: data/one.csv}\n");
  project.Write("endpoints/t.yml", "name: t\ndataset: one\n");
  auto server = ServerProcess::Start(project.path(), cache.path());
  ASSERT_NE(server, nullptr);
  std::string api = "https://127.0.0.1:" + std::to_string(server->api_port());
  std::string admin = "https://127.0.0.1:" + std::to_string(server->admin_port());
  CommandResult rows = RunCommand({"/usr/bin/curl", "-sS", "--cacert", project.path() + "/cert.pem", api + "/v1/t"});
  EXPECT_EQ(rows.exit_code, 0) << rows.output;
  EXPECT_NE(rows.output.find("\"data\":[{\"x\":41}]"), std::string::npos) << rows.output;
  CommandResult live = RunCommand({"/usr/bin/curl", "-sS", "--cacert", project.path() + "/cert.pem", admin + "/live"});
  EXPECT_NE(live.output.find("\"ok\""), std::string::npos) << live.output;
  // Plain HTTP on a TLS port gets no HTTP answer.
  HttpClient plain("127.0.0.1", server->api_port());
  EXPECT_NE(plain.Get("/v1/t").status, 200);
}

}  // namespace
}  // namespace dram::testing
