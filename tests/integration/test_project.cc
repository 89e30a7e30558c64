#include "integration/test_project.h"

#include <cstdio>
#include <filesystem>

namespace dram::testing {

std::string RegionOf(int row) {
  static const char* kRegions[] = {"north", "south", "east", "west"};
  return kRegions[row % 4];
}
int QtyOf(int row) { return 1 + (row * 7) % 10; }
int RevenueOf(int row, int revenue_bump) { return (row * 37) % 1000 + revenue_bump; }

std::string SalesCsv(int rows, int revenue_bump) {
  std::string csv = "id,region,day,qty,revenue,note\n";
  char line[160];
  for (int row = 0; row < rows; ++row) {
    std::snprintf(line, sizeof(line), "%d,%s,2024-%02d-%02d,%d,%d,\"note, %d\"\n", row, RegionOf(row).c_str(),
                  1 + row % 12, 1 + row % 28, QtyOf(row), RevenueOf(row, revenue_bump), row);
    csv += line;
  }
  return csv;
}

void WriteTestProject(const TempDir& dir) {
  dir.Write("dram.yml", R"(server:
  io_threads: 2
  gzip_min_bytes: 512
  cors: {allow_origins: ["https://dashboard.example"]}
engine:
  threads: 1
  pool_size: 2
cache:
  max_bytes: 16MB
)");
  dir.Write("data/sales/sales.csv", SalesCsv(2400, 0));
  dir.Write("datasets/shop.yml", R"(name: shop
tables:
  sales:
    path: data/sales
    sort_by: [region, id]
)");
  dir.Write("gen.sql", R"(COPY (
  SELECT i AS id,
         {'name': 'item ' || i, 'tags': ['a', 'b'][1:(i % 3)]} AS info,
         MAP {'x': i, 'y': i * 2} AS scores,
         [i, i + 1]::INTEGER[2] AS pair,
         (i * 1.5)::DECIMAL(10,2) AS price
  FROM range(10) t(i)) TO ')" + dir.path() + R"(/data/nested/nested.parquet' (FORMAT parquet);
)");
  std::filesystem::create_directories(dir.path() + "/data/nested");
  CommandResult generated = RunCommand({DramSqlBinary(), dir.path() + "/gen.sql"});
  if (generated.exit_code != 0) std::fprintf(stderr, "generating test data failed: %s\n", generated.output.c_str());
  dir.Write("datasets/nested.yml", "name: nested\ntables:\n  items: {path: data/nested/nested.parquet}\n");
  dir.Write("endpoints/sales.yml", R"(name: sales
version: 1
dataset: shop
description: Sales rows.
params:
  region: {type: enum, values: [north, south, east, west], aliases: {n: north}}
  min_qty: {type: integer, min: 1, max: 10}
  from: {type: date}
  to: {type: date}
  ids: {type: list<integer>, max_items: 20}
  sort: {type: string}
filters:
  - {column: region, op: eq, param: region}
  - {column: qty, op: gte, param: min_qty}
  - {column: day, op: between, param: [from, to]}
  - {column: id, op: in, param: ids}
columns: [id, region, day, qty, revenue, note]
sort: {param: sort, allowed: [id, revenue], default: id}
limit: {default: 100, max: 1000}
total: true
)");
  dir.Write("endpoints/sales_by_region.yml", R"(name: sales_by_region
version: 1
dataset: shop
params:
  min_qty: {type: integer}
filters:
  - {column: qty, op: gte, param: min_qty}
group_by: [region]
select:
  - region
  - {agg: sum, column: revenue, as: revenue}
  - {agg: count, as: orders}
  - {agg: max, column: qty, as: max_qty}
order_by: [region]
)");
  dir.Write("endpoints/sales_v2.yml", R"(name: sales
version: 2
dataset: shop
params:
  region: {type: string, required: true}
filters:
  - {column: region, op: eq, param: region}
columns: [id, revenue]
order_by: [id]
cache: false
formats: [json, ndjson]
)");
  dir.Write("endpoints/note_search.yml", R"(name: note_search
version: 1
dataset: shop
params:
  note: {type: string, required: true}
sql: SELECT id, note FROM sales WHERE note = {{note}} ORDER BY id
)");
  dir.Write("endpoints/items.yml", R"(name: items
version: 1
dataset: nested
order_by: [id]
)");
}

}  // namespace dram::testing
