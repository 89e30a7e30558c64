#include "api/compiled_endpoint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <fstream>

#include "database/snapshot_builder.h"
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
    // Instants at the edges of 2024-03-01 (UTC), one microsecond apart.
    std::ofstream(dir_ / "ts.csv") << "id,at\n1,2024-02-29 23:59:59.999999\n2,2024-03-01 00:00:00\n"
                                      "3,2024-03-01 12:00:00\n4,2024-03-01 23:59:59.999999\n5,2024-03-02 00:00:00\n";
    database::DatasetSpec dataset{.name = "d",
                                  .tables = {{.name = "t", .path = (dir_ / "t.csv").string()},
                                             {.name = "ts", .path = (dir_ / "ts.csv").string()}}};
    auto views = database::OpenSourceViews(dataset);
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

// A row is a JSON object, so two outputs of one name are refused where they are declared.
TEST_F(CompiledEndpointTest, TwoOutputsOfOneNameAreRefused) {
  EndpointSpec spec{.name = "e", .dataset = "d", .table = "t"};
  spec.group_by = {"name"};
  spec.select = {{.column = "name"}, {.column = "score", .aggregate = Aggregate::kSum, .as = "total"},
                 {.column = "score", .aggregate = Aggregate::kMax, .as = "total"}};
  spec.field_positions["select"] = {"e.yml", 4, 1};
  EXPECT_EQ(Compile(spec), nullptr);
  EXPECT_NE(last_diagnostics_.find("e.yml:4:1: two outputs are named 'total'"), std::string::npos) << last_diagnostics_;
  spec.select.back().as = "best";
  EXPECT_NE(Compile(spec), nullptr) << last_diagnostics_;
  // An alias naming another group_by column would mean two columns under one name.
  spec.group_by = {"name", "day"};
  spec.select = {{.column = "name"}, {.column = "day", .as = "name", .position = {"e.yml", 6, 5}},
                 {.column = "score", .aggregate = Aggregate::kSum, .as = "total"}};
  EXPECT_EQ(Compile(spec), nullptr);
  EXPECT_NE(last_diagnostics_.find("e.yml:6:5: 'name' names a group_by column"), std::string::npos) << last_diagnostics_;
  spec.select[1].as = "";
  EXPECT_NE(Compile(spec), nullptr) << last_diagnostics_;
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
      {{{"id", "1"}, {"consistency", "eventual"}}, "parameter 'consistency' must be strong or stale"},
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
  // A stale read is its own request (never answered from a consistent one's cache entry, nor the reverse).
  auto strong = endpoint->ParseRequest({{"id", "1"}, {"consistency", "strong"}}, "");
  auto stale = endpoint->ParseRequest({{"id", "1"}, {"consistency", "stale"}}, "");
  ASSERT_TRUE(strong.ok() && stale.ok());
  EXPECT_FALSE(strong->stale);
  EXPECT_TRUE(stale->stale);
  auto plain = endpoint->ParseRequest({{"id", "1"}}, "");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(strong->canonical, plain->canonical);
  EXPECT_NE(stale->canonical, plain->canonical);
}

// Ids of the rows a request returns, as "1,2,3", or the error.
std::string Ids(const std::string& ndjson) {
  if (ndjson.rfind("error", 0) == 0 || ndjson.rfind("query error", 0) == 0) return ndjson;
  std::string out;
  size_t pos = 0;
  while ((pos = ndjson.find("\"id\":", pos)) != std::string::npos) {
    pos += 5;
    size_t end = ndjson.find_first_of(",}", pos);
    out += (out.empty() ? "" : ",") + ndjson.substr(pos, end - pos);
  }
  return out;
}

TEST_F(CompiledEndpointTest, DistinctValuesOfEveryTypeNeverShareACacheKey) {
  EndpointSpec spec{.name = "e", .dataset = "d", .table = "t"};
  const ParamType types[] = {ParamType::kString, ParamType::kInteger, ParamType::kNumber, ParamType::kBoolean,
                             ParamType::kDate, ParamType::kTimestamp};
  for (ParamType type : types) {
    spec.params.push_back(Param("s" + std::to_string(spec.params.size()), type));
    spec.params.push_back(Param("l" + std::to_string(spec.params.size()), type, true));
  }
  spec.sql = "SELECT 1 AS one";
  for (const auto& param : spec.params) spec.sql += " WHERE {{" + param.name + "}} IS NOT NULL OR true";
  spec.sql = "SELECT 1 AS one";
  for (size_t i = 0; i < spec.params.size(); ++i) spec.sql += ", {{" + spec.params[i].name + "}} AS c" + std::to_string(i);
  auto endpoint = Compile(spec);
  ASSERT_NE(endpoint, nullptr) << last_diagnostics_;

  std::mt19937_64 random(12345);
  auto text_of = [&](ParamType type) -> std::string {
    char buffer[64];
    switch (type) {
      case ParamType::kString: {
        static const char kAlphabet[] = "ab;:~[]0123";
        std::string out;
        for (size_t n = random() % 5; n > 0; --n) out += kAlphabet[random() % (sizeof(kAlphabet) - 1)];
        return out.empty() ? "x" : out;
      }
      case ParamType::kInteger: return std::to_string(static_cast<int64_t>(random() % 2001) - 1000);
      case ParamType::kNumber: {
        // Neighbours that differ only in the last digits: 4999.9 vs 4999.9000001 vs the next double.
        double base = static_cast<double>(random() % 100000) / 10;
        double value = random() % 3 == 0 ? std::nextafter(base, 1e9) : base + static_cast<double>(random() % 3) * 1e-7;
        std::snprintf(buffer, sizeof(buffer), "%.17g", value);
        return buffer;
      }
      case ParamType::kBoolean: return random() % 2 ? "true" : "false";
      case ParamType::kDate: {
        std::snprintf(buffer, sizeof(buffer), "2024-%02d-%02d", static_cast<int>(random() % 12 + 1), static_cast<int>(random() % 28 + 1));
        return buffer;
      }
      case ParamType::kTimestamp: {
        std::snprintf(buffer, sizeof(buffer), "2024-03-01T12:00:%02d.%06dZ", static_cast<int>(random() % 2),
                      static_cast<int>(random() % 3));
        return buffer;
      }
      default: return "x";
    }
  };
  int compared = 0;
  for (int round = 0; round < 4000; ++round) {
    const ParamSpec& param = spec.params[random() % spec.params.size()];
    std::string a = text_of(param.type), b = text_of(param.type);
    if (param.is_list) {
      a += "," + text_of(param.type);
      b += "," + text_of(param.type);
    }
    auto first = endpoint->ParseRequest({{param.name, a}}, "");
    auto second = endpoint->ParseRequest({{param.name, b}}, "");
    ASSERT_TRUE(first.ok() && second.ok()) << a << " / " << b;
    int index = endpoint->ParamIndex(param.name);
    if (first->values[index] == second->values[index]) {
      EXPECT_EQ(first->canonical, second->canonical);
    } else {
      ++compared;
      EXPECT_NE(first->canonical, second->canonical) << param.name << ": " << a << " vs " << b;
    }
  }
  EXPECT_GT(compared, 2000);
  // The case that was reported: both answers came from one cache entry.
  spec.params = {Param("min_revenue", ParamType::kNumber)};
  spec.sql = "SELECT {{min_revenue}} AS m";
  auto numbers = Compile(spec);
  ASSERT_NE(numbers, nullptr) << last_diagnostics_;
  EXPECT_NE(numbers->ParseRequest({{"min_revenue", "4999.9"}}, "")->canonical,
            numbers->ParseRequest({{"min_revenue", "4999.9000001"}}, "")->canonical);
  EXPECT_EQ(Run(*numbers, {{"min_revenue", "4999.9000001"}}), "{\"m\":4999.9000001}\n");
}

TEST_F(CompiledEndpointTest, ColumnsMayLeaveOutWhatTheOrderUses) {
  EndpointSpec spec{.name = "e", .dataset = "d", .table = "t"};
  spec.group_by = {"name"};
  spec.select = {{.column = "name"}, {.column = "score", .aggregate = Aggregate::kMax, .as = "max_value"},
                 {.aggregate = Aggregate::kCount, .as = "n"}};
  spec.order_by = {{.column = "n", .descending = true}, {.column = "name"}};
  spec.sort = SortParamSpec{.param = "sort", .allowed = {"max_value", "n"}};
  spec.params = {Param("sort", ParamType::kString)};
  auto endpoint = Compile(spec);
  ASSERT_NE(endpoint, nullptr) << last_diagnostics_;
  EXPECT_EQ(Run(*endpoint, {{"columns", "name,max_value"}}),
            "{\"name\":\"a\",\"max_value\":1.5}\n{\"name\":\"b\",\"max_value\":2.5}\n{\"name\":\"c\",\"max_value\":3.5}\n");
  EXPECT_EQ(Run(*endpoint, {{"columns", "name"}, {"sort", "-max_value"}, {"limit", "1"}}), "{\"name\":\"c\"}\n");
  EXPECT_EQ(Run(*endpoint, {{"columns", "n"}, {"sort", "max_value"}, {"total", "true"}}), "{\"n\":1}\n{\"n\":1}\n{\"n\":1}\n");
  // Every subset of the allowlist is accepted.
  const char* subsets[] = {"name", "max_value", "n", "name,n", "max_value,n", "n,name,max_value"};
  for (const char* subset : subsets) EXPECT_EQ(Run(*endpoint, {{"columns", subset}}).find("error"), std::string::npos) << subset;
}

TEST_F(CompiledEndpointTest, ADateBoundOnATimestampColumnMeansTheWholeDay) {
  EndpointSpec spec{.name = "e", .dataset = "d", .table = "ts"};
  spec.params = {Param("from", ParamType::kDate), Param("to", ParamType::kDate), Param("on", ParamType::kDate),
                 Param("before", ParamType::kDate), Param("through", ParamType::kDate), Param("after", ParamType::kDate),
                 Param("not", ParamType::kDate), Param("days", ParamType::kDate, true)};
  spec.filters = {{.column = "at", .op = FilterOp::kBetween, .params = {"from", "to"}},
                  {.column = "at", .op = FilterOp::kEq, .params = {"on"}},
                  {.column = "at", .op = FilterOp::kLt, .params = {"before"}},
                  {.column = "at", .op = FilterOp::kLte, .params = {"through"}},
                  {.column = "at", .op = FilterOp::kGt, .params = {"after"}},
                  {.column = "at", .op = FilterOp::kNe, .params = {"not"}},
                  {.column = "at", .op = FilterOp::kIn, .params = {"days"}}};
  spec.order_by = {{.column = "id"}};
  auto endpoint = Compile(spec);
  ASSERT_NE(endpoint, nullptr) << last_diagnostics_;
  struct Case {
    QueryParams query;
    std::string ids;
  };
  const Case cases[] = {
      {{{"from", "2024-03-01"}, {"to", "2024-03-01"}}, "2,3,4"},
      {{{"to", "2024-03-01"}}, "1,2,3,4"},
      {{{"from", "2024-03-02"}}, "5"},
      {{{"on", "2024-03-01"}}, "2,3,4"},
      {{{"before", "2024-03-01"}}, "1"},
      {{{"through", "2024-03-01"}}, "1,2,3,4"},
      {{{"after", "2024-03-01"}}, "5"},
      {{{"not", "2024-03-01"}}, "1,5"},
      {{{"days", "2024-03-02,2024-02-29"}}, "1,5"},
  };
  for (const Case& c : cases) EXPECT_EQ(Ids(Run(*endpoint, c.query)), c.ids) << c.query[0].first;
  // Lazy files are pruned with the same day ranges.
  auto args = endpoint->ParseRequest({{"from", "2024-03-01"}, {"to", "2024-03-01"}}, "");
  auto predicates = endpoint->Predicates(*args).at("ts");
  ASSERT_EQ(predicates.size(), 2u);
  EXPECT_EQ(predicates[1].op, database::Predicate::Op::kLt);
  EXPECT_EQ(predicates[1].values[0], Value(Date{19784}));  // 2024-03-02
}

TEST_F(CompiledEndpointTest, TemplatesAreTypedAndPreparedAtLoad) {
  EndpointSpec spec{.name = "e", .dataset = "d"};
  spec.params = {Param("to", ParamType::kDate), Param("name", ParamType::kString)};
  spec.sql = "SELECT id, day FROM t\nWHERE day < {{to}} + INTERVAL 1 DAY AND ({{name}} IS NULL OR name = {{name}})\nORDER BY id;\n-- done";
  auto endpoint = Compile(spec);
  ASSERT_NE(endpoint, nullptr) << last_diagnostics_;
  EXPECT_EQ(Ids(Run(*endpoint, {{"to", "2024-01-02"}})), "1,2");
  EXPECT_EQ(Ids(Run(*endpoint, {{"to", "2024-01-02"}, {"name", "b"}})), "2");
  ASSERT_EQ(endpoint->outputs().size(), 2u);
  EXPECT_EQ(endpoint->outputs()[1].type.kind, engine::TypeKind::kDate);  // a real row schema

  EndpointSpec broken{.name = "b", .dataset = "d"};
  broken.params = {Param("to", ParamType::kDate)};
  broken.sql = "SELECT nope FROM t WHERE day <= {{to}}";
  broken.field_positions["sql"] = {"b.yml", 4, 6};
  EXPECT_EQ(Compile(broken), nullptr);
  EXPECT_NE(last_diagnostics_.find("b.yml:4:6: query does not compile"), std::string::npos) << last_diagnostics_;
  EXPECT_NE(last_diagnostics_.find("nope"), std::string::npos) << last_diagnostics_;  // DuckDB's message

  EndpointSpec comment{.name = "c", .dataset = "d"};
  comment.sql = "SELECT id FROM t -- trailing comment without a newline";
  EXPECT_NE(Compile(comment), nullptr) << last_diagnostics_;
}

TEST_F(CompiledEndpointTest, FiltersDuckDbCannotTypeFailTheLoad) {
  EndpointSpec spec{.name = "e", .dataset = "d", .table = "t"};
  spec.params = {Param("p", ParamType::kDate)};
  spec.filters = {{.column = "id", .op = FilterOp::kGte, .params = {"p"}}};
  spec.field_positions["filters"] = {"e.yml", 9, 3};
  EXPECT_EQ(Compile(spec), nullptr);
  EXPECT_NE(last_diagnostics_.find("e.yml:9:3: query does not compile"), std::string::npos) << last_diagnostics_;

  EndpointSpec sorted{.name = "s", .dataset = "d", .table = "t"};
  sorted.params = {Param("sort", ParamType::kString)};
  sorted.sort = SortParamSpec{.param = "sort", .allowed = {"ghost"}};
  sorted.field_positions["sort"] = {"s.yml", 12, 3};
  EXPECT_EQ(Compile(sorted), nullptr);
  EXPECT_NE(last_diagnostics_.find("s.yml:12:3: sort allows unknown column 'ghost'"), std::string::npos) << last_diagnostics_;
}

}  // namespace
}  // namespace dram::api
