#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api/project.h"

namespace dram::api {
namespace {

namespace fs = std::filesystem;

class ProjectLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dram-loader-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "datasets");
    fs::create_directories(dir_ / "endpoints");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& relative, const std::string& text) { std::ofstream(dir_ / relative) << text; }
  std::string Load(ProjectSpec* spec = nullptr) {
    common::Diagnostics diagnostics;
    ProjectSpec loaded = LoadProject(dir_.string(), diagnostics);
    if (spec) *spec = loaded;
    std::string text = diagnostics.ToString();
    // Paths are the temp dir's; tests compare the rest.
    for (size_t at; (at = text.find(dir_.string() + "/")) != std::string::npos;) text.erase(at, dir_.string().size() + 1);
    return text;
  }
  fs::path dir_;
};

TEST_F(ProjectLoaderTest, LoadsAWholeProject) {
  Write("dram.yml", "server:\n  listen: 127.0.0.1:9000\n  read_timeout: 2s\n  max_header_bytes: 8KB\nengine:\n  pool_size: 3\ncache:\n  max_bytes: 1MB\n");
  Write("datasets/d.yml", "name: d\nrefresh: 5m\ntables:\n  t: {path: data/t.csv, sort_by: [a, b]}\n");
  Write("endpoints/e.yml", R"(name: e
version: 2
dataset: d
params:
  a: {type: list<integer>, max_items: 3}
  b: {type: date, default: "2024-01-01"}
  c: {type: enum, values: [x, y], aliases: {ex: x}}
filters:
  - {column: a, op: in, param: a}
  - {column: b, op: between, param: [b, b]}
order_by: [-b, a asc]
limit: {default: 5, max: 50}
)");
  ProjectSpec spec;
  EXPECT_EQ(Load(&spec), "");
  EXPECT_EQ(spec.settings.listen, "127.0.0.1:9000");
  EXPECT_EQ(spec.settings.read_timeout_ms, 2000);
  EXPECT_EQ(spec.settings.max_header_bytes, 8192);
  EXPECT_EQ(spec.settings.pool_size, 3);
  EXPECT_EQ(spec.settings.cache_max_bytes, 1 << 20);
  ASSERT_EQ(spec.datasets.size(), 1u);
  EXPECT_EQ(spec.datasets[0].refresh_interval_ms, 300000);
  EXPECT_EQ(spec.datasets[0].tables[0].path, (dir_ / "data/t.csv").string());
  EXPECT_EQ(spec.datasets[0].tables[0].sort_by, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(spec.endpoints.size(), 1u);
  const EndpointSpec& e = spec.endpoints[0];
  EXPECT_EQ(e.version, 2);
  EXPECT_EQ(e.table, "t");  // the dataset's only table
  EXPECT_TRUE(e.params[0].is_list);
  EXPECT_EQ(e.params[0].type, ParamType::kInteger);
  EXPECT_EQ(e.params[1].default_value, Value(Date{19723}));
  EXPECT_EQ(e.params[2].value_aliases.at("ex"), "x");
  ASSERT_EQ(e.order_by.size(), 2u);
  EXPECT_TRUE(e.order_by[0].descending);
  EXPECT_EQ(e.order_by[1].column, "a");
  EXPECT_FALSE(e.order_by[1].descending);
  EXPECT_EQ(e.max_limit, 50);
}

TEST_F(ProjectLoaderTest, ReportsEveryErrorOfEveryFileWithPositions) {
  Write("dram.yml", "server:\n  io_threads: many\n  lisen: x\n");
  Write("datasets/d.yml", "name: d\ntables:\n  t: {path: t.csv}\n");
  Write("datasets/dup.yml", "name: d\ntables:\n  t: {path: t.csv}\n");
  Write("endpoints/a.yml", R"(name: a
dataset: d
params:
  limit: {type: integer}
  x: {type: string, default: [1, 2]}
  y: {type: list<string>}
filters:
  - {column: c, op: like, param: x}
  - {column: c, op: eq, param: y}
  - {column: c, op: eq, param: zz}
limit: {default: 10, max: 5}
formats: [json, xml]
)");
  Write("endpoints/b.yml", "name: b\ndataset: nowhere\nversion: 0\n");
  Write("endpoints/c.yml", "name: [unclosed\n");
  std::string expected =
      "datasets/dup.yml:1:1: dataset 'd' is declared twice\n"
      "dram.yml:2:15: 'io_threads' must be an integer\n"
      "dram.yml:3:3: unknown key 'lisen' (expected one of: admin_listen, cors, gzip_min_bytes, idle_timeout, io_threads, "
      "listen, max_body_bytes, max_connections, max_header_bytes, public_docs, read_timeout, tls)\n";
  std::string got = Load();
  EXPECT_EQ(got.substr(0, expected.size()), expected) << got;
  for (const char* needle : {
           "endpoints/a.yml:4:3: 'limit' is reserved",
           "endpoints/a.yml:5:30: default of 'x' is invalid: parameter 'x' must be given once",
           "endpoints/a.yml:8:21: unknown filter op 'like'",
           "endpoints/a.yml:9:5: list param 'y' can only be used with 'in'",
           "endpoints/a.yml:10:5: filter on 'c' uses undeclared param 'zz'",
           "endpoints/a.yml:11:8: limit default is above max",
           "endpoints/a.yml:12:10: unknown format 'xml'",
           "endpoints/b.yml:3:10: 'version' must be between 1 and 1000",
           "endpoints/c.yml:2:1: YAML syntax error",
       }) {
    EXPECT_NE(got.find(needle), std::string::npos) << needle << "\n--- got:\n" << got;
  }
}

TEST_F(ProjectLoaderTest, MissingDirectoryAndEmptyProject) {
  common::Diagnostics diagnostics;
  LoadProject((dir_ / "absent").string(), diagnostics);
  EXPECT_NE(diagnostics.ToString().find("project directory does not exist"), std::string::npos);
  EXPECT_NE(Load().find("no datasets declared"), std::string::npos);
}

}  // namespace
}  // namespace dram::api

namespace dram::api {
namespace {

// What cannot be split across shards is refused at load, at its line.
TEST_F(ProjectLoaderTest, EndpointsOverAShardedDatabaseMustDecompose) {
  Write("datasets/d.yml", "name: d\nshards: 4\nshard_by: tenant\ntables:\n  t: {path: data/t.csv}\n");
  Write("endpoints/tpl.yml", "name: tpl\ndataset: d\nsql: SELECT 1 AS x\n");
  Write("endpoints/distinct.yml", R"(name: distinct
dataset: d
group_by: [region]
select:
  - region
  - {column: tenant, agg: count_distinct}
  - {column: user, agg: count_distinct}
)");
  const std::string errors = Load();
  EXPECT_NE(errors.find("endpoints/tpl.yml:3:6: dataset 'd' is split into 4 shards: a SQL template"), std::string::npos) << errors;
  EXPECT_NE(errors.find("endpoints/distinct.yml:7:5: count_distinct of 'user' is not exact"), std::string::npos) << errors;
  EXPECT_EQ(errors.find("count_distinct of 'tenant'"), std::string::npos) << errors;  // the shard column is exact
}

}  // namespace
}  // namespace dram::api
