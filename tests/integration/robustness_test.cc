// Nothing may kill the server or drop a response (issue 12): handler exceptions, stop under load,
// running out of file descriptors.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <stdexcept>

#include "dram/endpoint.h"
#include "dram/server.h"
#include "testutil/http_client.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace json = boost::json;

void WriteEventsProject(const TempDir& project) {
  project.Write("dram.yml", "engine:\n  threads: 1\n  pool_size: 2\ncache_dir: cache\n");
  project.Write("datasets/analytics.yml", "name: analytics\ntables:\n  events: {path: data/events.csv}\n");
  project.Write("data/events.csv", "tenant_id,channel,revenue\na,web,10\nb,app,5\n");
}

CodeEndpoint Endpoint(std::string name, bool throws) {
  CodeEndpoint endpoint;
  endpoint.name = std::move(name);
  endpoint.dataset = "analytics";
  endpoint.cache = false;
  endpoint.handler = [throws](const Params&, QuerySession& session) -> Result<Rows> {
    if (throws) throw std::runtime_error("a bug in a C++ endpoint");
    return session.Query("SELECT count(*) AS n FROM events", {});
  };
  return endpoint;
}

// In process: an exception escaping a pool's job would end this test binary (std::terminate).
TEST(RobustnessTest, ThrowingCodeEndpointAnswers500AndTheServerKeepsServing) {
  TempDir project;
  WriteEventsProject(project);
  ServerOverrides overrides;
  overrides.listen = overrides.admin_listen = "127.0.0.1:0";
  auto server = Server::Create(project.path(), overrides);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_TRUE((*server)->AddEndpoint(Endpoint("explode", true)).ok());
  ASSERT_TRUE((*server)->AddEndpoint(Endpoint("count", false)).ok());
  ASSERT_TRUE((*server)->Start().ok());
  HttpClient client("127.0.0.1", (*server)->api_port());
  for (int round = 0; round < 3; ++round) {
    HttpResult failed = client.Get("/v1/explode");
    ASSERT_EQ(failed.status, 500) << failed.body;
    json::value error = json::parse(failed.body).at("error");
    EXPECT_EQ(error.at("code").as_string(), "internal");
    EXPECT_FALSE(error.at("request_id").as_string().empty());
    EXPECT_EQ(error.at("request_id").as_string(), failed.Header("x-request-id"));
    HttpResult ok = client.Get("/v1/count");
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(json::serialize(json::parse(ok.body).at("data")), R"([{"n":2}])");
  }
  (*server)->Stop();
}

}  // namespace
}  // namespace dram::testing
