#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "dram/status.h"
#include "engine/connection.h"
#include "engine/database.h"

namespace dram::engine {

// The bytes of a CSV text's header line with its CRLF (outside quotes: a quoted name may hold a
// line break); the whole text when it has no line end.
size_t CsvHeaderLength(std::string_view csv);

// A table function over CSV text held in this process, so that rows which arrived as text (the
// partial results members send each other) are queried without a file or a CSV reader's setup:
// `name(N)` yields N VARCHAR columns c0 … c{N-1}, one row per record of the texts handed to the
// calling connection with Provide (RFC 4180 as Format::kCsvExact writes it: CRLF line ends, each
// text's header line skipped, "" an empty string, an empty unquoted field NULL). A query casts
// the columns to their types (VARCHAR → any scalar reads the text it was written as).
//
// A connection sees only the texts it was handed (keyed by DuckDB's connection id, which the
// function learns when a statement is bound), and none outside Provide's lease. The function
// object must outlive the database it is registered in. Thread-safe.
class CsvTableFunction {
 public:
  // Registers `name` in `database`'s catalog (before Seal: registering is a catalog change).
  static Result<std::unique_ptr<CsvTableFunction>> Register(Database& database, const std::string& name);
  CsvTableFunction(const CsvTableFunction&) = delete;
  CsvTableFunction& operator=(const CsvTableFunction&) = delete;

  // While the lease lives, `connection`'s queries read `texts` (borrowed: they must outlive it).
  class Lease {
   public:
    Lease(CsvTableFunction& function, uint64_t connection_id) : function_(&function), connection_id_(connection_id) {}
    Lease(Lease&& other) noexcept : function_(other.function_), connection_id_(other.connection_id_) { other.function_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease();

   private:
    CsvTableFunction* function_;
    uint64_t connection_id_;
  };
  [[nodiscard]] Lease Provide(Connection& connection, std::vector<std::string_view> texts);

  // The texts handed to a connection (empty when none): for the function's callbacks.
  std::vector<std::string_view> TextsOf(uint64_t connection_id);

 private:
  CsvTableFunction() = default;
  common::Mutex mu_;
  std::unordered_map<uint64_t, std::vector<std::string_view>> texts_ GUARDED_BY(mu_);
};

}  // namespace dram::engine
