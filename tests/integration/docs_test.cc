// The API reference page (/docs): rendered by Redoc in a real headless Chromium from the real
// server, and the rules on who sees it and which rows its examples show.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "integration/test_project.h"
#include "testutil/headless_chromium.h"
#include "testutil/http_client.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace json = boost::json;

// Redoc's sidebar links to Redocly with a logo on their CDN; the page's CSP blocks it, which is
// the only request the page tries to make to another origin.
constexpr std::string_view kRedoclyLogo = "https://cdn.redoc.ly/redoc/logo-mini.svg";

json::value ParseJson(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  EXPECT_FALSE(ec) << text.substr(0, 300);
  return value;
}

// The OpenAPI document a /docs page carries (its '<' are \u003c escapes, which JSON reads back).
json::object EmbeddedDocument(const std::string& html) {
  constexpr std::string_view kStart = "<script type=\"application/json\" id=\"openapi\">";
  size_t start = html.find(kStart);
  size_t end = start == std::string::npos ? start : html.find("</script>", start);
  if (end == std::string::npos) {
    ADD_FAILURE() << "no embedded document in " << html.substr(0, 500);
    return {};
  }
  start += kStart.size();
  return ParseJson(std::string_view(html).substr(start, end - start)).as_object();
}

const json::object& Operation(const json::object& document, const std::string& path) {
  return document.at("paths").at(path).at("get").as_object();
}

const json::value* ResponseExample(const json::object& document, const std::string& path) {
  return Operation(document, path).at("responses").at("200").at("content").at("application/json").as_object().if_contains("example");
}

std::string CurlSample(const json::object& document, const std::string& path) {
  return std::string(Operation(document, path).at("x-codeSamples").at(0).at("source").as_string());
}

std::string Quoted(const std::string& text) { return json::serialize(json::value(text)); }

class DocsServerTest : public ::testing::Test {
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

  std::string AdminUrl(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_->admin_port()) + path; }

  static TempDir* project_;
  static TempDir* cache_;
  static ServerProcess* server_;
  HttpClient api_{"127.0.0.1", server_->api_port()};
  HttpClient admin_{"127.0.0.1", server_->admin_port()};
};

TempDir* DocsServerTest::project_ = nullptr;
TempDir* DocsServerTest::cache_ = nullptr;
ServerProcess* DocsServerTest::server_ = nullptr;

TEST_F(DocsServerTest, ChromiumRendersEveryEndpointWithItsParamsAndExamples) {
  HttpResult openapi = admin_.Get("/openapi.json");
  ASSERT_EQ(openapi.status, 200);
  const json::object paths = ParseJson(openapi.body).at("paths").as_object();
  ASSERT_EQ(paths.size(), 5u) << openapi.body.substr(0, 300);

  auto browser = HeadlessChromium::Start(1280, 1600);
  ASSERT_TRUE(browser.ok()) << browser.status().ToString();
  HeadlessChromium& chromium = **browser;
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(chromium.Navigate(AdminUrl("/docs"), std::chrono::seconds(30)).ok()) << chromium.log();
  // Redoc renders one section per operation; wait until every one is there.
  Status rendered = chromium.WaitFor("document.querySelectorAll('[data-section-id^=\"operation/\"]').length >= " +
                                         std::to_string(paths.size()),
                                     std::chrono::seconds(30));
  auto render_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(rendered.ok()) << rendered.ToString() << "\n" << chromium.log();
  std::printf("docs page: navigation to every operation rendered in %lld ms\n", static_cast<long long>(render_ms));
  RecordProperty("render_ms", static_cast<int>(render_ms));

  // What a reader sees (innerText: rendered and visible, never the embedded document).
  auto sections = chromium.Evaluate(
      "Object.fromEntries(Array.from(document.querySelectorAll('[data-section-id^=\"operation/\"]'))"
      ".map(s => [s.getAttribute('data-section-id'), s.innerText]))");
  ASSERT_TRUE(sections.ok()) << sections.status().ToString();
  for (const auto& [path, item] : paths) {
    const json::object& operation = item.at("get").as_object();
    std::string id = "operation/" + std::string(operation.at("operationId").as_string());
    const json::value* text = sections->as_object().if_contains(id);
    ASSERT_NE(text, nullptr) << "no section " << id;
    const std::string shown(text->as_string());
    EXPECT_NE(shown.find(std::string(path)), std::string::npos) << id << ": " << shown.substr(0, 400);
    for (const auto& param : operation.at("parameters").as_array()) {
      std::string name(param.at("name").as_string());
      EXPECT_NE(shown.find(name), std::string::npos) << id << " does not show its param " << name;
    }
    EXPECT_NE(shown.find("curl"), std::string::npos) << id << " has no example request";
    EXPECT_NE(shown.find(std::string(path) + "?limit=2"), std::string::npos) << id << " example request";
  }
  // A real response: /v1/sales's first page (ordered by id) starts with row 0.
  const std::string sales(sections->at("operation/sales_v1").as_string());
  EXPECT_NE(sales.find("\"note, 0\""), std::string::npos) << sales;
  EXPECT_NE(sales.find("\"example\""), std::string::npos) << "the meta of a real example names its request id";
  // /v1/note_search needs a free-text param: no call, and the page says its sample is derived.
  const std::string note_search(sections->at("operation/note_search_v1").as_string());
  EXPECT_NE(note_search.find("generated from the schema"), std::string::npos) << note_search;
  EXPECT_NE(note_search.find("note=${NOTE}"), std::string::npos) << note_search;

  // Everything came from the admin port itself (the one other request the page tries, Redoc's
  // logo, was blocked by the CSP before it was sent), and no request carried an Origin header,
  // which the admin port refuses: the page loads its scripts the way a browser loads any script.
  const std::string origin = AdminUrl("");
  std::set<std::string> blocked_by_csp;
  for (const auto& event : chromium.events()) {
    if (event.at("method") != "Network.loadingFailed") continue;
    const json::value* reason = event.at("params").as_object().if_contains("blockedReason");
    if (reason && *reason == "csp") blocked_by_csp.insert(std::string(event.at("params").at("requestId").as_string()));
  }
  int requests = 0;
  for (const auto& event : chromium.events()) {
    if (event.at("method") != "Network.requestWillBeSent") continue;
    const json::object& request = event.at("params").at("request").as_object();
    std::string url(request.at("url").as_string());
    if (url.starts_with("data:") || url.starts_with("blob:")) continue;
    if (!url.starts_with(origin + "/")) {
      EXPECT_EQ(url, kRedoclyLogo) << "the page tried another origin";
      EXPECT_TRUE(blocked_by_csp.contains(std::string(event.at("params").at("requestId").as_string()))) << url << " was sent";
      continue;
    }
    ++requests;
    EXPECT_FALSE(request.at("headers").as_object().contains("Origin")) << url;
  }
  EXPECT_EQ(requests, 3) << "the page, Redoc and the script that starts it";
  auto violations = chromium.CspViolations();
  ASSERT_TRUE(violations.ok()) << violations.status().ToString();
  for (const auto& violation : *violations) {
    EXPECT_EQ(std::string(violation.at("blockedURI").as_string()), kRedoclyLogo) << json::serialize(violation);
  }

  auto png = chromium.Screenshot();
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  ASSERT_TRUE(png->starts_with("\x89PNG\r\n")) << "not a PNG";
  std::filesystem::create_directories(DRAM_TEST_ARTIFACTS_DIR);
  const std::string artifact = std::string(DRAM_TEST_ARTIFACTS_DIR) + "/docs.png";
  std::ofstream(artifact, std::ios::binary) << *png;
  std::printf("docs page: screenshot %s (%zu bytes)\n", artifact.c_str(), png->size());
}

TEST_F(DocsServerTest, PageAndAssetsOnTheAdminPortOnlyByDefault) {
  HttpResult page = admin_.Get("/docs");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(page.Header("content-security-policy").find("default-src 'none'; script-src 'self';"), 0u);
  EXPECT_EQ(page.Header("cache-control"), "no-store");
  std::smatch scripts;
  const std::string body = page.body;
  ASSERT_TRUE(std::regex_search(body, scripts, std::regex(R"re(<script src="(docs/assets/redoc-[0-9a-f]{16}\.js)"></script>\s*<script src="(docs/assets/init-[0-9a-f]{16}\.js)">)re")))
      << body.substr(body.size() > 400 ? body.size() - 400 : 0);
  HttpResult redoc = admin_.Get("/" + scripts[1].str());
  ASSERT_EQ(redoc.status, 200);
  EXPECT_EQ(redoc.Header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(redoc.body.size(), 1103471u) << "redoc@2.5.4's standalone bundle, as fetched";
  EXPECT_EQ(redoc.Header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(admin_.Get("/" + scripts[2].str()).status, 200);
  EXPECT_EQ(admin_.Get("/docs/assets/redoc-0000000000000000.js").status, 404);
  EXPECT_EQ(admin_.Get("/docs/").status, 404);
  // The admin port's rule on browsers holds for the page too.
  EXPECT_EQ(admin_.Get("/docs", {{"Origin", "https://evil.example"}}).status, 403);

  // The API port has no page unless server.public_docs says so.
  EXPECT_EQ(api_.Get("/docs").status, 404);
  EXPECT_EQ(api_.Get("/" + scripts[1].str()).status, 404);

  // With no authentication every endpoint is anonymous: example requests carry no credentials.
  json::object document = EmbeddedDocument(page.body);
  const std::string base = "http://127.0.0.1:" + std::to_string(server_->api_port());
  EXPECT_EQ(document.at("servers").at(0).at("url").as_string(), base);
  EXPECT_EQ(CurlSample(document, "/v1/sales"), "curl \"" + base + "/v1/sales?limit=2\"");
  const json::value* example = ResponseExample(document, "/v1/sales");
  ASSERT_NE(example, nullptr);
  EXPECT_EQ(example->at("data").as_array().size(), 2u);
  EXPECT_EQ(example->at("data").at(0).at("id"), 0);
  EXPECT_EQ(example->at("meta").at("total"), 2400);
  EXPECT_EQ(CurlSample(document, "/v2/sales"), "curl \"" + base + "/v2/sales?limit=2&region=${REGION}\"");
  EXPECT_EQ(ResponseExample(document, "/v2/sales"), nullptr);
  ASSERT_NE(ResponseExample(document, "/v1/items"), nullptr) << "Parquet with nested columns";
}

// A project with authentication, a tenant-scoped endpoint, a public one, public docs and an
// admin token.
class PublicDocsTest : public ::testing::Test {
 protected:
  static constexpr const char* kAdminToken = "docs-test-admin-token";
  static void SetUpTestSuite() {
    project_ = new TempDir();
    cache_ = new TempDir();
    WriteTestProject(*project_);
    project_->Write("dram.yml", R"(server:
  public_docs: true
auth:
  mode: keys
  keys_file: keys.json
engine:
  threads: 1
  pool_size: 2
)");
    project_->Write("endpoints/sales_by_region.yml", R"(name: sales_by_region
version: 1
dataset: shop
public: true
group_by: [region]
select:
  - region
  - {agg: sum, column: revenue, as: revenue}
order_by: [region]
)");
    project_->Write("endpoints/region_sales.yml", R"(name: region_sales
version: 1
dataset: shop
tenant_column: region
columns: [id, note]
order_by: [id]
)");
    server_ = ServerProcess::Start(project_->path(), cache_->path(), {{"DRAM_ADMIN_TOKEN", kAdminToken}}).release();
    ASSERT_NE(server_, nullptr) << "dram did not start";
  }
  static void TearDownTestSuite() {
    delete server_;
    delete cache_;
    delete project_;
  }

  static TempDir* project_;
  static TempDir* cache_;
  static ServerProcess* server_;
  HttpClient api_{"127.0.0.1", server_->api_port()};
  HttpClient admin_{"127.0.0.1", server_->admin_port()};
};

TempDir* PublicDocsTest::project_ = nullptr;
TempDir* PublicDocsTest::cache_ = nullptr;
ServerProcess* PublicDocsTest::server_ = nullptr;

TEST_F(PublicDocsTest, AdminPageNeedsTheTokenAndNeverShowsTenantRows) {
  EXPECT_EQ(admin_.Get("/docs").status, 401);
  HttpResult page = admin_.Get("/docs", {{"Authorization", std::string("Bearer ") + kAdminToken}});
  ASSERT_EQ(page.status, 200) << page.body;
  json::object document = EmbeddedDocument(page.body);
  // Operators see the rows of every endpoint that is not tenant-scoped.
  ASSERT_NE(ResponseExample(document, "/v1/sales"), nullptr);
  ASSERT_NE(ResponseExample(document, "/v1/sales_by_region"), nullptr);
  // A tenant's rows, never: the sample is derived from the schema, and the notes of the rows
  // region_sales would return appear nowhere in the page.
  EXPECT_EQ(ResponseExample(document, "/v1/region_sales"), nullptr);
  std::string description(Operation(document, "/v1/region_sales").at("responses").at("200").at("description").as_string());
  EXPECT_NE(description.find("tenant-scoped"), std::string::npos) << description;
  EXPECT_NE(CurlSample(document, "/v1/region_sales").find("Authorization: Bearer ${DRAM_TOKEN}"), std::string::npos);
  EXPECT_EQ(CurlSample(document, "/v1/sales_by_region").find("Authorization"), std::string::npos) << "public";
  EXPECT_NE(page.body.find(Quoted("note, 0")), std::string::npos) << "/v1/sales' first row";
}

TEST_F(PublicDocsTest, ApiPortServesThePageWithRowsOnlyOfAnonymousEndpoints) {
  HttpResult page = api_.Get("/docs");  // no credentials
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_FALSE(page.Header("content-security-policy").empty());
  json::object document = EmbeddedDocument(page.body);
  // Every endpoint is listed, with its example request.
  for (const char* path : {"/v1/sales", "/v2/sales", "/v1/sales_by_region", "/v1/region_sales", "/v1/note_search", "/v1/items"}) {
    EXPECT_TRUE(document.at("paths").as_object().contains(path)) << path;
  }
  // Rows only where an anonymous caller could have them: the public endpoint.
  const json::value* regions = ResponseExample(document, "/v1/sales_by_region");
  ASSERT_NE(regions, nullptr);
  EXPECT_EQ(regions->at("data").at(0).at("region"), "east");
  EXPECT_EQ(ResponseExample(document, "/v1/sales"), nullptr);
  EXPECT_EQ(ResponseExample(document, "/v1/region_sales"), nullptr);
  EXPECT_EQ(page.body.find(Quoted("note, 0")), std::string::npos);
  std::string description(Operation(document, "/v1/sales").at("responses").at("200").at("description").as_string());
  EXPECT_NE(description.find("needs credentials"), std::string::npos) << description;
  // Its scripts are served here too, and the endpoints still need credentials.
  std::smatch script;
  ASSERT_TRUE(std::regex_search(page.body, script, std::regex(R"re(src="(docs/assets/redoc-[0-9a-f]{16}\.js)")re")));
  EXPECT_EQ(api_.Get("/" + script[1].str()).status, 200);
  EXPECT_EQ(api_.Get("/v1/sales").status, 401);
  EXPECT_EQ(api_.Get("/v1/sales_by_region").status, 200);
}

}  // namespace
}  // namespace dram::testing
