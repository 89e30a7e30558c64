#include "cli/project_writer.h"

#include <gtest/gtest.h>

namespace dram::cli {
namespace {

using engine::TypeKind;

ColumnProfile Column(const std::string& name, TypeKind kind, int64_t distinct) {
  ColumnProfile column;
  column.name = name;
  column.type.kind = kind;
  column.distinct = distinct;
  return column;
}

// Shaped like the demo's events: 200,000 sampled rows.
TableProfile Events() {
  TableProfile table;
  table.name = "events";
  table.format = database::FileFormat::kParquet;
  table.rows = 1'000'000;
  table.sample_rows = 200'000;
  table.files = table.files_inspected = 4;
  table.columns = {Column("event_id", TypeKind::kBigInteger, 196'000), Column("tenant_id", TypeKind::kVarchar, 20),
                   Column("day", TypeKind::kDate, 366),          Column("product", TypeKind::kVarchar, 12),
                   Column("region", TypeKind::kVarchar, 6),       Column("units", TypeKind::kInteger, 21),
                   Column("revenue", TypeKind::kDecimal, 90'000), Column("session_seconds", TypeKind::kInteger, 4'000),
                   Column("updated_at", TypeKind::kTimestamp, 199'000)};
  return table;
}

TEST(ProjectWriterTest, PlansSortByFromTheMostSelectiveLowCardinalityColumns) {
  struct Case {
    std::string tenant;
    std::vector<std::string> keys, sort_by;
  } cases[] = {
      {"", {"tenant_id", "product"}, {"tenant_id", "product", "day"}},
      {"tenant_id", {"product", "region"}, {"tenant_id", "product", "region", "day"}},
      {"no_such_column", {"tenant_id", "product"}, {"tenant_id", "product", "day"}},
  };
  for (const auto& c : cases) {
    TablePlan plan = PlanTable(Events(), c.tenant);
    EXPECT_EQ(plan.keys, c.keys) << c.tenant;
    EXPECT_EQ(plan.sort_by, c.sort_by) << c.tenant;
    EXPECT_EQ(plan.id, "event_id");
    EXPECT_EQ(plan.date, "day");
    EXPECT_EQ(plan.measures, (std::vector<std::string>{"revenue", "units"}));
  }
}

TEST(ProjectWriterTest, NumbersWithManyValuesAndReservedNamesAreNotKeys) {
  TableProfile table;
  table.name = "t";
  table.sample_rows = 100'000;
  table.columns = {Column("limit", TypeKind::kVarchar, 5), Column("from", TypeKind::kVarchar, 5),
                   Column("score", TypeKind::kInteger, 900), Column("flag", TypeKind::kBoolean, 2),
                   Column("when", TypeKind::kTimestamp, 50'000)};
  TablePlan plan = PlanTable(table, "");
  EXPECT_EQ(plan.keys, std::vector<std::string>{"flag"});
  EXPECT_EQ(plan.date, "when");  // a TIMESTAMP when there is no DATE
  EXPECT_EQ(plan.sort_by, (std::vector<std::string>{"flag", "when"}));
}

TEST(ProjectWriterTest, RendersTenantScopingAuthAndQuotedNames) {
  SourceProfile profile;
  profile.uri = "s3://exports/sales";
  TableProfile events = Events();
  events.columns.push_back(Column("order date", TypeKind::kVarchar, 3));
  events.columns.push_back(Column("yes", TypeKind::kVarchar, 150'000));
  profile.tables.push_back(events);
  auto files = RenderProject(profile, {.source = "s3://exports/sales", .tenant_column = "tenant_id"});
  ASSERT_TRUE(files.contains("dram.yml"));
  ASSERT_TRUE(files.contains("datasets/sales.yml"));
  ASSERT_TRUE(files.contains("endpoints/events.yml"));
  ASSERT_TRUE(files.contains("endpoints/events_summary.yml"));
  EXPECT_NE(files["dram.yml"].find("  mode: keys\n"), std::string::npos);
  EXPECT_NE(files["dram.yml"].find("dram keys create"), std::string::npos);
  EXPECT_NE(files["datasets/sales.yml"].find("source: \"s3://exports/sales\""), std::string::npos);
  const std::string& list = files["endpoints/events.yml"];
  EXPECT_NE(list.find("tenant_column: tenant_id\n"), std::string::npos);
  EXPECT_EQ(list.find("tenant_id: {type"), std::string::npos);  // never a param
  EXPECT_NE(list.find("\"order date\", \"yes\"]"), std::string::npos) << list;
  EXPECT_EQ(list.find("order date: {"), std::string::npos);  // not an identifier: no param
  EXPECT_NE(list.find("  - {column: day, op: between, param: [from, to]}"), std::string::npos);
  EXPECT_NE(list.find("order_by: [event_id]"), std::string::npos);
  const std::string& summary = files["endpoints/events_summary.yml"];
  EXPECT_NE(summary.find("group_by: [day]"), std::string::npos);
  EXPECT_NE(summary.find("{agg: sum, column: revenue, as: sum_revenue}"), std::string::npos);
}

TEST(ProjectWriterTest, WithoutTenantNoAuthAndADuckdbFileHasNoTables) {
  SourceProfile profile;
  profile.uri = "/data/warehouse";
  profile.duckdb_file = true;
  profile.tables.push_back(Events());
  auto files = RenderProject(profile, {.source = "/data/warehouse"});
  EXPECT_EQ(files["dram.yml"].find("\nauth:"), std::string::npos);
  EXPECT_EQ(files["datasets/warehouse.yml"].find("tables:"), std::string::npos);
  EXPECT_EQ(files["endpoints/events.yml"].find("tenant_column"), std::string::npos);
}

}  // namespace
}  // namespace dram::cli
