#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/type_info.h"

namespace dram::engine {

namespace internal {
struct ResultHandle;
}

// The materialized result of one query. Move-only; owns the DuckDB result. Read by one thread
// at a time (the one encoding it).
class QueryResult {
 public:
  explicit QueryResult(std::unique_ptr<internal::ResultHandle> handle);
  ~QueryResult();
  QueryResult(QueryResult&&) noexcept;
  QueryResult& operator=(QueryResult&&) noexcept;

  size_t column_count() const;
  const std::string& column_name(size_t index) const;
  std::vector<ColumnInfo> Columns() const;
  // Rows changed by an INSERT/UPDATE/DELETE; 0 for queries.
  int64_t rows_changed() const;

  internal::ResultHandle& handle() { return *handle_; }

 private:
  std::unique_ptr<internal::ResultHandle> handle_;
  std::vector<std::string> names_;
};

}  // namespace dram::engine
