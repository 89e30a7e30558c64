// The shipped monitoring against the real thing: a dram member (catalog + one-member cluster, so
// every family the rules and the dashboard name is exported) scraped by Debian's Prometheus with
// deploy/prometheus/dram-rules.yml loaded. Metric names are read from the rules Prometheus loaded
// and from deploy/grafana/dram.json, never listed here, so a rule or panel that names a metric
// dram does not export fails this test.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <functional>
#include <iostream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/test_project.h"
#include "testutil/command.h"
#include "testutil/etcd_cluster.h"
#include "testutil/http_client.h"
#include "testutil/prometheus_process.h"
#include "testutil/server_process.h"
#include "testutil/temp_dir.h"

namespace dram::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr char kAdminToken[] = "monitoring-test-token";

std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// Names of dram's series in a PromQL expression: exported metrics (dram_…) and recording rules (dram:…).
std::set<std::string> MetricNames(const std::string& expr) {
  static const std::regex kName(R"(\bdram[_:][A-Za-z0-9_:]*)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kName); it != std::sregex_iterator(); ++it) names.insert(it->str());
  return names;
}

// A dashboard expression as Grafana would send it: template variables replaced by "all" values.
std::string Substitute(std::string expr) {
  const std::vector<std::pair<std::string, std::string>> variables = {
      {"$__rate_interval", "1m"}, {"$__interval", "15s"}, {"$__range", "5m"}, {"${instance}", ".*"},
      {"$instance", ".*"},        {"${endpoint}", ".*"},  {"$endpoint", ".*"}};
  for (const auto& [name, value] : variables) {
    for (size_t at = expr.find(name); at != std::string::npos; at = expr.find(name, at + value.size())) {
      expr.replace(at, name.size(), value);
    }
  }
  return expr;
}

// Every `expr` of the dashboard's panels (rows included) and the queries of its variables.
void CollectDashboard(const json::value& value, std::vector<std::string>& exprs, std::set<std::string>& names) {
  if (value.is_array()) {
    for (const auto& item : value.as_array()) CollectDashboard(item, exprs, names);
    return;
  }
  if (!value.is_object()) return;
  for (const auto& [key, item] : value.as_object()) {
    if (key == "expr" && item.is_string()) exprs.emplace_back(item.as_string());
    // label_values(…) is Grafana's, not PromQL: its metric must exist, it is not evaluated.
    if (key == "definition" && item.is_string()) names.merge(MetricNames(std::string(item.as_string())));
    CollectDashboard(item, exprs, names);
  }
}

class MonitoringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PrometheusProcess::Installed()) {
      GTEST_SKIP() << "prometheus is not installed (Debian package prometheus; scripts/setup.sh installs it)";
    }
  }

  // GET on Prometheus's HTTP API; the parsed `data`, or null (with a test failure) on an error.
  json::value Api(HttpClient& client, const std::string& target) {
    HttpResult result = client.Get(target);
    if (result.status != 200) {
      ADD_FAILURE() << target << " answered " << result.status << ": " << result.body;
      return nullptr;
    }
    json::value body = json::parse(result.body);
    return body.as_object().at("data");
  }
};

TEST_F(MonitoringTest, PrometheusScrapesDramAndEveryRuleAndPanelFindsItsSeries) {
  const auto started = std::chrono::steady_clock::now();
  TempDir project, catalog, cache;
  WriteTestProject(project);
  CommandResult apply = RunCommand({DramBinary(), "apply", project.path(), "--catalog", catalog.path()});
  ASSERT_EQ(apply.exit_code, 0) << apply.output;
  auto etcd = EtcdCluster::Start(1);
  ASSERT_NE(etcd, nullptr) << "etcd did not start";
  const std::string advertise = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
  auto server = ServerProcess::Launch({DramBinary(), "serve", "--catalog", catalog.path(), "--cluster", "monitoring", "--etcd",
                                       etcd->endpoints(), "--advertise", advertise, "--listen", advertise, "--admin-listen",
                                       "127.0.0.1:0", "--cache-dir", cache.path(), "--poll-interval", "200", "--ready-file",
                                       "{READY}"},
                                      {{"DRAM_ADMIN_TOKEN", kAdminToken}});
  ASSERT_NE(server, nullptr) << "dram did not start";

  // Traffic with answers of several kinds: rows, a cache hit, 422, 404 (unmatched).
  HttpClient api("127.0.0.1", server->api_port());
  ASSERT_TRUE(WaitFor([&] { return api.Get("/v1/sales?region=north&limit=2").status == 200; }, 60s)) << server->log();
  EXPECT_EQ(api.Get("/v1/sales?region=north&limit=2").status, 200);
  EXPECT_EQ(api.Get("/v1/sales_by_region").status, 200);
  EXPECT_EQ(api.Get("/v1/sales?region=nowhere").status, 422);
  EXPECT_EQ(api.Get("/v1/sales?limit=99999").status, 422);
  EXPECT_EQ(api.Get("/v1/no_such_endpoint").status, 404);

  // The scrape sends the admin token: /metrics needs it unless admin.public_read.
  const std::string rules = std::string(DRAM_SOURCE_DIR) + "/deploy/prometheus/dram-rules.yml";
  const std::string config = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                             "rule_files:\n  - " + rules + "\n"
                             "scrape_configs:\n  - job_name: dram\n    authorization:\n      credentials: " + kAdminToken +
                             "\n    static_configs:\n      - targets: ['127.0.0.1:" + std::to_string(server->admin_port()) + "']\n";
  std::string prometheus_log;
  auto prometheus = PrometheusProcess::Start(config, prometheus_log);
  ASSERT_NE(prometheus, nullptr) << prometheus_log;
  HttpClient client("127.0.0.1", prometheus->port());

  ASSERT_TRUE(WaitFor([&] {
    json::value up = Api(client, "/api/v1/query?query=" + UrlEncode("up{job=\"dram\"} == 1"));
    return up.is_object() && !up.at("result").as_array().empty();
  }, 15s)) << "the dram target never came up:\n" << client.Get("/api/v1/targets").body;

  // The rules Prometheus loaded, and the series they name.
  std::set<std::string> names;
  std::vector<std::string> rule_names;
  auto rule_groups = [&] { return Api(client, "/api/v1/rules"); };
  json::value loaded = rule_groups();
  ASSERT_TRUE(loaded.is_object());
  for (const auto& group : loaded.at("groups").as_array()) {
    for (const auto& rule : group.at("rules").as_array()) {
      rule_names.emplace_back(rule.at("name").as_string());
      names.merge(MetricNames(std::string(rule.at("query").as_string())));
    }
  }
  EXPECT_GE(rule_names.size(), 15u) << "the rules file was not loaded whole";

  // Rates need two scrapes, recording rules an evaluation after that: wait until every rule has
  // been evaluated since the second scrape and every name has a series.
  std::set<std::string> missing;
  const bool all_present = WaitFor([&] {
    missing.clear();
    for (const auto& name : names) {
      json::value series = Api(client, "/api/v1/query?query=" + UrlEncode("count({__name__=\"" + name + "\"})"));
      if (!series.is_object() || series.at("result").as_array().empty()) missing.insert(name);
    }
    return missing.empty();
  }, 20s);
  std::string missing_list;
  for (const auto& name : missing) missing_list += name + " ";
  EXPECT_TRUE(all_present) << "series named by the rules that Prometheus does not have: " << missing_list;

  // Every rule evaluates cleanly (a rule not evaluated yet says "unknown": wait for that to pass).
  auto all_evaluated = [&] {
    loaded = rule_groups();
    for (const auto& group : loaded.at("groups").as_array()) {
      for (const auto& rule : group.at("rules").as_array()) {
        if (rule.at("health").as_string() == "unknown") return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(WaitFor(all_evaluated, 10s)) << json::serialize(loaded);
  for (const auto& group : loaded.at("groups").as_array()) {
    for (const auto& rule : group.at("rules").as_array()) {
      EXPECT_EQ(rule.at("health").as_string(), "ok") << rule.at("name").as_string() << ": " << json::serialize(rule);
    }
  }

  // The dashboard: every panel's expression evaluates and every series it names exists.
  json::value dashboard = json::parse(ReadFile(std::string(DRAM_SOURCE_DIR) + "/deploy/grafana/dram.json"));
  std::vector<std::string> exprs;
  std::set<std::string> dashboard_names;
  CollectDashboard(dashboard, exprs, dashboard_names);
  ASSERT_GE(exprs.size(), 20u);
  for (const auto& expr : exprs) {
    dashboard_names.merge(MetricNames(expr));
    HttpResult result = client.Get("/api/v1/query?query=" + UrlEncode(Substitute(expr)));
    EXPECT_EQ(result.status, 200) << expr << "\n" << result.body;
  }
  for (const auto& name : dashboard_names) {
    json::value series = Api(client, "/api/v1/query?query=" + UrlEncode("count({__name__=\"" + name + "\"})"));
    EXPECT_TRUE(series.is_object() && !series.at("result").as_array().empty()) << "the dashboard names " << name << ", which dram does not export";
  }

  // The traffic above is what Prometheus saw: the 422s and the 404 are in the counters.
  json::value errors = Api(client, "/api/v1/query?query=" + UrlEncode("sum(dram_requests_total{status=~\"4..\"})"));
  ASSERT_TRUE(errors.is_object() && !errors.at("result").as_array().empty());
  EXPECT_GE(std::stod(std::string(errors.at("result").as_array()[0].at("value").as_array()[1].as_string())), 3.0);

  std::cout << "monitoring test: " << rule_names.size() << " rules, " << exprs.size() << " panel queries, "
            << names.size() + dashboard_names.size() << " names checked in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s\n";
}

}  // namespace
}  // namespace dram::testing
