#pragma once

#include <string>

#include "testutil/server_process.h"

namespace dram::testing {

// Writes the integration tests' project into `dir`: a CSV dataset `shop` (table sales, 2,400 rows
// whose values follow from the row number, so tests can compute expected answers) and a Parquet
// dataset `nested` with STRUCT/LIST/MAP columns, plus endpoints over both.
void WriteTestProject(const TempDir& dir);

// The `sales` CSV with `rows` rows; `revenue_bump` is added to every revenue (refresh tests).
std::string SalesCsv(int rows, int revenue_bump);

// Expected values of the generated sales rows.
std::string RegionOf(int row);
int QtyOf(int row);
int RevenueOf(int row, int revenue_bump);

}  // namespace dram::testing
