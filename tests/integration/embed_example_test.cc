// The embedding example (examples/embed) serves its C++ and SQL-template endpoints.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "testutil/http_client.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace json = boost::json;

TEST(EmbedExampleTest, ServesCodeAndTemplateEndpoints) {
  TempDir project;
  project.Write("dram.yml", "engine:\n  threads: 1\n  pool_size: 2\ncache_dir: cache\n");
  project.Write("datasets/analytics.yml", "name: analytics\ntables:\n  events: {path: data/events.csv}\n");
  // Tenant a: web 30, app 10 → 75% / 25%. Tenant b: web 5.
  project.Write("data/events.csv", "tenant_id,channel,revenue\na,web,10\na,web,20\na,app,10\nb,web,5\n");
  auto server = ServerProcess::Launch({EmbedExampleBinary(), project.path(), "{READY}"});
  ASSERT_NE(server, nullptr);
  HttpClient client("127.0.0.1", server->api_port());
  HttpResult share = client.Get("/v1/channel_share?tenant=a");
  ASSERT_EQ(share.status, 200) << share.body;
  EXPECT_EQ(json::serialize(json::parse(share.body).at("data")),
            R"([{"channel":"web","share_percent":75},{"channel":"app","share_percent":25}])");
  HttpResult filtered = client.Get("/v1/channel_share?tenant=a&min_share=50");
  EXPECT_EQ(json::parse(filtered.body).at("data").as_array().size(), 1u);
  EXPECT_EQ(client.Get("/v1/channel_share").status, 422);          // tenant is required
  EXPECT_EQ(client.Get("/v1/channel_share?tenant=a&min_share=x").status, 422);
  EXPECT_EQ(client.Get("/v1/channel_share?tenant=a").Header("x-cache"), "hit");
  // The analysis: its reduce over the map's rows (app: 10 / 1; web: 35 / 3).
  HttpResult average = client.Get("/v1/channel_average");
  ASSERT_EQ(average.status, 200) << average.body;
  const json::value averages = json::parse(average.body);
  const auto& rows = averages.at("data").as_array();
  ASSERT_EQ(rows.size(), 2u) << average.body;
  EXPECT_EQ(rows[0].at("channel").as_string(), "app");
  EXPECT_DOUBLE_EQ(rows[0].at("average").to_number<double>(), 10.0);
  EXPECT_EQ(rows[1].at("channel").as_string(), "web");
  EXPECT_DOUBLE_EQ(rows[1].at("average").to_number<double>(), 35.0 / 3.0);
  HttpResult top = client.Get("/v1/top_tenants?channel=web");
  ASSERT_EQ(top.status, 200) << top.body;
  EXPECT_EQ(json::serialize(json::parse(top.body).at("data")), R"([{"tenant_id":"a","revenue":30},{"tenant_id":"b","revenue":5}])");
  HttpClient admin("127.0.0.1", server->admin_port());
  std::string openapi = admin.Get("/openapi.json").body;
  EXPECT_NE(openapi.find("/v1/channel_share"), std::string::npos);
  EXPECT_NE(openapi.find("/v1/top_tenants"), std::string::npos);
  EXPECT_EQ(server->Stop(), 0);
}

}  // namespace
}  // namespace dram::testing
