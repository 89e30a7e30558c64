// `dram shadow-diff` between real dram servers: identical projects pass (exit 0), a project with
// one endpoint changed on purpose fails (exit 1) and the report names that endpoint with both values.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <regex>
#include <sstream>

#include "integration/test_project.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace json = boost::json;

// Recorded requests in both formats, including one the servers refuse (422 on both: equal).
constexpr const char* kRequests = R"(# recorded requests
/v1/sales?region=north&limit=50
/v1/sales?min_qty=5&limit=200
/v1/sales?sort=revenue&limit=20
/v2/sales?region=east
/v1/sales?region=bogus
/v1/sales_by_region
/v1/sales_by_region?min_qty=3
127.0.0.1 - - [10/Oct/2024:13:55:36 +0000] "GET /v1/sales_by_region?min_qty=7 HTTP/1.1" 200 512 "-" "curl/8.0"
127.0.0.1 - - [10/Oct/2024:13:55:37 +0000] "GET /v1/items HTTP/1.1" 200 900 "-" "curl/8.0"
127.0.0.1 - - [10/Oct/2024:13:55:38 +0000] "POST /v1/sales HTTP/1.1" 405 0 "-" "curl/8.0"
)";

class ShadowDiffTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    live_project_ = new TempDir;
    same_project_ = new TempDir;
    changed_project_ = new TempDir;
    caches_ = new TempDir;
    WriteTestProject(*live_project_);
    WriteTestProject(*same_project_);
    WriteTestProject(*changed_project_);
    // The changed candidate computes `revenue` of sales_by_region from the wrong column.
    std::string endpoint = ReadFile(changed_project_->path() + "/endpoints/sales_by_region.yml");
    const std::string right = "{agg: sum, column: revenue, as: revenue}";
    ASSERT_NE(endpoint.find(right), std::string::npos);
    endpoint.replace(endpoint.find(right), right.size(), "{agg: sum, column: qty, as: revenue}");
    changed_project_->Write("endpoints/sales_by_region.yml", endpoint);
    live_ = ServerProcess::Start(live_project_->path(), caches_->path() + "/live").release();
    same_ = ServerProcess::Start(same_project_->path(), caches_->path() + "/same").release();
    changed_ = ServerProcess::Start(changed_project_->path(), caches_->path() + "/changed").release();
    caches_->Write("requests.txt", kRequests);
  }
  static void TearDownTestSuite() {
    delete live_;
    delete same_;
    delete changed_;
    delete live_project_;
    delete same_project_;
    delete changed_project_;
    delete caches_;
  }
  void SetUp() override {
    ASSERT_NE(live_, nullptr);
    ASSERT_NE(same_, nullptr);
    ASSERT_NE(changed_, nullptr);
  }

  static std::string Url(const ServerProcess* server) { return "http://127.0.0.1:" + std::to_string(server->api_port()); }

  // Runs the real binary (bounded by timeout(1)) and reads its JSON report.
  static CommandResult ShadowDiff(const std::string& candidate, std::vector<std::string> extra, json::value* report,
                                  const std::string& requests_file = "") {
    std::string report_path = caches_->path() + "/report.json";
    std::remove(report_path.c_str());
    std::vector<std::string> argv = {"/usr/bin/timeout", "120", DramBinary(), "shadow-diff", "--live", Url(live_),
                                     "--candidate", candidate, "--requests",
                                     requests_file.empty() ? caches_->path() + "/requests.txt" : requests_file,
                                     "--report", report_path, "--timeout", "10000"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    CommandResult result = RunCommand(argv);
    std::ifstream in(report_path);
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code error;
    if (report) *report = json::parse(text.str(), error);
    return result;
  }

  static const json::object* Endpoint(const json::value& report, const std::string& path) {
    for (const auto& endpoint : report.at("endpoints").as_array()) {
      if (endpoint.at("endpoint").as_string() == path) return &endpoint.as_object();
    }
    return nullptr;
  }

  static TempDir* live_project_;
  static TempDir* same_project_;
  static TempDir* changed_project_;
  static TempDir* caches_;
  static ServerProcess* live_;
  static ServerProcess* same_;
  static ServerProcess* changed_;
};

TempDir* ShadowDiffTest::live_project_ = nullptr;
TempDir* ShadowDiffTest::same_project_ = nullptr;
TempDir* ShadowDiffTest::changed_project_ = nullptr;
TempDir* ShadowDiffTest::caches_ = nullptr;
ServerProcess* ShadowDiffTest::live_ = nullptr;
ServerProcess* ShadowDiffTest::same_ = nullptr;
ServerProcess* ShadowDiffTest::changed_ = nullptr;

TEST_F(ShadowDiffTest, IdenticalServersPass) {
  json::value report;
  CommandResult result = ShadowDiff(Url(same_), {"--concurrency", "4"}, &report);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("PASS"), std::string::npos) << result.output;
  ASSERT_TRUE(report.is_object()) << result.output;
  EXPECT_EQ(report.at("requests").as_int64(), 9);  // the POST line is not replayed
  EXPECT_EQ(report.at("equal").as_int64(), 9) << json::serialize(report);
  EXPECT_EQ(report.at("different").as_int64(), 0);
  EXPECT_EQ(report.at("errors").as_int64(), 0);
  EXPECT_TRUE(report.at("passed").as_bool());
  const json::object* sales = Endpoint(report, "/v1/sales");
  ASSERT_NE(sales, nullptr);
  EXPECT_EQ(sales->at("requests").as_int64(), 4);
  EXPECT_EQ(sales->at("equal").as_int64(), 4);
}

TEST_F(ShadowDiffTest, AChangedEndpointIsReportedWithBothValuesAndFails) {
  json::value report;
  CommandResult result = ShadowDiff(Url(changed_), {}, &report);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("FAIL"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("/v1/sales_by_region"), std::string::npos) << result.output;
  ASSERT_TRUE(report.is_object()) << result.output;
  EXPECT_FALSE(report.at("passed").as_bool());
  EXPECT_EQ(report.at("different").as_int64(), 3) << json::serialize(report);
  const json::object* changed = Endpoint(report, "/v1/sales_by_region");
  ASSERT_NE(changed, nullptr) << json::serialize(report);
  EXPECT_EQ(changed->at("requests").as_int64(), 3);
  EXPECT_EQ(changed->at("different").as_int64(), 3);
  const json::array& differences = changed->at("differences").as_array();
  ASSERT_FALSE(differences.empty());
  // The live value is a sum of revenue, the candidate's a sum of qty: both shown, and different.
  const json::object& first = differences[0].as_object();
  EXPECT_NE(first.at("where").as_string().find(".revenue"), std::string::npos) << json::serialize(first);
  EXPECT_NE(first.at("live").as_string(), first.at("candidate").as_string());
  EXPECT_FALSE(first.at("live").as_string().empty());
  EXPECT_FALSE(first.at("candidate").as_string().empty());
  // Every other endpoint is equal.
  const json::object* sales = Endpoint(report, "/v1/sales");
  ASSERT_NE(sales, nullptr);
  EXPECT_EQ(sales->at("equal").as_int64(), 4);

  // A threshold above the mismatch ratio (3 of 9) lets it pass; ignoring the field does too.
  EXPECT_EQ(ShadowDiff(Url(changed_), {"--threshold", "0.4"}, nullptr).exit_code, 0);
  result = ShadowDiff(Url(changed_), {"--ignore", "revenue"}, &report);
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST_F(ShadowDiffTest, TransportFailuresAreErrorsAndUsageErrorsExitTwo) {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  json::value report;
  CommandResult result = ShadowDiff("http://127.0.0.1:1", {"--max-requests", "3"}, &report);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  ASSERT_TRUE(report.is_object()) << result.output;
  EXPECT_EQ(report.at("requests").as_int64(), 3);
  EXPECT_EQ(report.at("errors").as_int64(), 3);

  EXPECT_EQ(RunCommand({DramBinary(), "shadow-diff", "--live", Url(live_)}).exit_code, 2);
  EXPECT_EQ(RunCommand({DramBinary(), "shadow-diff", "--live", "ftp://x", "--candidate", Url(same_), "--requests", "x"}).exit_code, 2);
  EXPECT_EQ(ShadowDiff(Url(same_), {"--concurrency", "0"}, nullptr).exit_code, 2);
  EXPECT_EQ(ShadowDiff(Url(same_), {"--rename", "nothing"}, nullptr).exit_code, 2);
  CommandResult help = RunCommand({DramBinary(), "shadow-diff", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("DRAM_SHADOW_LIVE_HEADERS"), std::string::npos);
}

// Credentials come from the environment, per system: a candidate that requires an API key is
// different (401) without DRAM_SHADOW_CANDIDATE_HEADERS and equal with it.
TEST_F(ShadowDiffTest, HeadersPerSystemComeFromTheEnvironment) {
  TempDir project;
  TempDir cache;
  WriteTestProject(project);
  project.Write("dram.yml", "auth:\n  mode: keys\n  keys_file: keys.json\nengine:\n  threads: 1\n  pool_size: 2\n");
  CommandResult created = RunCommand({DramBinary(), "keys", "create", project.path(), "--tenant", "acme"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(created.output, match, std::regex("(dram_[0-9a-f]{12}_[A-Za-z0-9_-]+)"))) << created.output;
  const std::string token = match[1];
  auto secured = ServerProcess::Start(project.path(), cache.path());
  ASSERT_NE(secured, nullptr);
  caches_->Write("few.txt", "/v1/sales_by_region\n/v1/sales?region=west&limit=5\n");
  std::vector<std::string> argv = {"/usr/bin/timeout", "60", DramBinary(), "shadow-diff", "--live", Url(live_), "--candidate",
                                   "http://127.0.0.1:" + std::to_string(secured->api_port()), "--requests",
                                   caches_->path() + "/few.txt"};
  CommandResult refused = RunCommand(argv);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("HTTP 401"), std::string::npos) << refused.output;
  CommandResult allowed = RunCommand(argv, {{"DRAM_SHADOW_CANDIDATE_HEADERS", "Authorization: Bearer " + token + "\n"}});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
  // The token is never printed.
  EXPECT_EQ(allowed.output.find(token), std::string::npos);
}

// The measured figure (issue 17): request pairs per second at concurrency 16, both servers local.
TEST_F(ShadowDiffTest, ThroughputAtConcurrency16) {
  std::string lines;
  for (int i = 0; i < 2000; ++i) {
    lines += "/v1/sales?min_qty=" + std::to_string(1 + i % 10) + "&limit=" + std::to_string(10 + i % 50) + "\n";
  }
  caches_->Write("many.txt", lines);
  json::value report;
  CommandResult result = ShadowDiff(Url(same_), {"--concurrency", "16"}, &report, caches_->path() + "/many.txt");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  ASSERT_TRUE(report.is_object()) << result.output;
  EXPECT_EQ(report.at("equal").as_int64(), 2000);
  std::printf("shadow-diff throughput: %.0f request pairs/s at concurrency 16\n",
              report.at("requests_per_second").to_number<double>());

  // --rate bounds it: 20 pairs at 100/s take at least ~0.19 s.
  result = ShadowDiff(Url(same_), {"--rate", "100", "--max-requests", "20"}, &report, caches_->path() + "/many.txt");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_GE(report.at("elapsed_seconds").to_number<double>(), 0.18);
}

}  // namespace
}  // namespace dram::testing
