#include "engine/query_result.h"

#include "engine/duckdb_types.h"
#include "engine/result_handle.h"

namespace dram::engine {

QueryResult::QueryResult(std::unique_ptr<internal::ResultHandle> handle) : handle_(std::move(handle)) {
  idx_t count = duckdb_column_count(&handle_->result);
  names_.reserve(count);
  for (idx_t i = 0; i < count; ++i) {
    const char* name = duckdb_column_name(&handle_->result, i);
    names_.emplace_back(name ? name : "");
  }
}

QueryResult::~QueryResult() = default;
QueryResult::QueryResult(QueryResult&&) noexcept = default;
QueryResult& QueryResult::operator=(QueryResult&&) noexcept = default;

size_t QueryResult::column_count() const { return names_.size(); }
const std::string& QueryResult::column_name(size_t index) const { return names_[index]; }

int64_t QueryResult::rows_changed() const { return static_cast<int64_t>(duckdb_rows_changed(&handle_->result)); }

std::vector<ColumnInfo> QueryResult::Columns() const {
  std::vector<ColumnInfo> columns;
  for (size_t i = 0; i < names_.size(); ++i) {
    duckdb_logical_type type = duckdb_column_logical_type(&handle_->result, i);
    columns.push_back({names_[i], internal::DescribeType(type)});
    duckdb_destroy_logical_type(&type);
  }
  return columns;
}

}  // namespace dram::engine
