#pragma once

#include <duckdb.h>

#include <optional>
#include <string_view>
#include <vector>

#include "dram/status.h"
#include "engine/columnar_format.h"
#include "engine/type_info.h"

namespace dram::engine::internal {

// Reading columnar payloads (docs/columnar_format.md) into DuckDB's vectors, checked: shared by
// the table function that queries them (ColumnarTableFunction) and the merge that needs no query
// (MergePartials).

// The DuckDB type a header's column declares (to be destroyed by the caller); its storage has the
// width the format gives. Errors: DataLoss for a type DuckDB cannot create.
Result<duckdb_logical_type> CreateColumnType(const ColumnarColumn& column);

// The column as QueryResult::Columns would describe it, except that an ENUM is spelled with its
// values (ENUM('a', 'b''c'), where Columns says ENUM), so that the name identifies the type.
Result<ColumnInfo> DescribeColumn(const ColumnarColumn& column);

// The rows of payloads whose headers are all `header` (the caller checks: the bytes up to
// header.size are equal), in order, into chunks of the header's types. Each value is checked as it
// is copied (bounds, UTF-8, ENUM indexes, DECIMAL, TIME and TIMESTAMP_S/_MS ranges): DuckDB takes
// its vectors' values on trust. Borrows the header and the payloads.
class ColumnarScan {
 public:
  ColumnarScan(const ColumnarHeader& header, std::vector<std::string_view> payloads)
      : header_(header), payloads_(std::move(payloads)) {}

  // Appends rows to `output` (empty, created with the header's types) up to its capacity
  // (duckdb_vector_size()): the rows filled, 0 once every payload is read. Errors: DataLoss for a
  // truncated or corrupt payload.
  Result<size_t> Fill(duckdb_data_chunk output);

 private:
  // Moves to the next chunk with rows, across payloads; false when all are read.
  Result<bool> NextChunk();

  const ColumnarHeader& header_;
  std::vector<std::string_view> payloads_;
  size_t payload_ = 0;
  std::optional<ColumnarChunkReader> reader_;  // over payloads_[payload_]
  size_t chunk_rows_ = 0;
  size_t chunk_row_ = 0;
  std::vector<size_t> string_offsets_;  // per VARCHAR column: where its next row's bytes start
};

}  // namespace dram::engine::internal
