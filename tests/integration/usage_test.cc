// The usage log end to end: a real server counts requests per endpoint and tenant, writes them as
// Parquet under the project's .dram/_usage/ (every flush interval, and at shutdown), a restarted
// server adds its own files, DuckDB reads them back as written, and `dram report` sums them.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "integration/test_project.h"
#include "testutil/http_client.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string CreateTenantKey(const TempDir& project, const std::string& tenant) {
  CommandResult result = RunCommand({DramBinary(), "keys", "create", project.path(), "--tenant", tenant});
  std::smatch match;
  if (result.exit_code != 0 || !std::regex_search(result.output, match, std::regex("(dram_[0-9a-f]{12}_[A-Za-z0-9_-]+)"))) {
    ADD_FAILURE() << result.output;
    return "";
  }
  return match[1];
}

int CountUsageFiles(const std::string& project) {
  int files = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(project + "/.dram/_usage", ec), end; !ec && it != end; it.increment(ec)) {
    files += it->path().extension() == ".parquet";
  }
  return files;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(UsageLogTest, CountsPerTenantAcrossRestartsAndReportsSavings) {
  TempDir project, cache;
  WriteTestProject(project);
  project.Write("dram.yml", R"(server:
  io_threads: 2
engine:
  threads: 1
  pool_size: 2
auth:
  mode: keys
usage:
  flush_interval: 1s
  warehouse:
    price_per_query: 0.01
    price_per_tb_scanned: 5
)");
  const std::string acme = CreateTenantKey(project, "acme");
  const std::string globex = CreateTenantKey(project, "globex");

  {
    auto server = ServerProcess::Start(project.path(), cache.path());
    ASSERT_TRUE(server) << "server did not start";
    HttpClient client("127.0.0.1", server->api_port());
    for (int i = 0; i < 5; ++i) EXPECT_EQ(client.Get("/v1/sales?limit=5", {{"X-API-Key", acme}}).status, 200);
    for (int i = 0; i < 2; ++i) EXPECT_EQ(client.Get("/v1/sales?region=bogus", {{"X-API-Key", acme}}).status, 422);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(client.Get("/v1/sales_by_region", {{"X-API-Key", globex}}).status, 200);
    EXPECT_EQ(client.Get("/v1/sales").status, 401);  // no credentials: no endpoint, no tenant
    HttpClient admin("127.0.0.1", server->admin_port());
    // Within a few flush intervals the usage is in the store, without a shutdown.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (CountUsageFiles(project.path()) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GE(CountUsageFiles(project.path()), 1);
    std::string metrics = admin.Get("/metrics").body;
    EXPECT_NE(metrics.find("dram_usage_files_written_total"), std::string::npos) << metrics;
    EXPECT_EQ(server->Stop(), 0);
  }
  {
    // A restart: its requests go into files of its own, flushed at the stop.
    auto server = ServerProcess::Start(project.path(), cache.path());
    ASSERT_TRUE(server) << "server did not restart";
    HttpClient client("127.0.0.1", server->api_port());
    for (int i = 0; i < 2; ++i) EXPECT_EQ(client.Get("/v1/sales?limit=5", {{"X-API-Key", acme}}).status, 200);
    EXPECT_EQ(server->Stop(), 0);
  }

  // DuckDB itself, not dram's report, reads what was written.
  const std::string out = project.path() + "/by_tenant.csv";
  project.Write("read.sql", "COPY (SELECT tenant, endpoint, sum(requests) AS requests, sum(errors) AS errors, "
                            "sum(cache_hits) AS hits, sum(\"rows\") AS r FROM read_parquet('" + project.path() +
                            "/.dram/_usage/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL) TO '" + out +
                            "' (HEADER false)");
  CommandResult read = RunCommand({DramSqlBinary(), project.path() + "/read.sql"});
  ASSERT_EQ(read.exit_code, 0) << read.output;
  // acme: 7 requests to /v1/sales (2 refused), the first of the 5 good ones in each process a
  // miss; 5 rows each. The 401 has no endpoint and no tenant.
  EXPECT_EQ(ReadFile(out), "\"\",\"\",1,1,0,0\n"
                           "acme,/v1/sales,9,2,5,35\n"
                           "globex,/v1/sales_by_region,3,0,2,12\n");

  CommandResult report = RunCommand({DramBinary(), "report", project.path(), "--by", "tenant", "--format", "json"});
  ASSERT_EQ(report.exit_code, 0) << report.output;
  json::value parsed = json::parse(report.output.substr(report.output.find('{')));
  const auto& rows = parsed.at("rows").as_array();
  ASSERT_EQ(rows.size(), 3u) << report.output;
  EXPECT_EQ(rows[0].at("key"), "acme");
  EXPECT_EQ(rows[0].at("requests").as_int64(), 9);
  EXPECT_EQ(rows[0].at("warehouse_queries_avoided").as_int64(), 7);
  EXPECT_GT(rows[0].at("cost_avoided").as_double(), 0.07 - 1e-9);  // 7 x 0.01, plus a sliver for the bytes
  EXPECT_EQ(parsed.at("total").at("requests").as_int64(), 13);
  EXPECT_GE(parsed.at("files").as_int64(), 2);  // at least one file per process
  EXPECT_EQ(parsed.at("members").as_array().size(), 2u);  // each process is named by its port

  CommandResult table = RunCommand({DramBinary(), "report", project.path()});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("/v1/sales_by_region"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("TOTAL"), std::string::npos) << table.output;
  // A window after everything: nothing to report, and said so; a window that ends before it
  // starts is refused.
  CommandResult later = RunCommand({DramBinary(), "report", project.path(), "--since", "2999-01-01", "--until", "2999-02-01"});
  EXPECT_EQ(later.exit_code, 0) << later.output;
  EXPECT_NE(later.output.find("no usage recorded"), std::string::npos) << later.output;
  EXPECT_EQ(RunCommand({DramBinary(), "report", project.path(), "--since", "2999-01-01"}).exit_code, 1);
  EXPECT_EQ(RunCommand({DramBinary(), "report", project.path(), "--by", "color"}).exit_code, 1);
  EXPECT_EQ(RunCommand({DramBinary(), "report", project.path(), "--since", "yesterday"}).exit_code, 2);
}

TEST(UsageLogTest, ABadUsageSectionIsRejectedWithItsLine) {
  TempDir project;
  WriteTestProject(project);
  project.Write("dram.yml", "usage:\n  flush_interval: 10ms\n  warehouse:\n    price_per_query: -1\n  colour: red\n");
  CommandResult result = RunCommand({DramBinary(), "validate", project.path()});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("dram.yml:2"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("dram.yml:4"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("colour"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace dram::testing
