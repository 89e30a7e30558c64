// `dram init` on a Hive-partitioned prefix in a real S3 server (radosgw on 127.0.0.1): the
// project it writes validates, serves, and counts the rows that were uploaded.
#include <gtest/gtest.h>

#include <unistd.h>

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

TEST(S3InitTest, InitOnAHivePartitionedPrefixValidatesAndServes) {
  const std::string prefix = "init-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
  auto opened = store::OpenStore(S3TestUri(prefix), S3TestLookup());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<store::ObjectStore> bucket = std::move(*opened);
  TempDir scratch, root, cache;
  scratch.Write("gen.sql", "COPY (SELECT i AS order_id, 2023 + (i % 2) AS year, 1 + (i % 3) AS month, 'c' || (i % 30) AS customer, "
                           "i * 0.25 AS amount FROM range(3000) t(i)) TO '" + scratch.path() +
                           "/sales' (FORMAT parquet, PARTITION_BY (year, month));\n");
  CommandResult generated = RunCommand({DramSqlBinary(), scratch.path() + "/gen.sql"});
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  int uploaded = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(scratch.path() + "/sales")) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string key = "sales/" + std::filesystem::relative(entry.path(), scratch.path() + "/sales").string();
    auto put = bucket->Put(key, bytes);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    ++uploaded;
  }
  ASSERT_EQ(uploaded, 6);

  const std::string project = root.path() + "/project";
  const auto env = S3TestEnvironment();
  CommandResult init = RunCommand({DramBinary(), "init", project, "--from", S3TestUri(prefix)}, env);
  ASSERT_EQ(init.exit_code, 0) << init.output;
  CommandResult validate = RunCommand({DramBinary(), "validate", project}, env);
  ASSERT_EQ(validate.exit_code, 0) << validate.output;
  auto server = ServerProcess::Start(project, cache.path(), env);
  ASSERT_NE(server, nullptr);
  HttpClient client("127.0.0.1", server->api_port());
  HttpResult all = client.Get("/v1/sales");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(json::parse(all.body).at("meta").at("total").to_number<int64_t>(), 3000);
  HttpResult month = client.Get("/v1/sales?month=2");
  ASSERT_EQ(month.status, 200) << month.body;
  // month = 1 + i % 3: a third of the rows.
  EXPECT_EQ(json::parse(month.body).at("meta").at("total").to_number<int64_t>(), 1000);
  HttpResult summary = client.Get("/v1/sales_summary");
  ASSERT_EQ(summary.status, 200) << summary.body;
  int64_t rows = 0;
  json::value parsed = json::parse(summary.body);
  for (const auto& row : parsed.at("data").as_array()) rows += row.at("row_count").to_number<int64_t>();
  EXPECT_EQ(rows, 3000);
  EXPECT_EQ(server->Stop(), 0);
}

}  // namespace
}  // namespace dram::testing
