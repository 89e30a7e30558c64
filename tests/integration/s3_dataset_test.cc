// Datasets whose data is in a real S3 server (radosgw on 127.0.0.1), served by the real binary;
// then the same through a fault-injecting proxy: transient faults are retried, permanent ones
// fail the refresh with a clear error while the previous version keeps serving.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "store/store_uri.h"
#include "testutil/fault_proxy.h"
#include "testutil/http_client.h"
#include "testutil/s3_env.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace json = boost::json;

// Orders of snapshot `version`: 3 shops, amounts that depend on the version so a swap is visible.
std::map<int, int64_t> ExpectedTotals(int version, int rows) {
  std::map<int, int64_t> totals;
  for (int i = 0; i < rows; ++i) totals[i % 3] += static_cast<int64_t>(i) * version;
  return totals;
}

class S3DatasetTest : public ::testing::Test {
 protected:
  static constexpr int kRows = 30'000;

  void SetUp() override {
    prefix_ = "ds-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
    auto opened = store::OpenStore(S3TestUri(prefix_), S3TestLookup());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
    UploadSnapshot(1);
    project_.Write("dram.yml", "server: {listen: 127.0.0.1:0}\nengine: {threads: 1, pool_size: 2}\n");
    project_.Write("datasets/remote.yml", "name: remote\nsource: " + S3TestUri(prefix_) +
                                              "\nresolver: latest_partition\ntables:\n  orders: {sort_by: [id]}\n");
    project_.Write("endpoints/totals.yml", R"(name: totals
version: 1
dataset: remote
table: orders
group_by: [shop]
select:
  - shop
  - {agg: sum, column: amount, as: total}
  - {agg: count, as: orders}
order_by: [shop]
)");
  }

  // Writes snap=<version>/orders/part-{0,1}.parquet (Hive-style snapshot directory) and a marker.
  void UploadSnapshot(int version) {
    TempDir scratch;
    scratch.Write("gen.sql", "COPY (SELECT i AS id, i % 3 AS shop, i * " + std::to_string(version) +
                                 " AS amount FROM range(" + std::to_string(kRows) + ") t(i) WHERE i % 2 = 0) TO '" +
                                 scratch.path() + "/p0.parquet' (FORMAT parquet);\n"
                                 "COPY (SELECT i AS id, i % 3 AS shop, i * " + std::to_string(version) +
                                 " AS amount FROM range(" + std::to_string(kRows) + ") t(i) WHERE i % 2 = 1) TO '" +
                                 scratch.path() + "/p1.parquet' (FORMAT parquet);\n");
    CommandResult generated = RunCommand({DramSqlBinary(), scratch.path() + "/gen.sql"});
    ASSERT_EQ(generated.exit_code, 0) << generated.output;
    for (int part = 0; part < 2; ++part) {
      std::ifstream in(scratch.path() + "/p" + std::to_string(part) + ".parquet", std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto put = store_->Put("snap=" + std::to_string(version) + "/orders/part-" + std::to_string(part) + ".parquet", bytes);
      ASSERT_TRUE(put.ok()) << put.status().ToString();
    }
  }

  std::map<std::string, std::string> ServerEnv(const std::string& endpoint_override = "") const {
    std::map<std::string, std::string> env = S3TestEnvironment();
    if (!endpoint_override.empty()) env["AWS_ENDPOINT_URL"] = endpoint_override;
    return env;
  }

  static void ExpectTotals(ServerProcess& server, int version) {
    HttpClient client("127.0.0.1", server.api_port());
    HttpResult result = client.Get("/v1/totals");
    ASSERT_EQ(result.status, 200) << result.body;
    json::array rows = json::parse(result.body).at("data").as_array();
    auto expected = ExpectedTotals(version, kRows);
    ASSERT_EQ(rows.size(), expected.size()) << result.body;
    for (const auto& row : rows) {
      int shop = static_cast<int>(row.at("shop").to_number<int64_t>());
      EXPECT_EQ(row.at("total").to_number<int64_t>(), expected[shop]) << "version " << version << ": " << result.body;
      EXPECT_EQ(row.at("orders").to_number<int64_t>(), kRows / 3);
    }
  }

  static HttpResult Refresh(ServerProcess& server) {
    HttpClient admin("127.0.0.1", server.admin_port());
    return admin.Request("POST", "/datasets/remote/refresh");
  }

  std::string prefix_;
  std::unique_ptr<store::ObjectStore> store_;
  TempDir project_;
  TempDir cache_;
};

TEST_F(S3DatasetTest, ServesTheNewestSnapshotDirectoryAndRefreshesToTheNext) {
  auto server = ServerProcess::Start(project_.path(), cache_.path(), ServerEnv());
  ASSERT_TRUE(server);
  ExpectTotals(*server, 1);
  UploadSnapshot(2);
  HttpResult refresh = Refresh(*server);
  ASSERT_EQ(refresh.status, 200) << refresh.body;
  ExpectTotals(*server, 2);
  // Unchanged source: a refresh builds nothing new.
  std::string snapshot = json::parse(refresh.body).at("snapshot_id").as_string().c_str();
  HttpResult again = Refresh(*server);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body).at("snapshot_id").as_string(), snapshot);
  // The downloaded files are in the cache, below the dataset, with their Hive directories.
  // The snapshot directory the resolver chose is a version, not a column: it is not in the path.
  EXPECT_TRUE(std::filesystem::exists(cache_.path() + "/remote/files/orders/part-0.parquet"));
  HttpClient admin("127.0.0.1", server->admin_port());
  EXPECT_EQ(admin.Get("/status").body.find("\"snap\""), std::string::npos);
}

TEST_F(S3DatasetTest, RestartServesTheVersionOnDiskWhenTheStoreIsDown) {
  {
    auto server = ServerProcess::Start(project_.path(), cache_.path(), ServerEnv());
    ASSERT_TRUE(server);
    ExpectTotals(*server, 1);
  }
  // The store is unreachable now (nothing listens on port 1): the version on disk serves at once,
  // and the failed check of the source shows in /status.
  auto server = ServerProcess::Start(project_.path(), cache_.path(), ServerEnv("http://127.0.0.1:1"));
  ASSERT_TRUE(server);
  ExpectTotals(*server, 1);
  HttpClient admin("127.0.0.1", server->admin_port());
  std::string status;
  for (int i = 0; i < 100; ++i) {
    status = admin.Get("/status").body;
    if (status.find("\"loads_failed\":1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(status.find("\"loads_failed\":1"), std::string::npos) << status;
  EXPECT_NE(status.find("transfer failed"), std::string::npos) << status;
  ExpectTotals(*server, 1);
}

TEST_F(S3DatasetTest, TransientFaultsAreRetriedAndPermanentOnesKeepThePreviousVersion) {
  const auto& env = S3TestEnvironment();
  std::string endpoint = env.at("AWS_ENDPOINT_URL");
  int upstream_port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  FaultProxy proxy("127.0.0.1", upstream_port);
  auto server = ServerProcess::Start(project_.path(), cache_.path(), ServerEnv(proxy.url()));
  ASSERT_TRUE(server);
  ExpectTotals(*server, 1);

  // Transient: two 503s, a reset and a slow reply on the data reads; the retries get through.
  int version = 2;
  for (auto fault : {Fault::kStatus503, Fault::kReset, Fault::kSlow, Fault::kTruncate}) {
    SCOPED_TRACE("transient fault " + std::to_string(static_cast<int>(fault)));
    UploadSnapshot(version);
    proxy.Set(fault, fault == Fault::kStatus503 ? 2 : 1, "GET", "part-", std::chrono::milliseconds(1500));
    int injected_before = proxy.faults_injected();
    HttpResult refresh = Refresh(*server);
    EXPECT_EQ(refresh.status, 200) << refresh.body;
    EXPECT_GT(proxy.faults_injected(), injected_before);
    ExpectTotals(*server, version);
    ++version;
  }

  // Permanent: every data read fails or lies. The refresh fails with a clear error and the
  // previous version (version - 1) keeps serving, whole.
  struct Case {
    Fault fault;
    std::string method, target;
    std::string error_mentions;
  };
  for (const Case& c : {Case{Fault::kStatus500, "GET", "part-", "unavailable"},
                        Case{Fault::kTruncate, "GET", "part-", "truncated"},
                        Case{Fault::kCorrupt, "GET", "part-", "MD5"},
                        Case{Fault::kWrongEtag, "GET", "list-type", "precondition"},
                        Case{Fault::kReset, "GET", "part-", "transfer failed"},
                        Case{Fault::kStatus503, "GET", "list-type", "unavailable"}}) {
    SCOPED_TRACE("permanent fault " + std::to_string(static_cast<int>(c.fault)));
    UploadSnapshot(version);
    proxy.Set(c.fault, -1, c.method, c.target);
    HttpResult refresh = Refresh(*server);
    proxy.Clear();
    EXPECT_NE(refresh.status, 200) << refresh.body;
    EXPECT_NE(refresh.body.find(c.error_mentions), std::string::npos) << refresh.body;
    ExpectTotals(*server, version - 1);
    HttpClient admin("127.0.0.1", server->admin_port());
    HttpResult status = admin.Get("/status");
    EXPECT_NE(status.body.find(c.error_mentions), std::string::npos) << status.body;
    // Nothing half-downloaded is left under a final name.
    for (const auto& entry : std::filesystem::recursive_directory_iterator(cache_.path())) {
      EXPECT_EQ(entry.path().string().find(".part."), std::string::npos) << entry.path();
    }
  }
  // After the faults clear, the next refresh loads the newest version.
  HttpResult refresh = Refresh(*server);
  ASSERT_EQ(refresh.status, 200) << refresh.body;
  ExpectTotals(*server, version);
}

}  // namespace
}  // namespace dram::testing
