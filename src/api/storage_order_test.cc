// Requests whose order is the order a table is stored in (sort_by, then the key) run without
// ORDER BY (CompiledEndpoint::StorageOrderAnswers) and answer byte for byte what the same
// requests answer over the same rows unsorted, where they run with it: generated requests over
// values with ties, NULLs, non-ASCII and empty strings, read by 4 threads across many row groups.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "api/compiled_endpoint.h"
#include "database/snapshot_builder.h"
#include "engine/database.h"
#include "engine/result_encoder.h"

namespace dram::api {
namespace {

namespace fs = std::filesystem;

#ifdef DRAM_SANITIZED
constexpr int kRequests = 100;  // the sanitizer builds check memory and threads, not more shapes
#else
constexpr int kRequests = 300;
#endif

ParamSpec Param(std::string name, ParamType type) {
  ParamSpec param;
  param.name = std::move(name);
  param.type = type;
  return param;
}

class StorageOrderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("dram-storage-order-test-" + std::to_string(::getpid())));
    fs::create_directories(*dir_ / "cache");
    auto database = engine::Database::Open("", {.read_only = false});
    ASSERT_TRUE(database.ok());
    auto connection = (*database)->Connect();
    ASSERT_TRUE(connection.ok());
    // Written in no order: the sorted snapshot's order is its own doing.
    ASSERT_TRUE((*connection)
                    ->Execute("COPY (SELECT i AS id, "
                              "CASE WHEN i % 23 = 0 THEN NULL ELSE 't' || (i % 7) END AS tenant, "
                              "['ä', 'b', 'B', 'a', '', 'ab'][1 + (hash(i) % 6)::INTEGER] AS product, "
                              "CASE WHEN i % 31 = 0 THEN NULL ELSE DATE '2024-01-01' + (hash(i, 1) % 30)::INTEGER END AS day, "
                              "(hash(i, 2) % 1000)::INTEGER AS qty, 0.5 + (hash(i, 3) % 100) / 8.0 AS score, i % 2 = 0 AS flag "
                              "FROM range(40000) r(i) ORDER BY hash(i, 9)) TO '" +
                              (*dir_ / "t.parquet").string() + "' (FORMAT parquet)")
                    .ok());
    // Codes that one integer matches several of as text ('7', '07', '+7', ' 7').
    ASSERT_TRUE((*connection)
                    ->Execute("COPY (SELECT i AS id, ['7', '07', '+7', '8', ' 7'][1 + (i % 5)] AS code, "
                              "(hash(i) % 100)::INTEGER AS seq FROM range(3000) r(i) ORDER BY hash(i, 9)) TO '" +
                              (*dir_ / "c.parquet").string() + "' (FORMAT parquet)")
                    .ok());
    // Enough rows for DuckDB to answer an IN list of 5 or more out of storage order (the 40,000
    // rows of t are not: measured, it kept their order).
    ASSERT_TRUE((*connection)
                    ->Execute("COPY (SELECT i AS id, 't' || (i % 20) AS g, 'p' || lpad((hash(i) % 12)::VARCHAR, 2, '0') AS h, "
                              "(hash(i, 1) % 366)::INTEGER AS d FROM range(200000) r(i) ORDER BY hash(i, 9)) TO '" +
                              (*dir_ / "e.parquet").string() + "' (FORMAT parquet)")
                    .ok());
    database::DatasetSpec spec{.name = "sorted"};
    spec.tables = {{.name = "t", .path = (*dir_ / "t.parquet").string(), .sort_by = {"tenant", "product", "day"}, .key = {"id"}},
                   {.name = "c", .path = (*dir_ / "c.parquet").string(), .sort_by = {"code", "seq"}, .key = {"id"}},
                   {.name = "e", .path = (*dir_ / "e.parquet").string(), .sort_by = {"g", "h", "d"}, .key = {"id"}}};
    spec.row_group_size = 2048;  // ~20 row groups: what a request reads spans several, scanned by 4 threads
    auto tables = database::ListSources(spec, "");
    ASSERT_TRUE(tables.ok()) << tables.status().ToString();
    database::SnapshotOpenOptions options;
    options.engine.threads = 4;
    options.pool_size = 1;
    auto built = database::BuildSnapshot(spec, *tables, database::SnapshotId(spec, *tables), (*dir_ / "cache").string(), options,
                                         false, nullptr, {}, std::chrono::steady_clock::now());
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    sorted_ = std::move(built).value().release();
    database::DatasetSpec plain{.name = "plain"};
    plain.tables = {{.name = "t", .path = (*dir_ / "t.parquet").string(), .key = {"id"}},
                    {.name = "c", .path = (*dir_ / "c.parquet").string(), .key = {"id"}},
                    {.name = "e", .path = (*dir_ / "e.parquet").string(), .key = {"id"}}};
    auto views = database::OpenSourceViews(plain);
    ASSERT_TRUE(views.ok()) << views.status().ToString();
    plain_ = std::move(views).value().release();
  }
  static void TearDownTestSuite() {
    delete sorted_;
    delete plain_;
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::unique_ptr<CompiledEndpoint> Compile(const EndpointSpec& spec, const database::Snapshot& snapshot) {
    common::Diagnostics diagnostics;
    auto endpoint = CompiledEndpoint::Compile(spec, snapshot, diagnostics);
    EXPECT_TRUE(diagnostics.empty()) << diagnostics.ToString();
    return endpoint;
  }

  static std::string Run(const database::Snapshot& snapshot, const QueryPlan& plan) {
    auto lease = snapshot.pool().Acquire(std::chrono::seconds(5));
    EXPECT_TRUE(lease.ok());
    auto result = (*lease)->Query(plan.sql, plan.values);
    EXPECT_TRUE(result.ok()) << result.status().ToString() << "\n" << plan.sql;
    std::string out;
    if (result.ok()) {
      EXPECT_TRUE(engine::EncodeResult(*result, engine::Format::kNdjson, out).ok());
    }
    return out;
  }

  static fs::path* dir_;
  static database::Snapshot* sorted_;
  static database::Snapshot* plain_;
};

fs::path* StorageOrderTest::dir_ = nullptr;
database::Snapshot* StorageOrderTest::sorted_ = nullptr;
database::Snapshot* StorageOrderTest::plain_ = nullptr;

TEST_F(StorageOrderTest, AMaterializedTableKnowsItsOrderAndViewsDoNot) {
  const database::TableInfo* sorted = sorted_->FindTable("t");
  ASSERT_NE(sorted, nullptr);
  EXPECT_EQ(sorted->storage_order, (std::vector<std::string>{"tenant", "product", "day", "id"}));
  ASSERT_NE(sorted_->FindTable("c"), nullptr);
  EXPECT_EQ(sorted_->FindTable("c")->storage_order, (std::vector<std::string>{"code", "seq", "id"}));
  const database::TableInfo* plain = plain_->FindTable("t");
  ASSERT_NE(plain, nullptr);
  EXPECT_TRUE(plain->storage_order.empty());
}

// A DuckDB file served as it is: a table comment in dram's words but for another snapshot is
// not an order (its rows are in whatever order its writer left them).
TEST_F(StorageOrderTest, ACommentForAnotherSnapshotIsNoOrder) {
  fs::create_directories(*dir_ / "own");
  const fs::path file = *dir_ / "own" / "own.duckdb";
  {
    auto database = engine::Database::Open(file.string(), {.read_only = false});
    ASSERT_TRUE(database.ok());
    auto connection = (*database)->Connect();
    ASSERT_TRUE(connection.ok());
    ASSERT_TRUE((*connection)->Execute("CREATE TABLE t AS SELECT 3 - i AS id FROM range(3) r(i)").ok());
    ASSERT_TRUE((*connection)->Execute("COMMENT ON TABLE t IS 'dram storage order of 0123: [\"id\"]'").ok());
  }
  database::DatasetSpec spec{.name = "own", .source = (*dir_ / "own").string()};
  auto snapshot = database::OpenSourceViews(spec);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  ASSERT_NE((*snapshot)->FindTable("t"), nullptr);
  EXPECT_TRUE((*snapshot)->FindTable("t")->storage_order.empty());
}

TEST_F(StorageOrderTest, GeneratedRequestsAnswerWhatTheOrderByAnswers) {
  std::vector<EndpointSpec> specs;
  {
    EndpointSpec spec{.name = "lookup", .dataset = "d", .table = "t"};
    spec.params = {Param("tenant", ParamType::kString), Param("product", ParamType::kString), Param("day", ParamType::kDate),
                   Param("min_qty", ParamType::kInteger), Param("flag", ParamType::kBoolean), Param("sort", ParamType::kString)};
    spec.filters = {{.column = "tenant", .op = FilterOp::kEq, .params = {"tenant"}},
                    {.column = "product", .op = FilterOp::kEq, .params = {"product"}},
                    {.column = "day", .op = FilterOp::kEq, .params = {"day"}},
                    {.column = "qty", .op = FilterOp::kGte, .params = {"min_qty"}},
                    {.column = "flag", .op = FilterOp::kEq, .params = {"flag"}}};
    spec.order_by = {{.column = "day"}};
    spec.sort = SortParamSpec{.param = "sort", .allowed = {"day", "id", "qty", "product", "tenant"}, .default_value = ""};
    spec.max_limit = 5000;
    specs.push_back(spec);
  }
  {
    // The tenant filter pins the first column; a page of a tenant's rows by product and day.
    EndpointSpec spec{.name = "mine", .dataset = "d", .table = "t", .tenant_column = "tenant"};
    spec.params = {Param("day", ParamType::kDate)};
    spec.filters = {{.column = "day", .op = FilterOp::kEq, .params = {"day"}}};
    spec.columns = {"id", "product", "day", "score"};
    spec.order_by = {{.column = "product"}, {.column = "day"}};
    spec.max_limit = 5000;
    specs.push_back(spec);
  }
  {
    // Every row in the storage order itself (NULL tenants and days last in both), and orders
    // that are not it.
    EndpointSpec spec{.name = "listing", .dataset = "d", .table = "t"};
    // An IN list of 5 values or more is a join in DuckDB, which does not keep the scan's order.
    ParamSpec qtys = Param("qtys", ParamType::kInteger);
    qtys.is_list = true;
    spec.params = {Param("sort", ParamType::kString), Param("min_qty", ParamType::kInteger), qtys};
    spec.filters = {{.column = "qty", .op = FilterOp::kGte, .params = {"min_qty"}},
                    {.column = "qty", .op = FilterOp::kIn, .params = {"qtys"}}};
    spec.order_by = {{.column = "tenant"}, {.column = "product"}, {.column = "day"}};
    spec.sort = SortParamSpec{.param = "sort", .allowed = {"tenant", "score", "id"}, .default_value = ""};
    spec.max_limit = 5000;
    specs.push_back(spec);
  }
  std::mt19937 random(20261204);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const std::vector<std::string> products = {"ä", "b", "B", "a", "", "ab", "zz"};
  int unordered = 0, ordered = 0;
  for (int request = 0; request < kRequests && !HasFailure(); ++request) {
    const EndpointSpec& spec = specs[static_cast<size_t>(pick(static_cast<int>(specs.size())))];
    auto on_sorted = Compile(spec, *sorted_);
    auto on_plain = Compile(spec, *plain_);
    ASSERT_TRUE(on_sorted && on_plain);
    QueryParams query;
    if (pick(4)) query.push_back({"tenant", "t" + std::to_string(pick(8))});  // t7: no rows
    if (pick(4)) query.push_back({"product", products[static_cast<size_t>(pick(static_cast<int>(products.size())))]});
    if (pick(3) == 0) query.push_back({"day", "2024-01-" + std::string(pick(2) ? "0" : "1") + std::to_string(1 + pick(9))});
    if (pick(3) == 0) query.push_back({"min_qty", std::to_string(pick(1000))});
    if (pick(4) == 0) query.push_back({"flag", pick(2) ? "true" : "false"});
    if (pick(4) == 0) {
      std::string list;
      for (int n = 1 + pick(8); n > 0; --n) list += (list.empty() ? "" : ",") + std::to_string(pick(1000));
      query.push_back({"qtys", list});
    }
    if (spec.sort && pick(3) == 0) {
      const auto& allowed = spec.sort->allowed;
      query.push_back({"sort", (pick(2) ? "-" : "") + allowed[static_cast<size_t>(pick(static_cast<int>(allowed.size())))]});
    }
    query.push_back({"limit", std::to_string(1 + pick(pick(2) ? 50 : 5000))});
    if (pick(2)) query.push_back({"offset", std::to_string(pick(pick(2) ? 20 : 3000))});
    std::erase_if(query, [&](const auto& item) {
      return on_sorted->ParamIndex(item.first) < 0 && item.first != "limit" && item.first != "offset";
    });
    auto args = on_sorted->ParseRequest(query, "");
    ASSERT_TRUE(args.ok()) << args.status().ToString();
    std::string context = spec.name;
    for (const auto& [key, value] : query) context += " " + key + "=" + value;
    if (on_sorted->tenant_scoped()) {
      const std::string tenant = "t" + std::to_string(pick(8));
      on_sorted->SetTenant(*args, tenant);
      context += " as tenant " + tenant;
    }
    const QueryPlan fast = on_sorted->Plan(*args);
    const QueryPlan reference = on_plain->Plan(*args);
    ASSERT_NE(reference.sql.find("ORDER BY"), std::string::npos) << reference.sql;
    (fast.sql.find("ORDER BY") == std::string::npos ? unordered : ordered)++;
    const std::string expected = Run(*plain_, reference);
    EXPECT_EQ(Run(*sorted_, fast), expected) << context << "\n" << fast.sql;
    // The sorted snapshot with its ORDER BY agrees too (the data is the same).
    if (fast.sql.find("ORDER BY") == std::string::npos) {
      EXPECT_EQ(Run(*sorted_, reference), expected) << context;
    }
  }
  std::printf("requests answered in storage order: %d, with ORDER BY: %d\n", unordered, ordered);
  EXPECT_GT(unordered, kRequests / 5);
  EXPECT_GT(ordered, kRequests / 5);
}

// An eq filter pins a column only when one value matches one stored value: an integer against a
// VARCHAR column is compared as integers ('7', '07', '+7' and ' 7' all equal 7), and those are
// stored apart, so the ORDER BY stays; a string matches one code.
TEST_F(StorageOrderTest, AnIntegerAgainstTextIsNotOneValue) {
  for (const ParamType type : {ParamType::kInteger, ParamType::kString}) {
    EndpointSpec spec{.name = "codes", .dataset = "d", .table = "c"};
    spec.params = {Param("code", type)};
    spec.filters = {{.column = "code", .op = FilterOp::kEq, .params = {"code"}}};
    spec.order_by = {{.column = "seq"}};
    spec.max_limit = 5000;
    auto on_sorted = Compile(spec, *sorted_);
    auto on_plain = Compile(spec, *plain_);
    ASSERT_TRUE(on_sorted && on_plain);
    for (const char* limit : {"5000", "7"}) {
      auto args = on_sorted->ParseRequest({{"code", "7"}, {"limit", limit}, {"offset", "3"}}, "");
      ASSERT_TRUE(args.ok()) << args.status().ToString();
      const QueryPlan fast = on_sorted->Plan(*args);
      EXPECT_EQ(fast.sql.find("ORDER BY") == std::string::npos, type == ParamType::kString) << fast.sql;
      const std::string expected = Run(*plain_, on_plain->Plan(*args));
      EXPECT_EQ(Run(*sorted_, fast), expected) << (type == ParamType::kString ? "string" : "integer") << " limit " << limit;
      EXPECT_FALSE(expected.empty());
    }
  }
}

// An IN list on a column of the storage order does not keep the scan's order in DuckDB (5 values
// or more: measured with the C API, 1 to 7 rows out of order in 500k): such a request keeps its
// ORDER BY.
TEST_F(StorageOrderTest, AnInListKeepsItsOrderBy) {
  EndpointSpec spec{.name = "by_products", .dataset = "d", .table = "e"};
  ParamSpec products = Param("products", ParamType::kString);
  products.is_list = true;
  spec.params = {products, Param("tenant", ParamType::kString)};
  spec.filters = {{.column = "h", .op = FilterOp::kIn, .params = {"products"}},
                  {.column = "g", .op = FilterOp::kEq, .params = {"tenant"}}};
  spec.order_by = {{.column = "g"}, {.column = "h"}, {.column = "d"}};
  spec.max_limit = 200000;
  auto on_sorted = Compile(spec, *sorted_);
  auto on_plain = Compile(spec, *plain_);
  ASSERT_TRUE(on_sorted && on_plain);
  for (const char* tenant : {"", "t3"}) {
    // ("": no list, so the scan's order, skipping the sort, at this size too.)
    for (const char* list : {"", "p01", "p01,p02,p03,p04", "p01,p02,p03,p04,p05", "p00,p02,p04,p06,p08,p10"}) {
      QueryParams query = {{"limit", "200000"}, {"offset", "5"}};
      if (*list) query.push_back({"products", list});
      if (*tenant) query.push_back({"tenant", tenant});
      auto args = on_sorted->ParseRequest(query, "");
      ASSERT_TRUE(args.ok()) << args.status().ToString();
      const std::string expected = Run(*plain_, on_plain->Plan(*args));
      EXPECT_FALSE(expected.empty());
      const QueryPlan plan = on_sorted->Plan(*args);
      EXPECT_EQ(plan.sql.find("ORDER BY") == std::string::npos, !*list) << plan.sql;
      EXPECT_TRUE(Run(*sorted_, plan) == expected) << list << " tenant " << tenant;
    }
  }
}

// Which requests may skip the ORDER BY, case by case.
TEST_F(StorageOrderTest, OnlyTheStorageOrderWithItsPinnedColumnsLeftOutSkipsTheSort) {
  EndpointSpec spec{.name = "lookup", .dataset = "d", .table = "t"};
  ParamSpec qtys = Param("qtys", ParamType::kInteger);
  qtys.is_list = true;
  spec.params = {Param("tenant", ParamType::kString), Param("product", ParamType::kString), Param("sort", ParamType::kString),
                 Param("score", ParamType::kNumber), qtys};
  spec.filters = {{.column = "tenant", .op = FilterOp::kEq, .params = {"tenant"}},
                  {.column = "product", .op = FilterOp::kEq, .params = {"product"}},
                  {.column = "score", .op = FilterOp::kEq, .params = {"score"}},
                  {.column = "qty", .op = FilterOp::kIn, .params = {"qtys"}}};
  spec.order_by = {{.column = "day"}};
  spec.sort = SortParamSpec{.param = "sort", .allowed = {"day", "id", "product"}, .default_value = ""};
  auto endpoint = Compile(spec, *sorted_);
  ASSERT_NE(endpoint, nullptr);
  auto skips = [&](QueryParams query) {
    auto args = endpoint->ParseRequest(query, "");
    EXPECT_TRUE(args.ok()) << args.status().ToString();
    return endpoint->Plan(*args).sql.find("ORDER BY") == std::string::npos;
  };
  EXPECT_TRUE(skips({{"tenant", "t1"}, {"product", "a"}}));                    // day, id: the rest of the storage order
  EXPECT_TRUE(skips({{"tenant", "t1"}, {"product", "a"}, {"sort", "day"}}));   // day twice
  EXPECT_TRUE(skips({{"tenant", "t1"}, {"product", "a"}, {"sort", "product"}}));  // a pinned column orders nothing
  EXPECT_FALSE(skips({{"tenant", "t1"}, {"product", "a"}, {"sort", "-day"}}));
  EXPECT_FALSE(skips({{"tenant", "t1"}, {"product", "a"}, {"sort", "id"}}));
  EXPECT_FALSE(skips({{"tenant", "t1"}}));  // products not pinned: stored by product before day
  EXPECT_FALSE(skips({}));
  // A DOUBLE eq does not pin (-0.0 = 0.0); it is not in the storage order here anyway, and the
  // other two still do.
  EXPECT_TRUE(skips({{"tenant", "t1"}, {"product", "a"}, {"score", "0.5"}}));
  EXPECT_FALSE(skips({{"tenant", "t1"}, {"product", "a"}, {"qtys", "1"}}));  // any IN list keeps the ORDER BY
  // Aggregates are not rows in storage order.
  EndpointSpec grouped{.name = "grouped", .dataset = "d", .table = "t"};
  grouped.group_by = {"tenant"};
  grouped.select = {{.column = "tenant"}, {.aggregate = Aggregate::kCount, .as = "n"}};
  grouped.order_by = {{.column = "tenant"}};
  auto by_tenant = Compile(grouped, *sorted_);
  ASSERT_NE(by_tenant, nullptr);
  auto args = by_tenant->ParseRequest({}, "");
  ASSERT_TRUE(args.ok());
  EXPECT_NE(by_tenant->Plan(*args).sql.find("ORDER BY"), std::string::npos);
}

}  // namespace
}  // namespace dram::api
