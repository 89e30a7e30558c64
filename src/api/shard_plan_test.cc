// Decomposed requests over shards answer what the same request answers over the whole data:
// the same data split into 4 Parquet shards (by row, like a file or column split), every shape of
// declarative endpoint, a few hundred generated requests, each run whole (Plan) and split
// (PlanShards → RunMap per shard → ShardReducer), compared row by row.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "api/compiled_endpoint.h"
#include "api/shard_reduce.h"
#include "api/shard_wire.h"
#include "database/snapshot_builder.h"
#include "engine/database.h"

namespace dram::api {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int kShards = 4;
#ifdef DRAM_SANITIZED
// The sanitizer builds check memory and threads, not more request shapes: 300 took 138 s under TSan.
constexpr int kRequests = 100;
#else
constexpr int kRequests = 300;
#endif

void ExpectSameRows(const std::string& whole, const std::string& sharded, bool ordered, const std::string& context);

class ShardPlanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("dram-shard-plan-test-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    auto database = engine::Database::Open("", {.read_only = false});
    ASSERT_TRUE(database.ok());
    auto connection = (*database)->Connect();
    ASSERT_TRUE(connection.ok());
    // Values that differ in the last digit, empty strings and NULLs, every scalar type served.
    ASSERT_TRUE((*connection)
                    ->Execute("CREATE TABLE t AS SELECT i AS id, "
                              "CASE WHEN i % 11 = 0 THEN NULL WHEN i % 13 = 0 THEN '' ELSE 't' || (i % 5) END AS tenant, "
                              "['north', 'south', 'east', 'west'][1 + (hash(i) % 4)::INTEGER] AS region, "
                              "DATE '2024-01-01' + (i % 40)::INTEGER AS day, "
                              "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i * 7919 % 100000) SECOND AS at, "
                              "(hash(i, 1) % 50)::INTEGER AS qty, "
                              "((hash(i, 2) % 100000) / 100)::DECIMAL(10, 2) AS price, "
                              "0.1 + i * 1e-17 + (hash(i, 3) % 1000) / 7.0 AS score, "
                              "i % 3 = 0 AS flag FROM range(1500) r(i)")
                    .ok());
    ASSERT_TRUE((*connection)->Execute("COPY t TO '" + (*dir_ / "whole.parquet").string() + "' (FORMAT parquet)").ok());
    for (int k = 0; k < kShards; ++k) {
      ASSERT_TRUE((*connection)
                      ->Execute("COPY (SELECT * FROM t WHERE hash(id) % " + std::to_string(kShards) + " = " + std::to_string(k) +
                                ") TO '" + (*dir_ / ("shard" + std::to_string(k) + ".parquet")).string() + "' (FORMAT parquet)")
                      .ok());
    }
    auto open = [](const std::string& file) {
      database::DatasetSpec spec{.name = "d", .tables = {{.name = "t", .path = (*dir_ / file).string(), .key = {"id"}}}};
      auto views = database::OpenSourceViews(spec);
      EXPECT_TRUE(views.ok()) << views.status().ToString();
      return views.ok() ? std::move(views).value().release() : nullptr;
    };
    whole_ = open("whole.parquet");
    shards_ = new std::vector<database::Snapshot*>;
    for (int k = 0; k < kShards; ++k) shards_->push_back(open("shard" + std::to_string(k) + ".parquet"));
    auto reducer = ShardReducer::Create(2);
    ASSERT_TRUE(reducer.ok()) << reducer.status().ToString();
    reducer_ = std::move(reducer).value().release();
  }
  static void TearDownTestSuite() {
    delete reducer_;
    for (auto* shard : *shards_) delete shard;
    delete shards_;
    delete whole_;
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::unique_ptr<CompiledEndpoint> Compile(const EndpointSpec& spec) {
    common::Diagnostics diagnostics;
    auto endpoint = CompiledEndpoint::Compile(spec, *whole_, diagnostics);
    EXPECT_TRUE(diagnostics.empty()) << diagnostics.ToString();
    return endpoint;
  }

  // NDJSON of the request over the whole data, and its total.
  static std::pair<std::string, std::optional<int64_t>> RunWhole(const CompiledEndpoint& endpoint, const RequestArgs& args) {
    QueryPlan plan = endpoint.Plan(args);
    auto lease = whole_->pool().Acquire(std::chrono::seconds(5));
    auto result = (*lease)->Query(plan.sql, plan.values);
    EXPECT_TRUE(result.ok()) << result.status().ToString() << "\n" << plan.sql;
    std::string out;
    EXPECT_TRUE(engine::EncodeResult(*result, engine::Format::kNdjson, out).ok());
    std::optional<int64_t> total;
    if (!plan.count_sql.empty()) {
      std::vector<Value> values(plan.values.begin(), plan.values.begin() + static_cast<long>(plan.filter_value_count));
      auto counted = (*lease)->Query(plan.count_sql, values);
      auto text = engine::ColumnText(*counted, 0);
      total = std::stoll(text->front());
    }
    return {out, total};
  }

  // `combine`: shards 0+1 and 2+3 are combined first (ShardPlan::combine_sql), as a member holding
  // both of a pair sends them.
  static std::pair<std::string, std::optional<int64_t>> RunSharded(const CompiledEndpoint& endpoint, const RequestArgs& args,
                                                                   const std::string& shard_column = "", bool combine = false) {
    auto plan = endpoint.PlanShards(args, shard_column);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    if (!plan.ok()) return {};
    std::vector<PartialResult> partials;
    for (int k = 0; k < kShards; ++k) {
      auto lease = (*shards_)[k]->pool().Acquire(std::chrono::seconds(5));
      auto partial = RunMap(**lease, plan->map);
      EXPECT_TRUE(partial.ok()) << partial.status().ToString() << "\n" << plan->map.sql;
      if (!partial.ok()) return {};
      partial->shard = k;
      partials.push_back(std::move(partial).value());
    }
    if (combine && !plan->combine_sql.empty()) {  // (an analysis's reduce is not known to combine)
      std::vector<PartialResult> pairs;
      for (size_t first = 0; first < partials.size(); first += 2) {
        auto combined = reducer_->Combine(plan->combine_sql, {partials[first], partials[first + 1]});
        EXPECT_TRUE(combined.ok()) << combined.status().ToString() << "\n" << plan->combine_sql;
        if (!combined.ok()) return {};
        EXPECT_EQ(combined->combined.size(), 2u);
        pairs.push_back(std::move(combined).value());
      }
      partials = std::move(pairs);
    }
    std::string out;
    auto reduced = reducer_->Reduce(*plan, partials, engine::Format::kNdjson, out);
    EXPECT_TRUE(reduced.ok()) << reduced.status().ToString() << "\n" << plan->reduce_sql;
    if (!reduced.ok()) return {};
    if (reduced->merged) {
      // The merge answered: the reduce query answers the same bytes, columns and total.
      ShardPlan query_only = *plan;
      query_only.merge.reset();
      std::string by_query;
      auto queried = reducer_->Reduce(query_only, partials, engine::Format::kNdjson, by_query);
      EXPECT_TRUE(queried.ok() && !queried->merged) << plan->reduce_sql;
      if (queried.ok()) {
        EXPECT_EQ(by_query, out) << "merge vs query: " << plan->reduce_sql;
        EXPECT_EQ(queried->columns.size(), reduced->columns.size());
        for (size_t i = 0; i < std::min(queried->columns.size(), reduced->columns.size()); ++i) {
          EXPECT_EQ(queried->columns[i].name, reduced->columns[i].name);
          EXPECT_EQ(queried->columns[i].type.sql_name, reduced->columns[i].type.sql_name) << reduced->columns[i].name;
        }
        EXPECT_EQ(queried->total, reduced->total) << plan->reduce_sql;
      }
      // As the smart client receives it (EncodeReduce → DecodeReduce), it merges alike.
      auto received = DecodeReduce(boost::json::value(EncodeReduce(*plan)));
      EXPECT_TRUE(received.ok()) << received.status().ToString();
      if (received.ok()) {
        std::string by_client;
        auto client = reducer_->Reduce(*received, partials, engine::Format::kNdjson, by_client);
        EXPECT_TRUE(client.ok() && client->merged) << plan->reduce_sql;
        EXPECT_EQ(by_client, out) << plan->reduce_sql;
      }
      ++merges_;
    }
    ++reduces_;
    return {out, reduced->total};
  }
  static inline int merges_ = 0;  // reduces the merge answered, of
  static inline int reduces_ = 0;

  // The whole data's `regions` groups (see GroupsInNoOrderComeInTheOrderOfTheirKeys) by region,
  // the second and third, as NDJSON.
  static std::string RunWholeRegionsPage() {
    auto lease = whole_->pool().Acquire(std::chrono::seconds(5));
    auto result = (*lease)->Query("SELECT region, count(*) AS n FROM t GROUP BY region ORDER BY region LIMIT 2 OFFSET 1");
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    std::string out;
    if (result.ok()) {
      EXPECT_TRUE(engine::EncodeResult(*result, engine::Format::kNdjson, out).ok());
    }
    return out;
  }

  static fs::path* dir_;
  static database::Snapshot* whole_;
  static std::vector<database::Snapshot*>* shards_;
  static ShardReducer* reducer_;
};

fs::path* ShardPlanTest::dir_ = nullptr;
database::Snapshot* ShardPlanTest::whole_ = nullptr;
std::vector<database::Snapshot*>* ShardPlanTest::shards_ = nullptr;
ShardReducer* ShardPlanTest::reducer_ = nullptr;

// Rows equal field by field: exact for everything but doubles, which may differ in the last bits
// because the shards add in another order (so does DuckDB's own parallel sum).
void ExpectSameRows(const std::string& whole, const std::string& sharded, bool ordered, const std::string& context) {
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) out.push_back(text.substr(start, end - start));
    return out;
  };
  auto a = lines(whole), b = lines(sharded);
  if (!ordered) {
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
  }
  ASSERT_EQ(a.size(), b.size()) << context << "\nwhole:\n" << whole << "\nsharded:\n" << sharded;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    json::object x = json::parse(a[i]).as_object(), y = json::parse(b[i]).as_object();
    ASSERT_EQ(x.size(), y.size()) << context;
    for (const auto& [key, value] : x) {
      const json::value& other = y.at(key);
      if (value.is_double() && other.is_double()) {
        EXPECT_NEAR(value.as_double(), other.as_double(), 1e-12 * std::max(1.0, std::fabs(value.as_double())))
            << context << " row " << i << " " << key;
      } else {
        EXPECT_EQ(value, other) << context << " row " << i << " " << key << "\nwhole: " << a[i] << "\nsharded: " << b[i];
      }
    }
  }
}

ParamSpec Param(std::string name, ParamType type, bool is_list = false) {
  ParamSpec param;
  param.name = std::move(name);
  param.type = type;
  param.is_list = is_list;
  return param;
}

std::vector<EndpointSpec> Endpoints() {
  std::vector<EndpointSpec> specs;
  auto filters = [](EndpointSpec& spec) {
    spec.params = {Param("tenant", ParamType::kString), Param("regions", ParamType::kString, true), Param("from", ParamType::kDate),
                   Param("to", ParamType::kDate), Param("min_qty", ParamType::kInteger), Param("flag", ParamType::kBoolean)};
    spec.filters = {{.column = "tenant", .op = FilterOp::kEq, .params = {"tenant"}},
                    {.column = "region", .op = FilterOp::kIn, .params = {"regions"}},
                    {.column = "day", .op = FilterOp::kBetween, .params = {"from", "to"}},
                    {.column = "qty", .op = FilterOp::kGte, .params = {"min_qty"}},
                    {.column = "flag", .op = FilterOp::kEq, .params = {"flag"}}};
    spec.max_limit = 2000;
    spec.total = true;
  };
  {
    EndpointSpec spec{.name = "rows", .dataset = "d", .table = "t"};
    filters(spec);
    spec.order_by = {{.column = "day", .descending = true}};
    spec.params.push_back(Param("sort", ParamType::kString));
    spec.sort = SortParamSpec{.param = "sort", .allowed = {"qty", "price", "score", "at", "tenant"}, .default_value = ""};
    specs.push_back(spec);
  }
  {
    EndpointSpec spec{.name = "by_region", .dataset = "d", .table = "t"};
    filters(spec);
    spec.group_by = {"region"};
    spec.select = {{.column = "region"},
                   {.column = "qty", .aggregate = Aggregate::kSum},
                   {.column = "", .aggregate = Aggregate::kCount, .as = "n"},
                   {.column = "price", .aggregate = Aggregate::kAvg},
                   {.column = "qty", .aggregate = Aggregate::kAvg, .as = "avg_qty"},
                   {.column = "score", .aggregate = Aggregate::kMin},
                   {.column = "day", .aggregate = Aggregate::kMax},
                   {.column = "price", .aggregate = Aggregate::kSum, .as = "revenue"},
                   {.column = "tenant", .aggregate = Aggregate::kCount, .as = "with_tenant"}};
    spec.order_by = {{.column = "region"}};
    specs.push_back(spec);
  }
  {
    EndpointSpec spec{.name = "totals", .dataset = "d", .table = "t"};
    filters(spec);
    spec.select = {{.column = "qty", .aggregate = Aggregate::kSum},
                   {.column = "", .aggregate = Aggregate::kCount, .as = "n"},
                   {.column = "score", .aggregate = Aggregate::kAvg},
                   {.column = "at", .aggregate = Aggregate::kMin},
                   {.column = "price", .aggregate = Aggregate::kMax}};
    specs.push_back(spec);
  }
  {
    EndpointSpec spec{.name = "top_tenants", .dataset = "d", .table = "t"};
    filters(spec);
    spec.group_by = {"tenant", "day"};
    spec.select = {{.column = "tenant"}, {.column = "day"}, {.column = "price", .aggregate = Aggregate::kSum, .as = "revenue"}};
    spec.order_by = {{.column = "revenue", .descending = true}};
    spec.params.push_back(Param("sort", ParamType::kString));
    spec.sort = SortParamSpec{.param = "sort", .allowed = {"revenue", "day", "tenant"}, .default_value = ""};
    specs.push_back(spec);
  }
  {
    // No order: a page is any rows, so only whole results (limit ≥ rows) compare, as sets.
    EndpointSpec spec{.name = "unordered", .dataset = "d", .table = "t"};
    filters(spec);
    spec.columns = {"id", "tenant", "price"};
    spec.default_limit = 2000;
    specs.push_back(spec);
  }
  {
    // An analysis: its params split between map and reduce (each statement numbers its own).
    EndpointSpec spec{.name = "region_stats", .dataset = "d"};
    filters(spec);
    spec.filters.clear();
    spec.map_sql = R"(SELECT region, tenant, sum(qty) AS qty, count(*) AS n, sum(price) AS revenue, max(score) AS best,
         min("at") AS first_at
  FROM t
  WHERE ({{regions}} IS NULL OR list_contains({{regions}}, region))
    AND ({{from}} IS NULL OR day >= {{from}}) AND ({{to}} IS NULL OR day <= {{to}})
    AND ({{min_qty}} IS NULL OR qty >= {{min_qty}}) AND ({{flag}} IS NULL OR flag = {{flag}})
  GROUP BY region, tenant;)";
    spec.reduce_sql = R"(SELECT region, sum(qty) AS qty, sum(n) AS n, sum(revenue) AS revenue, max(best) AS best,
         min(first_at) AS first_at, sum(revenue) / sum(n) AS avg_price
  FROM partials
  WHERE {{tenant}} IS NULL OR tenant = {{tenant}}
  GROUP BY region
  -- regions with rows only
)";
    spec.order_by = {{.column = "region"}};
    specs.push_back(spec);
  }
  {
    // A tenant-scoped analysis: each shard keeps the caller's rows of its map's results.
    EndpointSpec spec{.name = "tenant_days", .dataset = "d", .tenant_column = "tenant"};
    spec.params = {Param("from", ParamType::kDate), Param("min_n", ParamType::kInteger), Param("sort", ParamType::kString)};
    spec.map_sql = "SELECT tenant, day, sum(price) AS revenue, count(*) AS n, sum(score) AS score FROM t "
                   "WHERE {{from}} IS NULL OR day >= {{from}} GROUP BY tenant, day";
    spec.reduce_sql = "SELECT day, sum(revenue) AS revenue, sum(n) AS n, sum(score) AS score FROM partials GROUP BY day "
                      "HAVING sum(n) >= coalesce({{min_n}}, 0)";
    spec.order_by = {{.column = "revenue", .descending = true}, {.column = "day"}};
    spec.sort = SortParamSpec{.param = "sort", .allowed = {"revenue", "day", "n"}, .default_value = ""};
    spec.total = true;
    specs.push_back(spec);
  }
  return specs;
}

TEST_F(ShardPlanTest, GeneratedRequestsAnswerWhatTheWholeDataAnswers) {
  auto specs = Endpoints();
  std::vector<std::unique_ptr<CompiledEndpoint>> endpoints;
  for (const auto& spec : specs) {
    endpoints.push_back(Compile(spec));
    ASSERT_NE(endpoints.back(), nullptr) << spec.name;
  }
  std::mt19937 random(20261202);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  int compared = 0;
  for (int request = 0; request < kRequests; ++request) {
    const size_t e = static_cast<size_t>(pick(static_cast<int>(endpoints.size())));
    const CompiledEndpoint& endpoint = *endpoints[e];
    QueryParams query;
    if (pick(2)) query.push_back({"tenant", "t" + std::to_string(pick(5))});
    if (pick(3) == 0) query.push_back({"regions", pick(2) ? "north,east" : "west"});
    if (pick(3) == 0) query.push_back({"from", "2024-01-" + std::to_string(10 + pick(10))});
    if (pick(3) == 0) query.push_back({"to", "2024-01-" + std::to_string(20 + pick(10))});
    if (pick(3) == 0) query.push_back({"min_qty", std::to_string(pick(50))});
    if (pick(3) == 0) query.push_back({"min_n", std::to_string(pick(12))});
    if (pick(4) == 0) query.push_back({"flag", pick(2) ? "true" : "false"});
    if (pick(3) == 0) query.push_back({"total", "true"});
    const bool unordered = specs[e].name == "unordered";
    if (!unordered) {
      query.push_back({"limit", std::to_string(1 + pick(60))});
      if (pick(2)) query.push_back({"offset", std::to_string(pick(80))});
    }
    if (specs[e].sort && pick(2)) {
      const auto& allowed = specs[e].sort->allowed;
      query.push_back({"sort", (pick(2) ? "-" : "") + allowed[static_cast<size_t>(pick(static_cast<int>(allowed.size())))]});
    }
    std::erase_if(query, [&](const auto& item) {  // what this endpoint does not declare
      return endpoint.ParamIndex(item.first) < 0 && item.first != "limit" && item.first != "offset" && item.first != "total";
    });
    auto args = endpoint.ParseRequest(query, "");
    ASSERT_TRUE(args.ok()) << args.status().ToString();
    std::string context = specs[e].name + " request " + std::to_string(request);
    if (endpoint.tenant_scoped()) {
      const std::string tenant = "t" + std::to_string(pick(6));  // t5: no rows
      endpoint.SetTenant(*args, tenant);
      context += " as tenant " + tenant;
    }
    for (const auto& [key, value] : query) context += " " + key + "=" + value;
    auto whole = RunWhole(endpoint, *args);
    auto sharded = RunSharded(endpoint, *args);
    ExpectSameRows(whole.first, sharded.first, !unordered, context);
    EXPECT_EQ(whole.second, sharded.second) << context;
    auto combined = RunSharded(endpoint, *args, "", /*combine=*/true);
    ExpectSameRows(whole.first, combined.first, !unordered, context + " (shards combined in pairs)");
    EXPECT_EQ(whole.second, combined.second) << context << " (shards combined in pairs)";
    ++compared;
    if (HasFailure()) break;
  }
  EXPECT_EQ(compared, kRequests);
  // Every declarative endpoint's reduce ran without a query (the rest are the analysis's).
  EXPECT_GT(merges_ * 2, reduces_) << merges_ << " merged of " << reduces_;
  std::printf("reduces answered by the merge: %d of %d\n", merges_, reduces_);
}

TEST_F(ShardPlanTest, AnAnalysisThatDoesNotCompileIsRefusedWhereItIsWrong) {
  auto diagnose = [](EndpointSpec spec) {
    spec.field_positions["map"] = {"e.yml", 3, 1};
    spec.field_positions["reduce"] = {"e.yml", 7, 1};
    common::Diagnostics diagnostics;
    EXPECT_EQ(CompiledEndpoint::Compile(spec, *whole_, diagnostics), nullptr);
    return diagnostics.ToString();
  };
  EndpointSpec spec{.name = "a", .dataset = "d", .map_sql = "SELECT region, count(*) AS n FROM t GROUP BY region",
                    .reduce_sql = "SELECT region, sum(n) AS n FROM partials GROUP BY region"};
  spec.position = {"e.yml", 1, 1};
  {
    EndpointSpec bad = spec;
    bad.map_sql = "SELEC region FROM t";
    EXPECT_NE(diagnose(bad).find("e.yml:3:1: map does not compile"), std::string::npos) << diagnose(bad);
  }
  {
    EndpointSpec bad = spec;
    bad.reduce_sql = "SELECT region, sum(revenue) AS revenue FROM partials GROUP BY region";
    const std::string text = diagnose(bad);
    EXPECT_NE(text.find("e.yml:7:1: reduce must read only `partials`"), std::string::npos) << text;
    EXPECT_NE(text.find("revenue"), std::string::npos) << text;
  }
  {
    EndpointSpec bad = spec;
    bad.params = {Param("unused", ParamType::kInteger)};
    bad.params.back().position = {"e.yml", 9, 3};
    bad.reduce_sql = "SELECT region, sum(n) AS n FROM partials WHERE {{nope}} GROUP BY region";
    const std::string text = diagnose(bad);
    EXPECT_NE(text.find("e.yml:7:1: reduce uses undeclared param 'nope'"), std::string::npos) << text;
    EXPECT_NE(text.find("e.yml:9:3: param 'unused' is used in neither map nor reduce"), std::string::npos) << text;
  }
  {
    EndpointSpec bad = spec;
    bad.map_sql = "SELECT region, list(id) AS ids FROM t GROUP BY region";
    bad.reduce_sql = "SELECT region FROM partials";
    EXPECT_NE(diagnose(bad).find("map's column 'ids' is"), std::string::npos) << diagnose(bad);
  }
  {
    // The reduce reads the data itself: it would see every tenant's rows (and on a sharded
    // database it runs where there are none).
    EndpointSpec bad = spec;
    bad.reduce_sql = "SELECT region, count(*) AS n FROM t GROUP BY region";
    const std::string text = diagnose(bad);
    EXPECT_NE(text.find("e.yml:7:1: reduce must read only `partials`"), std::string::npos) << text;
  }
  {
    EndpointSpec bad = spec;
    bad.tenant_column = "tenant";
    bad.field_positions["tenant_column"] = {"e.yml", 2, 1};
    EXPECT_NE(diagnose(bad).find("e.yml:2:1: map must return the tenant_column 'tenant'"), std::string::npos) << diagnose(bad);
  }
}

TEST_F(ShardPlanTest, CountDistinctIsSplitOnlyOverTheShardColumn) {
  EndpointSpec spec{.name = "distinct", .dataset = "d", .table = "t"};
  spec.group_by = {"region"};
  spec.select = {{.column = "region"}, {.column = "id", .aggregate = Aggregate::kCountDistinct, .as = "ids"}};
  spec.order_by = {{.column = "region"}};
  auto endpoint = Compile(spec);
  ASSERT_NE(endpoint, nullptr);
  auto args = endpoint->ParseRequest({}, "");
  ASSERT_TRUE(args.ok());
  auto refused = endpoint->PlanShards(*args, "");
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  // Split by id, each id lives in one shard: the per-shard counts add up.
  ExpectSameRows(RunWhole(*endpoint, *args).first, RunSharded(*endpoint, *args, "id").first, true, "distinct ids");
  ExpectSameRows(RunWhole(*endpoint, *args).first, RunSharded(*endpoint, *args, "id", /*combine=*/true).first, true,
                 "distinct ids, shards combined in pairs");
}

TEST_F(ShardPlanTest, TemplatesAreNotSplitAutomatically) {  // (an analysis is: map and reduce)
  EndpointSpec spec{.name = "tpl", .dataset = "d", .sql = "SELECT region, count(*) AS n FROM t GROUP BY region"};
  auto endpoint = Compile(spec);
  ASSERT_NE(endpoint, nullptr);
  auto args = endpoint->ParseRequest({}, "");
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(endpoint->PlanShards(*args, "").status().code(), StatusCode::kUnimplemented);
}

// Groups asked for in no order come in the order of their keys across shards, a page of them is
// the first by key, and the merge steps give the same as the query.
TEST_F(ShardPlanTest, GroupsInNoOrderComeInTheOrderOfTheirKeys) {
  EndpointSpec spec{.name = "regions", .dataset = "d", .table = "t"};
  spec.group_by = {"region"};
  spec.select = {{.column = "region"}, {.aggregate = Aggregate::kCount, .as = "n"}};
  auto endpoint = Compile(spec);
  ASSERT_NE(endpoint, nullptr);
  auto args = endpoint->ParseRequest({{"limit", "2"}, {"offset", "1"}}, "");
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  auto plan = endpoint->PlanShards(*args, "");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_NE(plan->reduce_sql.find("ORDER BY \"__dram_g0\" ASC"), std::string::npos) << plan->reduce_sql;
  ASSERT_TRUE(plan->merge.has_value());
  ASSERT_EQ(plan->merge->order.size(), 1u);
  auto sharded = RunSharded(*endpoint, *args);
  auto whole = RunWholeRegionsPage();
  EXPECT_EQ(sharded.first, whole) << plan->reduce_sql;
}

// The reduce step reads every shard's partial as the payload it arrived in: rows and names
// holding line breaks, quotes, commas, empty strings and NULLs, and a shard with no rows, come
// back exactly as a query over all the rows at once answers.
TEST_F(ShardPlanTest, PartialsWithLineBreaksQuotesAndEmptyShardsReduceExactly) {
  auto database = engine::Database::Open("", {.read_only = false, .threads = 1});
  ASSERT_TRUE(database.ok()) << database.status().ToString();
  auto connection = (*database)->Connect();
  ASSERT_TRUE(connection.ok());
  ASSERT_TRUE((*connection)
                  ->Execute("CREATE TABLE r AS SELECT * FROM (VALUES (1, 'a\r\nb', 0), (2, '', 0), (3, NULL, 1), "
                            "(4, 'say \"hi\", ok', 1), (5, '\r\n', 2), (6, ',', 1), (7, 'x', 1)) v(n, \"odd\r\n\"\"name\", k)")
                  .ok());
  std::vector<PartialResult> partials;
  for (int k = 0; k < 4; ++k) {  // shard 3 has no rows
    QueryPlan map{.sql = "SELECT n, \"odd\r\n\"\"name\" FROM r WHERE k = " + std::to_string(k)};
    auto partial = RunMap(**connection, map);
    ASSERT_TRUE(partial.ok()) << partial.status().ToString();
    partial->shard = k;
    partials.push_back(std::move(partial).value());
  }
  ShardPlan plan;
  plan.reduce_sql = "SELECT * FROM partials ORDER BY n";
  std::string reduced;
  auto result = reducer_->Reduce(plan, partials, engine::Format::kJson, reduced);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows, 7u);
  auto direct = (*connection)->Query("SELECT n, \"odd\r\n\"\"name\" FROM r ORDER BY n");
  ASSERT_TRUE(direct.ok());
  std::string expected;
  ASSERT_TRUE(engine::EncodeResult(*direct, engine::Format::kJson, expected).ok());
  EXPECT_EQ(reduced, expected);
  // A partial whose columns differ from the others' is refused, not merged.
  const PartialResult good = partials[1];
  auto other = RunMap(**connection, QueryPlan{.sql = "SELECT n, 'z' AS other FROM r"});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  partials[1] = std::move(other).value();
  EXPECT_EQ(reducer_->Reduce(plan, partials, engine::Format::kJson, reduced).status().code(), StatusCode::kInvalidArgument);
  // The reduce's SQL names each column's type, which must be the payload's own: a name that is
  // not (or is no type at all) refuses the reduce.
  for (const char* type : {"INTEGER) AS n FROM partials --", "INTEGER); SELECT 1; --(", "DECIMAL(,)", "INTEGER(1,2,3)",
                           "'VARCHAR'", "1NT", ""}) {
    for (auto& partial : partials) {
      partial = good;
      partial.columns[0].type.sql_name = type;
    }
    EXPECT_EQ(reducer_->Reduce(plan, partials, engine::Format::kJson, reduced).status().code(), StatusCode::kInvalidArgument)
        << type;
  }
}

// Every type a partial can carry comes back from the reduce as one query over all rows answers it:
// the extremes of each integer type, floats that differ in the last digit, NaN and infinities,
// decimals at full width, times and timestamps at every precision and with a zone, UUIDs, empty
// strings beside NULLs.
TEST_F(ShardPlanTest, EveryTypeAPartialCarriesReducesToWhatOneQueryAnswers) {
  auto database = engine::Database::Open("", {.read_only = false, .threads = 1});
  ASSERT_TRUE(database.ok()) << database.status().ToString();
  auto connection = (*database)->Connect();
  ASSERT_TRUE(connection.ok());
  const Status created = (*connection)->Execute(R"(CREATE TABLE v AS SELECT i AS id, i % 4 AS k,
      CASE i % 3 WHEN 0 THEN -128 WHEN 1 THEN 127 END::TINYINT AS ti, (i * 1000 - 32768)::SMALLINT AS si,
      (2147483647 - i)::INTEGER AS it, (-9223372036854775808 + i)::BIGINT AS bi,
      ('170141183460469231731687303715884105727'::HUGEINT - i) AS hi, (255 - i % 256)::UTINYINT AS ut,
      (65535 - i)::USMALLINT AS us, (4294967295 - i)::UINTEGER AS ui, ('18446744073709551615'::UBIGINT - i::UBIGINT) AS ub,
      ('340282366920938463463374607431768211455'::UHUGEINT - i::UHUGEINT) AS uh,
      CASE WHEN i % 5 = 0 THEN NULL ELSE (1.0 / (i + 3))::FLOAT END AS fl,
      CASE i % 7 WHEN 0 THEN 'nan'::DOUBLE WHEN 1 THEN 'inf'::DOUBLE WHEN 2 THEN '-inf'::DOUBLE
        ELSE 0.1 + i * 1e-17 END AS db,
      (i / 10)::DECIMAL(4, 1) AS d4, (i * 1.000001)::DECIMAL(18, 6) AS d18,
      ('9999999999999999999999999999.' || lpad(i::VARCHAR, 10, '0'))::DECIMAL(38, 10) AS d38,
      CASE WHEN i % 6 = 0 THEN NULL WHEN i % 6 = 1 THEN '' ELSE 'x' || i END AS s, i % 2 = 0 AS b,
      DATE '0001-01-01' + (i * 9000)::INTEGER AS dt, TIME '23:59:59.999999' - INTERVAL (i) SECOND AS tm,
      TIMESTAMP '2024-02-29 12:00:00.123456' + INTERVAL (i * 3601) SECOND AS ts,
      (TIMESTAMP '1970-01-01 00:00:00' + INTERVAL (i) DAY)::TIMESTAMP_S AS ts_s,
      (TIMESTAMP '2000-01-01 00:00:00.123' + INTERVAL (i) MINUTE)::TIMESTAMP_MS AS ts_ms,
      '2030-06-01 00:00:00.123456789'::TIMESTAMP_NS AS ts_ns,
      (TIMESTAMPTZ '2024-03-31 01:30:00+00' + INTERVAL (i) HOUR) AS tz,
      ('00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS u,
      CASE WHEN i % 9 = 0 THEN NULL ELSE ['zeta', 'it''s', 'a,b', 'alpha'][1 + i % 4] END::ENUM('zeta', 'it''s', 'a,b', 'alpha') AS e
    FROM range(40) r(i))");
  ASSERT_TRUE(created.ok()) << created.ToString();
  std::vector<PartialResult> partials;
  for (int k = 0; k < 4; ++k) {
    QueryPlan map{.sql = "SELECT * EXCLUDE (k) FROM v WHERE k = " + std::to_string(k)};
    auto partial = RunMap(**connection, map);
    ASSERT_TRUE(partial.ok()) << partial.status().ToString();
    partial->shard = k;
    partials.push_back(std::move(partial).value());
  }
  auto expect_same = [&](const std::string& reduce, const std::string& whole) {
    ShardPlan plan;
    plan.reduce_sql = reduce;
    std::string reduced;
    auto result = reducer_->Reduce(plan, partials, engine::Format::kJson, reduced);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    auto direct = (*connection)->Query(whole);
    ASSERT_TRUE(direct.ok()) << direct.status().ToString();
    std::string expected;
    ASSERT_TRUE(engine::EncodeResult(*direct, engine::Format::kJson, expected).ok());
    EXPECT_EQ(reduced, expected) << reduce;
  };
  expect_same("SELECT * FROM partials ORDER BY id", "SELECT * EXCLUDE (k) FROM v ORDER BY id");
  std::string aggregates;
  for (const char* column : {"ti", "si", "it", "bi", "hi", "ut", "us", "ui", "ub", "uh", "fl", "db", "d4", "d18", "d38", "s",
                             "b", "dt", "tm", "ts", "ts_s", "ts_ms", "ts_ns", "tz", "u", "e"}) {
    aggregates += std::string(aggregates.empty() ? "" : ", ") + "min(" + column + ") AS min_" + column + ", max(" + column +
                  ") AS max_" + column + ", count(" + column + ") AS n_" + column;
  }
  expect_same("SELECT " + aggregates + " FROM partials", "SELECT " + aggregates + " FROM v");
  // An ENUM orders by its values' place in the type ('zeta' first), not as strings.
  expect_same("SELECT e, count(*) AS n FROM partials GROUP BY e ORDER BY e NULLS FIRST",
              "SELECT e, count(*) AS n FROM v GROUP BY e ORDER BY e NULLS FIRST");
  // Type names that are not the payload's (nor a type) refuse the reduce.
  for (const char* type : {"ENUM('a') AS x, (SELECT 1)", "ENUM('a)", "ENUM('a',''b')", "ENUM('a'||'b')", "ENUM()"}) {
    std::vector<PartialResult> bad = partials;
    for (auto& partial : bad) partial.columns.back().type.sql_name = type;
    ShardPlan plan;
    plan.reduce_sql = "SELECT * FROM partials";
    std::string reduced;
    EXPECT_EQ(reducer_->Reduce(plan, bad, engine::Format::kJson, reduced).status().code(), StatusCode::kInvalidArgument) << type;
  }
}

// A map step's answer on the wire (EncodeMapReply): the envelope, then the payloads; read back,
// every partial is as sent, and a body cut short, padded or whose envelope miscounts is refused
// (never read past its end, never half-used).
TEST_F(ShardPlanTest, AMapReplyReadsBackAsSentAndRefusesBytesItDoesNotAccountFor) {
  auto database = engine::Database::Open("", {.read_only = false, .threads = 1});
  ASSERT_TRUE(database.ok());
  auto connection = (*database)->Connect();
  ASSERT_TRUE(connection.ok());
  std::vector<PartialResult> sent;
  for (const char* sql : {"SELECT 1::BIGINT AS n, 'a\nb' AS s", "SELECT 2::BIGINT AS n, NULL::VARCHAR AS s WHERE false",
                          "SELECT i::BIGINT AS n, repeat('x', i) AS s FROM range(3000) t(i)"}) {
    auto partial = RunMap(**connection, QueryPlan{.sql = sql});
    ASSERT_TRUE(partial.ok()) << partial.status().ToString();
    partial->shard = static_cast<int>(sent.size());
    partial->snapshot = "snap" + std::to_string(sent.size());
    partial->count = 7;
    partial->watermark_ms = 1234;
    sent.push_back(std::move(partial).value());
  }
  sent[2].combined = {{2, "snap2"}, {3, "snap3"}};
  const std::string body = EncodeMapReply(boost::json::object{{"missing", boost::json::array{}}}, sent);
  auto read = DecodeMapReply(body);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->envelope.contains("missing"));
  EXPECT_FALSE(read->envelope.contains("partials"));
  ASSERT_EQ(read->partials.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    const PartialResult& got = read->partials[i];
    EXPECT_EQ(got.payload, sent[i].payload);
    EXPECT_EQ(got.shard, sent[i].shard);
    EXPECT_EQ(got.snapshot, sent[i].snapshot);
    EXPECT_EQ(got.rows, sent[i].rows);
    EXPECT_EQ(got.count, 7);
    EXPECT_EQ(got.watermark_ms, 1234);
    EXPECT_EQ(got.combined, sent[i].combined);
    ASSERT_EQ(got.columns.size(), 2u);
    EXPECT_EQ(got.columns[0].type.sql_name, "BIGINT");
    EXPECT_EQ(got.columns[1].name, "s");
  }
  EXPECT_EQ(read->partials[2].rows, 3000);
  // What arrived reduces as what was sent.
  ShardPlan plan;
  plan.reduce_sql = "SELECT count(*) AS rows, sum(n) AS total, sum(length(s)) AS chars FROM partials";
  std::string from_sent, from_read;
  ASSERT_TRUE(reducer_->Reduce(plan, sent, engine::Format::kJson, from_sent).ok());
  ASSERT_TRUE(reducer_->Reduce(plan, read->partials, engine::Format::kJson, from_read).ok());
  EXPECT_EQ(from_read, from_sent);
  EXPECT_EQ(from_read, R"([{"rows":3001,"total":4498501,"chars":4498503}])");
  // Cut anywhere, or with bytes after the last payload: refused.
  for (size_t cut : {body.find('\n'), body.find('\n') + 1, body.find('\n') + 10, body.size() - 1}) {
    EXPECT_FALSE(DecodeMapReply(std::string_view(body).substr(0, cut)).ok()) << cut;
  }
  EXPECT_EQ(DecodeMapReply(body + "x").status().code(), StatusCode::kDataLoss);
  // An envelope alone (a member's map_error) has no partials.
  auto error = DecodeMapReply(R"({"map_error":"boom"})");
  ASSERT_TRUE(error.ok()) << error.status().ToString();
  EXPECT_TRUE(error->partials.empty());
  EXPECT_FALSE(DecodeMapReply("not json\n").ok());
  // Rows of the same types under other names, one set after another on the same reducer, whose
  // statements are prepared once per text ("SELECT * FROM partials" for every analysis without a
  // reduce): each reads as its own.
  ShardPlan every_row;
  every_row.reduce_sql = "SELECT * FROM partials";
  for (int round = 0; round < 3; ++round) {
    for (const std::string name : {"a", "b"}) {
      auto partial = RunMap(**connection, QueryPlan{.sql = "SELECT " + std::to_string(round) + "::BIGINT AS " + name});
      ASSERT_TRUE(partial.ok()) << partial.status().ToString();
      std::string out;
      auto reduced = reducer_->Reduce(every_row, {*partial}, engine::Format::kJson, out);
      ASSERT_TRUE(reduced.ok()) << name << ": " << reduced.status().ToString();
      EXPECT_EQ(out, "[{\"" + name + "\":" + std::to_string(round) + "}]");
    }
  }
}

// The fuzzer's seeds for map replies (fuzz/corpus/map_reply, written by hand from
// docs/columnar_format.md: plain, narrowed, NULL bitmap, DECIMAL, ENUM, HUGEINT, DATE; one with
// merge steps) read as the spec says, so the fuzzer starts from replies that reach the reduce, and the spec stays the format.
TEST_F(ShardPlanTest, MapRepliesWrittenFromTheSpecReadAsItSays) {
  auto seed = [](const char* name) {
    std::ifstream in(std::string(DRAM_SOURCE_DIR) + "/fuzz/corpus/map_reply/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  ShardPlan plan;
  plan.reduce_sql = "SELECT * FROM partials LIMIT $1 OFFSET $2";
  plan.reduce_values = {Value(int64_t{100}), Value(int64_t{0})};
  auto first = DecodeMapReply(seed("seed1"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->partials.size(), 2u);
  EXPECT_EQ(first->partials[0].columns[3].type.sql_name, "DECIMAL(9,2)");
  EXPECT_EQ(first->partials[0].columns[4].type.sql_name, "ENUM('a', 'b')");
  std::string out;
  ASSERT_TRUE(reducer_->Reduce(plan, first->partials, engine::Format::kCsv, out).ok());
  const std::string rows = "1,a,1.5,1.00,a\r\n-2,bc,,1.05,b\r\n3,,-0,3.50,b\r\n";  // NULL and "" alike in CSV
  EXPECT_EQ(out, "id,name,x,price,kind\r\n" + rows + rows);
  auto second = DecodeMapReply(seed("seed2"));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  out.clear();
  ASSERT_TRUE(reducer_->Reduce(plan, second->partials, engine::Format::kJson, out).ok());
  EXPECT_EQ(out, R"([{"t":7,"d":"2022-01-08"},{"t":16,"d":"1969-12-31"}])");
  // seed4: seed1's payloads with merge steps in its "reduce", as a member answers the smart client.
  auto merged = DecodeMapReply(seed("seed4"));
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  auto sent = DecodeReduce(merged->envelope.at("reduce"));
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  ASSERT_TRUE(sent->merge.has_value());
  out.clear();
  auto reduced = reducer_->Reduce(*sent, merged->partials, engine::Format::kJson, out);
  ASSERT_TRUE(reduced.ok()) << reduced.status().ToString();
  EXPECT_TRUE(reduced->merged);
  // ("avg" divides the ids by themselves: the seed names column 0 as its counts too.)
  EXPECT_EQ(out, R"([{"kind":"a","ids":2,"first":"a","avg":1},{"kind":"b","ids":2,"first":"","avg":1}])");
  auto alone = DecodeMapReply(seed("seed3"));
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();
  EXPECT_TRUE(alone->partials.empty());
}

// A reduce step's merge (ShardPlan::merge) travels to the smart client checked: an unknown op,
// a number out of range or a missing field refuses the whole reduce step, never half of it.
TEST_F(ShardPlanTest, AMalformedMergeStepIsRefused) {
  ShardPlan plan;
  plan.reduce_sql = "SELECT * FROM partials LIMIT $1 OFFSET $2";
  plan.reduce_values = {Value(int64_t{10}), Value(int64_t{0})};
  plan.merge = engine::PartialMerge{.grouped = true,
                                    .keys = {0},
                                    .outputs = {{.name = "k", .column = 0},
                                                {.name = "n", .op = engine::PartialMerge::Op::kSum, .column = 1, .type = "BIGINT"}},
                                    .answered = 2,
                                    .order = {{.output = 1, .descending = true}},
                                    .limit = 10};
  const boost::json::object sent = EncodeReduce(plan);
  auto back = DecodeReduce(sent);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->merge.has_value());
  EXPECT_EQ(back->merge->outputs[1].op, engine::PartialMerge::Op::kSum);
  EXPECT_EQ(back->merge->outputs[1].type, "BIGINT");
  EXPECT_TRUE(back->merge->order[0].descending);
  // A member that sends no merge (an older one): the SQL alone.
  boost::json::object without = sent;
  without.erase("merge");
  auto plain = DecodeReduce(without);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->merge.has_value());
  auto broken = [&](auto&& change) {
    boost::json::value copy = sent;
    change(copy.as_object()["merge"].as_object());
    return DecodeReduce(copy).status().code();
  };
  EXPECT_EQ(broken([](auto& m) { m["outputs"].as_array()[1].as_object()["op"] = "median"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(broken([](auto& m) { m["outputs"].as_array()[1].as_object()["column"] = -1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(broken([](auto& m) { m["keys"].as_array()[0] = 1e12; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(broken([](auto& m) { m.erase("limit"); }), StatusCode::kInvalidArgument);
  EXPECT_EQ(broken([](auto& m) { m["order"].as_array()[0] = boost::json::array{1}; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(broken([](auto& m) { m["answered"] = "2"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(broken([](auto& m) { m["offset"] = -1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(broken([](auto& m) { m["keys"] = boost::json::array(5000, 0); }), StatusCode::kInvalidArgument);
}

// A C++ analysis's reduce step (ShardReducer::ReduceWith) queries `partials` as SQL would: with
// a WITH clause of its own, or a recursive one, but only SELECTs, and nothing but the partials.
TEST_F(ShardPlanTest, ACodeReduceReadsOnlyThePartialsAndOnlySelects) {
  auto database = engine::Database::Open("", {.read_only = false, .threads = 1});
  ASSERT_TRUE(database.ok());
  auto connection = (*database)->Connect();
  ASSERT_TRUE(connection.ok());
  std::vector<PartialResult> partials;
  for (const char* rows : {"('a', 10, 2), ('b', 3, 1)", "('a', 5, 1)"}) {
    QueryPlan map{.sql = std::string("SELECT g, s::BIGINT AS s, n::BIGINT AS n FROM (VALUES ") + rows + ") v(g, s, n)"};
    auto partial = RunMap(**connection, map);
    ASSERT_TRUE(partial.ok()) << partial.status().ToString();
    partials.push_back(std::move(partial).value());
  }
  auto reduce_with = [&](const std::string& sql) -> Result<std::string> {
    std::string out;
    auto reduced = reducer_->ReduceWith([&](QuerySession& session) { return session.Query(sql, {}); }, partials,
                                        engine::Format::kNdjson, out);
    if (!reduced.ok()) return reduced.status();
    return out;
  };
  auto averages = reduce_with("SELECT g, sum(s) / sum(n) AS average FROM partials GROUP BY g ORDER BY g");
  ASSERT_TRUE(averages.ok()) << averages.status().ToString();
  EXPECT_EQ(*averages, "{\"g\":\"a\",\"average\":5}\n{\"g\":\"b\",\"average\":3}\n");
  auto with = reduce_with("  with totals AS (SELECT g, sum(s) AS s FROM partials GROUP BY g) SELECT sum(s) AS s FROM totals");
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(*with, "{\"s\":18}\n");
  auto recursive = reduce_with(
      "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 3) SELECT count(*) AS c FROM r, partials");
  ASSERT_TRUE(recursive.ok()) << recursive.status().ToString();
  EXPECT_EQ(*recursive, "{\"c\":9}\n");
  EXPECT_FALSE(reduce_with("CREATE TABLE kept AS SELECT * FROM partials").ok());
  EXPECT_FALSE(reduce_with("SELECT * FROM read_csv('/etc/passwd')").ok());
  // The reduce's own error comes back as it was.
  std::string out;
  auto refused = reducer_->ReduceWith([](QuerySession&) -> Result<Rows> { return InvalidArgument("no such group"); }, partials,
                                      engine::Format::kJson, out);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "no such group");
}

}  // namespace
}  // namespace dram::api
