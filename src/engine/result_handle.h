#pragma once

#include <duckdb.h>

namespace dram::engine::internal {

// Owns one duckdb_result.
struct ResultHandle {
  duckdb_result result{};
  ResultHandle() = default;
  ~ResultHandle() { duckdb_destroy_result(&result); }
  ResultHandle(const ResultHandle&) = delete;
  ResultHandle& operator=(const ResultHandle&) = delete;
};

}  // namespace dram::engine::internal
