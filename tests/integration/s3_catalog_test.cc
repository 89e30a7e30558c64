// The catalog on the S3-compatible server (radosgw): no lost update across writer processes,
// a stateless server booted from the bucket with credentials from the environment only, hot
// reload, and crashes around the commit's create-only put.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>
#include <random>
#include <thread>

#include "catalog/catalog.h"
#include "integration/catalog_fixture.h"
#include "store/store_uri.h"
#include "testutil/http_client.h"
#include "testutil/s3_env.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

class S3CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = S3TestUri("catalog-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
  }
  CommandResult Dram(std::vector<std::string> args, std::map<std::string, std::string> extra = {}) {
    args.insert(args.begin(), DramBinary());
    auto env = S3TestEnvironment();
    for (auto& [k, v] : extra) env[k] = v;
    return RunCommand(args, env);
  }
  std::string uri_;
};

TEST_F(S3CatalogTest, ConcurrentWriterProcessesLoseNoUpdate) { ExpectNoLostUpdate(uri_, S3TestEnvironment(), 4, 10); }

TEST_F(S3CatalogTest, AServerBootsFromTheBucketAloneAndFollowsIt) {
  TempDir v1, v2, cache;
  WriteCatalogProject(v1, 1, false);
  WriteCatalogProject(v2, 2, true);
  CommandResult applied = Dram({"apply", v1.path(), "--catalog", uri_});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  auto server = ServerProcess::Launch({DramBinary(), "serve", "--catalog", uri_, "--cache-dir", cache.path(), "--listen",
                                       "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--poll-interval", "100",
                                       "--ready-file", "{READY}"},
                                      S3TestEnvironment());
  ASSERT_TRUE(server);
  HttpClient api("127.0.0.1", server->api_port());
  EXPECT_EQ(Amounts(api.Get("/v1/sales?limit=2").body), (std::vector<int64_t>{10, 20})) << server->log();

  // A crash right after the create-only put of version 2 landed: the version is whole.
  CommandResult crashed = Dram({"apply", v2.path(), "--catalog", uri_}, {{"DRAM_FAILPOINT", "catalog.commit.after_put"}});
  EXPECT_EQ(crashed.exit_code, 128 + SIGKILL) << crashed.output;
  EXPECT_EQ(Dram({"catalog", "verify", "--catalog", uri_}).exit_code, 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (api.Get("/v2/sales?limit=1").status != 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Amounts(api.Get("/v2/sales?limit=1").body), (std::vector<int64_t>{20})) << server->log();
  EXPECT_EQ(Amounts(api.Get("/v1/sales?limit=1").body), (std::vector<int64_t>{20}));

  // A crash after the data upload, before the commit: still version 2, nothing torn.
  TempDir v3;
  WriteCatalogProject(v3, 3, true);
  crashed = Dram({"apply", v3.path(), "--catalog", uri_}, {{"DRAM_FAILPOINT", "apply.after_upload"}});
  EXPECT_EQ(crashed.exit_code, 128 + SIGKILL) << crashed.output;
  CommandResult log = Dram({"catalog", "log", "--catalog", uri_});
  EXPECT_EQ(log.output.find("3 "), std::string::npos) << log.output;
  EXPECT_EQ(Dram({"catalog", "verify", "--catalog", uri_}).exit_code, 0);
}

// Two servers following one catalog write their usage beside it in the bucket; `dram report
// --from` the catalog's URI sums both.
TEST_F(S3CatalogTest, UsageOfEveryServerGoesBesideTheCatalogAndIsReportedFromIt) {
  TempDir v1, cache_a, cache_b;
  WriteCatalogProject(v1, 1, false);
  ASSERT_EQ(Dram({"apply", v1.path(), "--catalog", uri_}).exit_code, 0);
  auto launch = [&](const TempDir& cache) {
    return ServerProcess::Launch({DramBinary(), "serve", "--catalog", uri_, "--cache-dir", cache.path(), "--listen",
                                  "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--ready-file", "{READY}"},
                                 S3TestEnvironment());
  };
  auto a = launch(cache_a);
  auto b = launch(cache_b);
  ASSERT_TRUE(a && b);
  HttpClient api_a("127.0.0.1", a->api_port()), api_b("127.0.0.1", b->api_port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(api_a.Get("/v1/sales?limit=2").status, 200);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(api_b.Get("/v1/sales?limit=1").status, 200);
  EXPECT_EQ(api_b.Get("/v1/nothing").status, 404);
  EXPECT_EQ(a->Stop(), 0);  // the final flush puts each server's file in the bucket
  EXPECT_EQ(b->Stop(), 0);

  CommandResult report = Dram({"report", "--from", uri_, "--by", "member", "--format", "json", "--price-per-query", "0.5"});
  ASSERT_EQ(report.exit_code, 0) << report.output;
  boost::json::value parsed = boost::json::parse(report.output.substr(report.output.find('{')));
  EXPECT_EQ(parsed.at("files").as_int64(), 2) << report.output;
  EXPECT_EQ(parsed.at("rows").as_array().size(), 2u) << report.output;
  EXPECT_EQ(parsed.at("total").at("requests").as_int64(), 8) << report.output;
  EXPECT_EQ(parsed.at("total").at("errors").as_int64(), 1) << report.output;
  EXPECT_DOUBLE_EQ(parsed.at("total").at("cost_avoided").as_double(), 7 * 0.5) << report.output;  // no TB price given
}

}  // namespace
}  // namespace dram::testing
