#include "api/compiled_endpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "database/dataset_manager.h"
#include "engine/result_encoder.h"

namespace dram::api {
namespace {

// A dataset over a small CSV, opened as views (no materialization), to compile endpoints against.
class CompiledEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("dram-compile-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "t.csv") << "id,name,day,score\n1,a,2024-01-01,1.5\n2,b,2024-01-02,2.5\n3,c,2024-01-03,3.5\n";
    database::DatasetSpec dataset{.name = "d", .tables = {{.name = "t", .path = (dir_ / "t.csv").string()}}};
    auto views = database::DatasetManager::OpenSourceViews(dataset);
    ASSERT_TRUE(views.ok()) << views.status().ToString();
    snapshot_ = std::move(views).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<CompiledEndpoint> Compile(const EndpointSpec& spec) {
    common::Diagnostics diagnostics;
    auto endpoint = CompiledEndpoint::Compile(spec, *snapshot_, diagnostics);
    last_diagnostics_ = diagnostics.ToString();
    return endpoint;
  }

  // Runs the request through ParseRequest, Plan and the engine; returns NDJSON rows or the error.
  std::string Run(const CompiledEndpoint& endpoint, const QueryParams& query) {
    auto args = endpoint.ParseRequest(query, "");
    if (!args.ok()) return "error: " + args.status().message();
    QueryPlan plan = endpoint.Plan(*args);
    auto lease = snapshot_->pool().Acquire(std::chrono::seconds(1));
    auto result = (*lease)->Query(plan.sql, plan.values);
    if (!result.ok()) return "query error: " + result.status().message();
    std::string out;
    EXPECT_TRUE(engine::EncodeResult(*result, engine::Format::kNdjson, out).ok());
    return out;
  }

  static ParamSpec Param(std::string name, ParamType type, bool is_list = false) {
    ParamSpec param;
    param.name = std::move(name);
    param.type = type;
    param.is_list = is_list;
    return param;
  }

  std::filesystem::path dir_;
  std::unique_ptr<database::Snapshot> snapshot_;
  std::string last_diagnostics_;
};

TEST_F(CompiledEndpointTest, BindsValuesAndNeverSplicesThem) {
  EndpointSpec spec{.name = "e", .dataset = "d", .table = "t"};
  spec.params = {Param("name", ParamType::kString), Param("ids", ParamType::kInteger, true), Param("from", ParamType::kDate)};
  spec.filters = {{.column = "name", .op = FilterOp::kEq, .params = {"name"}},
                  {.column = "id", .op = FilterOp::kIn, .params = {"ids"}},
                  {.column = "day", .op = FilterOp::kGte, .params = {"from"}}};
  spec.order_by = {{.column = "id"}};
  auto endpoint = Compile(spec);
  ASSERT_NE(endpoint, nullptr) << last_diagnostics_;
  auto args = endpoint->ParseRequest({{"name", "a' OR '1'='1"}, {"ids", "1,3"}}, "");
  ASSERT_TRUE(args.ok());
  QueryPlan plan = endpoint->Plan(*args);
  EXPECT_EQ(plan.sql,
            "SELECT \"id\", \"name\", \"day\", \"score\" FROM \"t\" WHERE \"name\" = $1 AND \"id\" IN ($2, $3) "
            "ORDER BY \"id\" ASC, \"name\" ASC, \"day\" ASC, \"score\" ASC LIMIT $4 OFFSET $5");
  EXPECT_EQ(plan.sql.find("'1'='1"), std::string::npos);
  ASSERT_EQ(plan.values.size(), 5u);
  EXPECT_EQ(plan.values[0], Value("a' OR '1'='1"));
  EXPECT_EQ(plan.values[1], Value(int64_t{1}));
  EXPECT_EQ(Run(*endpoint, {{"name", "a' OR '1'='1"}}), "");
  EXPECT_EQ(Run(*endpoint, {{"ids", "3,1"}, {"from", "2024-01-02"}}), "{\"id\":3,\"name\":\"c\",\"day\":\"2024-01-03\",\"score\":3.5}\n");
}

TEST_F(CompiledEndpointTest, ReportsUnknownColumnsAtTheirPosition) {
  EndpointSpec spec{.name = "e", .dataset = "d", .table = "t"};
  spec.params = {Param("x", ParamType::kString)};
  spec.filters = {{.column = "nope", .op = FilterOp::kEq, .params = {"x"}, .position = {"e.yml", 7, 5}}};
  spec.columns = {"id", "ghost"};
  EXPECT_EQ(Compile(spec), nullptr);
  EXPECT_NE(last_diagnostics_.find("e.yml:7:5: unknown column 'nope' in table 't'"), std::string::npos) << last_diagnostics_;
}

TEST_F(CompiledEndpointTest, AggregatesAndAllowlist) {
  EndpointSpec spec{.name = "e", .dataset = "d", .table = "t"};
  spec.group_by = {"name"};
  spec.select = {{.column = "name"}, {.column = "score", .aggregate = Aggregate::kSum, .as = "total"},
                 {.aggregate = Aggregate::kCount, .as = "n"}};
  spec.order_by = {{.column = "total", .descending = true}};
  spec.columns = {"name", "total"};
  auto endpoint = Compile(spec);
  ASSERT_NE(endpoint, nullptr) << last_diagnostics_;
  ASSERT_EQ(endpoint->outputs().size(), 2u);  // n is not allowlisted
  EXPECT_EQ(Run(*endpoint, {{"limit", "2"}}), "{\"name\":\"c\",\"total\":3.5}\n{\"name\":\"b\",\"total\":2.5}\n");
  EXPECT_EQ(Run(*endpoint, {{"columns", "n"}}), "error: parameter 'columns' names a column that is not available");
}

TEST_F(CompiledEndpointTest, SqlTemplatesBindEveryParam) {
  EndpointSpec spec{.name = "e", .dataset = "d"};
  spec.params = {Param("min", ParamType::kNumber), Param("n", ParamType::kInteger)};
  spec.sql = "SELECT id FROM t WHERE score >= {{ min }} AND id <= coalesce({{n}}, 100) ORDER BY id";
  auto endpoint = Compile(spec);
  ASSERT_NE(endpoint, nullptr) << last_diagnostics_;
  EXPECT_EQ(Run(*endpoint, {{"min", "2"}}), "{\"id\":2}\n{\"id\":3}\n");
  EXPECT_EQ(Run(*endpoint, {{"min", "2"}, {"n", "2"}}), "{\"id\":2}\n");
  EndpointSpec ranged{.name = "r", .dataset = "d"};
  ranged.params = {Param("n", ParamType::kInteger)};
  ranged.sql = "SELECT count(*) AS c FROM range({{n}}) r(i)";
  auto range_endpoint = Compile(ranged);
  ASSERT_NE(range_endpoint, nullptr) << last_diagnostics_;
  EXPECT_EQ(Run(*range_endpoint, {{"n", "5"}}), "{\"c\":5}\n");
  EndpointSpec bad{.name = "b", .dataset = "d"};
  bad.params = {Param("unused", ParamType::kString)};
  bad.sql = "SELECT {{missing}} AS x";
  EXPECT_EQ(Compile(bad), nullptr);
  EXPECT_NE(last_diagnostics_.find("undeclared param 'missing'"), std::string::npos);
  EXPECT_NE(last_diagnostics_.find("param 'unused' is not used"), std::string::npos);
}

TEST_F(CompiledEndpointTest, RequestValidation) {
  EndpointSpec spec{.name = "e", .dataset = "d", .table = "t", .max_limit = 2};
  spec.params = {Param("id", ParamType::kInteger), Param("name", ParamType::kString)};
  spec.params[0].required = true;
  spec.params[0].min = 1;
  spec.combinations = {{"id"}};
  auto endpoint = Compile(spec);
  ASSERT_NE(endpoint, nullptr) << last_diagnostics_;
  struct Case {
    QueryParams query;
    std::string error;
  };
  const Case cases[] = {
      {{}, "missing required parameter 'id'"},
      {{{"id", "0"}}, "parameter 'id' must be at least 1"},
      {{{"id", "x"}}, "parameter 'id' must be an integer"},
      {{{"id", "1"}, {"id", "2"}}, "parameter 'id' must be given once"},
      {{{"id", "1"}, {"limit", "3"}}, "parameter 'limit' must be between 1 and 2"},
      {{{"id", "1"}, {"name", "a"}}, "this combination of parameters is not allowed"},
      {{{"id", "1"}, {"total", "yes"}}, "parameter 'total' must be true or false"},
  };
  for (const Case& c : cases) {
    auto args = endpoint->ParseRequest(c.query, "");
    ASSERT_FALSE(args.ok());
    EXPECT_EQ(args.status().message(), c.error);
  }
  auto a = endpoint->ParseRequest({{"id", "1"}}, "text/csv");
  auto b = endpoint->ParseRequest({{"id", "1"}, {"format", "csv"}}, "");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->format, "csv");
  EXPECT_EQ(a->canonical, b->canonical);
  auto c = endpoint->ParseRequest({{"id", "2"}}, "");
  EXPECT_NE(a->canonical, c->canonical);
}

}  // namespace
}  // namespace dram::api
