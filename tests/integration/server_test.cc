// Runs the real dram binary on 127.0.0.1 and checks its behaviour over real HTTP.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <set>
#include <thread>

#include "integration/test_project.h"
#include "testutil/http_client.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace json = boost::json;

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    project_ = new TempDir();
    cache_ = new TempDir();
    WriteTestProject(*project_);
    server_ = ServerProcess::Start(project_->path(), cache_->path()).release();
    ASSERT_NE(server_, nullptr) << "dram did not start";
  }
  static void TearDownTestSuite() {
    delete server_;
    delete cache_;
    delete project_;
  }

  HttpResult Api(const std::string& target, const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return api_.Get(target, headers);
  }
  HttpResult Admin(const std::string& target) { return admin_.Get(target); }
  static json::value Json(const HttpResult& result) {
    boost::system::error_code ec;
    json::value value = json::parse(result.body, ec);
    EXPECT_FALSE(ec) << result.body.substr(0, 300);
    return value;
  }

  static TempDir* project_;
  static TempDir* cache_;
  static ServerProcess* server_;
  HttpClient api_{"127.0.0.1", server_->api_port()};
  HttpClient admin_{"127.0.0.1", server_->admin_port()};
};

TempDir* ServerTest::project_ = nullptr;
TempDir* ServerTest::cache_ = nullptr;
ServerProcess* ServerTest::server_ = nullptr;

TEST_F(ServerTest, ServesFilteredRowsInTheEnvelope) {
  HttpResult result = Api("/v1/sales?region=south&min_qty=9&limit=1000");
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(result.Header("content-type"), "application/json");
  json::object body = Json(result).as_object();
  int expected = 0;
  for (int row = 0; row < 2400; ++row) expected += RegionOf(row) == "south" && QtyOf(row) >= 9;
  const json::array& data = body["data"].as_array();
  ASSERT_EQ(static_cast<int>(data.size()), expected);
  for (const auto& row : data) {
    int id = static_cast<int>(row.at("id").as_int64());
    EXPECT_EQ(row.at("region").as_string(), "south");
    EXPECT_EQ(row.at("qty").as_int64(), QtyOf(id));
    EXPECT_EQ(row.at("revenue").as_int64(), RevenueOf(id, 0));
    EXPECT_EQ(row.at("note").as_string(), "note, " + std::to_string(id));
  }
  json::object& meta = body["meta"].as_object();
  EXPECT_EQ(meta["endpoint"].as_string(), "sales");
  EXPECT_EQ(meta["version"].as_int64(), 1);
  EXPECT_EQ(meta["row_count"].as_int64(), expected);
  EXPECT_EQ(meta["total"].as_int64(), expected);
  EXPECT_EQ(meta["limit"].as_int64(), 1000);
  EXPECT_EQ(meta["offset"].as_int64(), 0);
  EXPECT_FALSE(meta["request_id"].as_string().empty());
  EXPECT_FALSE(meta["snapshot_id"].as_string().empty());
  EXPECT_TRUE(meta["freshness"].as_object().contains("age_seconds"));
  EXPECT_EQ(result.Header("x-snapshot-id"), meta["snapshot_id"].as_string());
}

TEST_F(ServerTest, SecondIdenticalRequestIsACacheHit) {
  HttpResult first = Api("/v1/sales?region=east&min_qty=3");
  HttpResult second = Api("/v1/sales?min_qty=3&region=east");  // same params, other order
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(first.Header("x-cache"), "miss");
  EXPECT_EQ(second.Header("x-cache"), "hit");
  EXPECT_EQ(Json(second).at("meta").at("cache").as_string(), "hit");
  EXPECT_EQ(Json(first).at("data"), Json(second).at("data"));
  EXPECT_NE(Json(first).at("meta").at("request_id"), Json(second).at("meta").at("request_id"));
  HttpResult uncached = Api("/v2/sales?region=east");
  EXPECT_EQ(uncached.Header("x-cache"), "off");
}

TEST_F(ServerTest, EveryErrorFamilyIsTypedJson) {
  struct Case {
    std::string target;
    int status;
    std::string code;
  };
  const Case cases[] = {
      {"/v1/nope", 404, "not_found"},
      {"/v9/sales", 404, "not_found"},
      {"/v2/sales", 422, "invalid_param"},                      // missing required
      {"/v1/sales?min_qty=abc", 422, "invalid_param"},          // wrong type
      {"/v1/sales?min_qty=11", 422, "invalid_param"},           // over max
      {"/v1/sales?region=middle", 422, "invalid_param"},        // not in enum
      {"/v1/sales?unknown=1", 422, "invalid_param"},
      {"/v1/sales?limit=1001", 422, "invalid_param"},           // over the max limit
      {"/v1/sales?limit=0", 422, "invalid_param"},
      {"/v1/sales?offset=-1", 422, "invalid_param"},
      {"/v1/sales?from=2024-02-30", 422, "invalid_param"},      // not a real date
      {"/v1/sales?columns=id,password", 422, "invalid_param"},  // outside the allowlist
      {"/v1/sales?format=xml", 422, "invalid_param"},
      {"/v1/sales?sort=note", 422, "invalid_param"},            // not an allowed sort
      {"/v1/sales?ids=1,2,x", 422, "invalid_param"},
      {"/v1/sales?min_qty=%zz", 422, "invalid_param"},          // malformed escape
  };
  for (const Case& c : cases) {
    HttpResult result = Api(c.target);
    EXPECT_EQ(result.status, c.status) << c.target << " " << result.body;
    json::object body = Json(result).as_object();
    ASSERT_TRUE(body.contains("error")) << c.target;
    EXPECT_EQ(body["error"].at("code").as_string(), c.code) << c.target;
    EXPECT_FALSE(body["error"].at("message").as_string().empty());
    EXPECT_EQ(body["error"].at("request_id").as_string(), result.Header("x-request-id"));
  }
  HttpResult post = api_.Request("POST", "/v1/sales");
  EXPECT_EQ(post.status, 405);
}

TEST_F(ServerTest, ErrorsNeverEchoRequestValues) {
  const std::string secret = "Sup3rSecretValue";
  for (const std::string& target : {"/v1/sales?min_qty=" + secret, "/v1/sales?region=" + secret, "/v1/sales?from=" + secret,
                                    "/v1/sales?ids=1," + secret, "/v1/sales?" + secret + "=1", "/v1/sales?columns=" + secret}) {
    HttpResult result = Api(target);
    EXPECT_EQ(result.status, 422) << target;
    EXPECT_EQ(result.body.find(secret), std::string::npos) << result.body;
  }
}

TEST_F(ServerTest, InjectionStringsAreBoundAndMatchNothing) {
  for (std::string value : {"x'%20OR%20'1'='1", "1;%20DROP%20TABLE%20sales;--", "%27%29%20OR%201%3D1--", "note,%205"}) {
    HttpResult result = Api("/v1/note_search?note=" + value);
    ASSERT_EQ(result.status, 200) << value << result.body;
    size_t rows = Json(result).at("data").as_array().size();
    EXPECT_EQ(rows, value == "note,%205" ? 1u : 0u) << value;
  }
  EXPECT_EQ(Api("/v1/sales?limit=1").status, 200);  // the table is still there
}

TEST_F(ServerTest, EtagGivesNotModified) {
  HttpResult first = Api("/v1/sales?region=west");
  std::string etag = first.Header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(first.Header("cache-control"), "no-cache");
  HttpResult again = Api("/v1/sales?region=west", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.Header("etag"), etag);
  HttpResult other = Api("/v1/sales?region=north", {{"If-None-Match", etag}});
  EXPECT_EQ(other.status, 200);
  EXPECT_NE(other.Header("etag"), etag);
}

TEST_F(ServerTest, GzipWhenAskedAndLargeEnough) {
  for (int pass = 0; pass < 2; ++pass) {  // a miss, then a hit (the cached body's memoized deflate)
    HttpResult plain = Api("/v1/sales?region=north&limit=300");
    HttpResult zipped = Api("/v1/sales?region=north&limit=300", {{"Accept-Encoding", "gzip, deflate"}});
    ASSERT_EQ(zipped.status, 200);
    // A cache in front keys on what the body depended on, for the identity body too.
    EXPECT_EQ(zipped.Header("vary"), "Accept, Accept-Encoding");
    EXPECT_EQ(plain.Header("vary"), "Accept, Accept-Encoding");
    EXPECT_EQ(zipped.Header("content-encoding"), "gzip");
    EXPECT_LT(zipped.body.size(), plain.body.size() / 3);
    std::string inflated = Gunzip(zipped.body);
    ASSERT_FALSE(inflated.empty());
    json::value unzipped = json::parse(inflated);
    EXPECT_EQ(unzipped.at("data"), Json(plain).at("data"));
    EXPECT_EQ(unzipped.at("meta").at("cache").as_string(), "hit");
  }
  HttpResult small = Api("/v1/sales?ids=1", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(small.Header("content-encoding"), "");
  EXPECT_EQ(small.status, 200);
}

TEST_F(ServerTest, CsvAndNdjsonFormats) {
  HttpResult csv = Api("/v1/sales?region=north&limit=5&format=csv&columns=id,note");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.Header("content-type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv.body, "id,note\r\n0,\"note, 0\"\r\n4,\"note, 4\"\r\n8,\"note, 8\"\r\n12,\"note, 12\"\r\n16,\"note, 16\"\r\n");
  EXPECT_EQ(csv.Header("x-row-count"), "5");
  HttpResult ndjson = Api("/v2/sales?region=south&limit=3", {{"Accept", "application/x-ndjson"}});
  ASSERT_EQ(ndjson.status, 200);
  EXPECT_EQ(ndjson.Header("content-type"), "application/x-ndjson");
  EXPECT_EQ(ndjson.body, "{\"id\":1,\"revenue\":37}\n{\"id\":5,\"revenue\":185}\n{\"id\":9,\"revenue\":333}\n");
  EXPECT_EQ(Api("/v2/sales?region=south&format=csv").status, 422);  // csv not offered by v2
}

TEST_F(ServerTest, PagesConcatenateToTheWholeResult) {
  HttpResult all = Api("/v1/sales?region=east&limit=1000&columns=id&sort=-revenue");
  json::value all_body = Json(all);
  std::vector<json::value> expected;
  for (const auto& row : all_body.at("data").as_array()) expected.push_back(row);
  ASSERT_EQ(expected.size(), 600u);
  std::vector<json::value> paged;
  for (int offset = 0; offset < 700; offset += 128) {
    HttpResult page = Api("/v1/sales?region=east&limit=128&columns=id&sort=-revenue&offset=" + std::to_string(offset));
    ASSERT_EQ(page.status, 200);
    json::object body = Json(page).as_object();
    EXPECT_EQ(body["meta"].at("total").as_int64(), 600);
    for (const auto& row : body["data"].as_array()) paged.push_back(row);
  }
  EXPECT_EQ(paged, expected);
  EXPECT_EQ(all_body.at("data").as_array()[0].as_object().size(), 1u);  // only the asked column
}

TEST_F(ServerTest, AggregatesMatchTheData) {
  HttpResult result = Api("/v1/sales_by_region?min_qty=5");
  ASSERT_EQ(result.status, 200) << result.body;
  std::map<std::string, std::pair<int64_t, int64_t>> expected;
  std::map<std::string, int64_t> max_qty;
  for (int row = 0; row < 2400; ++row) {
    if (QtyOf(row) < 5) continue;
    expected[RegionOf(row)].first += RevenueOf(row, 0);
    expected[RegionOf(row)].second += 1;
    max_qty[RegionOf(row)] = std::max<int64_t>(max_qty[RegionOf(row)], QtyOf(row));
  }
  json::value body = Json(result);
  const json::array& data = body.at("data").as_array();
  ASSERT_EQ(data.size(), 4u);
  for (const auto& row : data) {
    std::string region(row.at("region").as_string());
    EXPECT_EQ(row.at("revenue").to_number<int64_t>(), expected[region].first) << region;
    EXPECT_EQ(row.at("orders").as_int64(), expected[region].second) << region;
    EXPECT_EQ(row.at("max_qty").as_int64(), max_qty[region]);
  }
  HttpResult list = Api("/v1/sales?ids=3,1,2&columns=id&region=n");  // value alias n → north
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(Json(list).at("data").as_array().size(), 0u);  // 1, 2, 3 are south, east, west
  HttpResult some = Api("/v1/sales?ids=4,8,5&columns=id");
  EXPECT_EQ(json::serialize(Json(some).at("data")), R"([{"id":4},{"id":5},{"id":8}])");
}

TEST_F(ServerTest, NestedParquetColumnsAreNativeJson) {
  HttpResult result = Api("/v1/items?limit=3");
  ASSERT_EQ(result.status, 200) << result.body;
  // Compared as text: DECIMAL must keep its exact digits, which a JSON parser would turn into doubles.
  EXPECT_EQ(result.body.substr(0, result.body.find(",\"meta\"")),
            R"({"data":[{"id":0,"info":{"name":"item 0","tags":[]},"scores":{"x":0,"y":0},"pair":[0,1],"price":0.00},)"
            R"({"id":1,"info":{"name":"item 1","tags":["a"]},"scores":{"x":1,"y":2},"pair":[1,2],"price":1.50},)"
            R"({"id":2,"info":{"name":"item 2","tags":["a","b"]},"scores":{"x":2,"y":4},"pair":[2,3],"price":3.00}])");
}

TEST_F(ServerTest, CorsHeadersForAllowedOriginsOnly) {
  HttpResult allowed = Api("/v1/sales?limit=1", {{"Origin", "https://dashboard.example"}});
  EXPECT_EQ(allowed.Header("access-control-allow-origin"), "https://dashboard.example");
  HttpResult other = Api("/v1/sales?limit=1", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(other.Header("access-control-allow-origin"), "");
  HttpResult preflight = api_.Request("OPTIONS", "/v1/sales", {{"Origin", "https://dashboard.example"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_NE(preflight.Header("access-control-allow-methods").find("GET"), std::string::npos);
}

TEST_F(ServerTest, AdminPortServesHealthStatusMetricsAndOpenApi) {
  EXPECT_EQ(Admin("/live").status, 200);
  HttpResult ready = Admin("/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(Json(ready).at("datasets").at("shop").as_string(), "ready");
  HttpResult status = Admin("/status");
  ASSERT_EQ(status.status, 200);
  bool found = false;
  json::value status_body = Json(status);
  for (const auto& dataset : status_body.at("datasets").as_array()) {
    if (dataset.at("name").as_string() != "shop") continue;
    found = true;
    EXPECT_EQ(dataset.at("snapshot").at("tables").at(0).at("rows").as_int64(), 2400);
    EXPECT_GT(dataset.at("snapshot").at("bytes").as_int64(), 0);
  }
  EXPECT_TRUE(found);
  Api("/v1/sales?limit=1");
  HttpResult metrics = Admin("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("dram_requests_total{endpoint=\"/v1/sales\",status=\"200\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("dram_request_duration_seconds_bucket{endpoint=\"/v1/sales\",le=\"+Inf\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("dram_cache_hits_total"), std::string::npos);
  EXPECT_NE(metrics.body.find("dram_dataset_loads_total{dataset=\"shop\",result=\"ok\"}"), std::string::npos);
  HttpResult openapi = Admin("/openapi.json");
  json::object doc = Json(openapi).as_object();
  EXPECT_EQ(doc["openapi"].as_string(), "3.1.0");
  json::object& sales = doc["paths"].as_object()["/v1/sales"].as_object()["get"].as_object();
  json::value row_schema = sales["responses"].at("200").at("content").at("application/json").at("schema").at("properties").at("data").at("items");
  EXPECT_EQ(row_schema.at("properties").at("day").at("format").as_string(), "date");
  EXPECT_EQ(row_schema.at("properties").at("qty").at("type").at(0).as_string(), "integer");
  bool has_region_enum = false;
  for (const auto& param : sales["parameters"].as_array()) {
    if (param.at("name") == "region") has_region_enum = param.at("schema").as_object().contains("enum");
  }
  EXPECT_TRUE(has_region_enum);
  // The sort param lists its choices, descending ones too.
  for (const auto& param : sales["parameters"].as_array()) {
    if (param.at("name") != "sort") continue;
    EXPECT_EQ(json::serialize(param.at("schema").at("enum")), R"(["id","revenue","-id","-revenue"])");
  }
  // A SQL template: typed rows, and the columns param it accepts.
  json::object& notes = doc["paths"].as_object()["/v1/note_search"].as_object()["get"].as_object();
  json::value note_rows = notes["responses"].at("200").at("content").at("application/json").at("schema").at("properties").at("data").at("items");
  EXPECT_EQ(note_rows.at("properties").at("id").at("type").at(0).as_string(), "integer");
  bool has_columns = false;
  for (const auto& param : notes["parameters"].as_array()) has_columns = has_columns || param.at("name") == "columns";
  EXPECT_TRUE(has_columns);
  EXPECT_EQ(Admin("/schema").status, 200);
  // Admin routes do not exist on the API port.
  for (const char* route : {"/metrics", "/status", "/openapi.json", "/live"}) EXPECT_EQ(Api(route).status, 404) << route;
}

TEST_F(ServerTest, HeadRequestsHaveHeadersOnly) {
  HttpResult head = api_.Request("HEAD", "/v1/sales?limit=2");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_FALSE(head.Header("etag").empty());
}

TEST_F(ServerTest, OversizedHeadersAreRejected) {
  HttpResult result = Api("/v1/sales", {{"X-Big", std::string(40 * 1024, 'a')}});
  EXPECT_EQ(result.status, 431) << result.error;
}

// Last in this suite because it changes the data: a refresh swaps the snapshot while clients
// keep calling, and no request fails.
TEST_F(ServerTest, ZSnapshotSwapUnderLoadFailsNoRequest) {
  HttpResult before = Api("/v2/sales?region=north&limit=1");
  ASSERT_EQ(before.status, 200);
  std::string old_snapshot = before.Header("x-snapshot-id");
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> requests{0};
  std::atomic<int> started{0};   // clients that have seen a response
  std::atomic<int> switched{0};  // clients that have seen a second snapshot
  std::vector<std::vector<std::string>> seen(4);
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      HttpClient client("127.0.0.1", server_->api_port());
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      for (int i = 0; i < 50000 && !stop && std::chrono::steady_clock::now() < deadline; ++i) {
        // Alternate a cached and an uncached endpoint.
        HttpResult result = client.Get(i % 2 ? "/v1/sales?region=north&limit=5" : "/v2/sales?region=south&limit=5");
        requests++;
        if (result.status != 200) {
          failures++;
          continue;
        }
        std::string snapshot = result.Header("x-snapshot-id");
        if (seen[t].empty()) started++;
        if (seen[t].empty() || seen[t].back() != snapshot) {
          seen[t].push_back(snapshot);
          if (seen[t].size() == 2) switched++;
        }
      }
    });
  }
  auto wait_for = [](std::atomic<int>& counter, int target) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (counter.load() < target && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  wait_for(started, 4);
  project_->Write("data/sales/sales.csv", SalesCsv(2400, 5000));
  HttpClient admin("127.0.0.1", server_->admin_port());
  HttpResult refresh = admin.Request("POST", "/datasets/shop/refresh");
  EXPECT_EQ(refresh.status, 200) << refresh.body;
  wait_for(switched, 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  for (auto& client : clients) client.join();
  EXPECT_EQ(failures.load(), 0) << "of " << requests.load();
  EXPECT_GT(requests.load(), 50);
  for (const auto& sequence : seen) {
    ASSERT_EQ(sequence.size(), 2u) << "each client sees the old snapshot, then the new one, once";
    EXPECT_EQ(sequence[0], old_snapshot);
    EXPECT_NE(sequence[1], old_snapshot);
  }
  HttpResult after = Api("/v2/sales?region=north&limit=1");
  EXPECT_EQ(Json(after).at("data").at(0).at("revenue").as_int64(), RevenueOf(0, 5000));

  // A refresh that breaks an endpoint (a column disappears) is refused; the new data keeps serving.
  project_->Write("data/sales/sales.csv", "id,region,day,qty,note\n1,north,2024-01-01,1,x\n");
  HttpResult broken = admin.Request("POST", "/datasets/shop/refresh");
  EXPECT_NE(broken.status, 200);
  EXPECT_NE(broken.body.find("revenue"), std::string::npos) << broken.body;
  HttpResult still = Api("/v2/sales?region=north&limit=1");
  EXPECT_EQ(still.status, 200);
  EXPECT_EQ(still.Header("x-snapshot-id"), after.Header("x-snapshot-id"));
  json::value status = Json(Admin("/status"));
  for (const auto& dataset : status.at("datasets").as_array()) {
    if (dataset.at("name") == "shop") {
      EXPECT_FALSE(dataset.at("last_error").as_string().empty());
      EXPECT_GE(dataset.at("loads_failed").as_int64(), 1);
    }
  }
  // And a rollback returns to the first snapshot.
  HttpResult rollback = admin.Request("POST", "/datasets/shop/rollback");
  EXPECT_EQ(rollback.status, 200) << rollback.body;
  EXPECT_EQ(Api("/v2/sales?region=north&limit=1").Header("x-snapshot-id"), old_snapshot);
}

}  // namespace
}  // namespace dram::testing
