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
#include "engine/type_info.h"

namespace dram::engine {

// A table function over payloads in dram's columnar wire format (EncodeColumnar) held in this
// process, so that partial results which arrived as binary are queried with their own types and
// no text parsing: `name(['T0', 'T1', …])` yields the payloads' columns, typed as their header
// says, one row per row of the payloads handed to the calling connection with Provide, in order.
//
// The list names every column's type as Columns() spells it. The statement is bound once (a
// prepared statement is kept and run again), from the payloads provided at that time, so its text
// must say which columns it yields (Call() names their types and, as aliases, their names):
// binding fails when the type names do not match the payloads' header, and so does a later run
// whose payloads' header (names and types) is not the one bound. All payloads of one run must have
// identical headers. Values are checked as they are read (bounds, UTF-8, ENUM indexes, DECIMAL,
// TIME and TIMESTAMP_S/_MS ranges): a corrupt or truncated payload fails the query and is never
// read past.
//
// A connection sees only the payloads it was handed (keyed by DuckDB's connection id), and none
// outside Provide's lease. The function object must outlive the database it is registered in.
// Thread-safe.
class ColumnarTableFunction {
 public:
  // Registers `name` in `database`'s catalog (before Seal: registering is a catalog change).
  static Result<std::unique_ptr<ColumnarTableFunction>> Register(Database& database, const std::string& name);
  ColumnarTableFunction(const ColumnarTableFunction&) = delete;
  ColumnarTableFunction& operator=(const ColumnarTableFunction&) = delete;

  // A payload's columns as QueryResult::Columns describes them, except that an ENUM's sql_name
  // lists its values (ENUM('a', 'b''c')): the type names a call must give. Errors: DataLoss for a
  // truncated or malformed header, Unimplemented for another version of the format.
  static Result<std::vector<ColumnInfo>> Columns(std::string_view payload);

  // `name(['T0', 'T1', …]) AS columnar("c0", "c1", …)`: the call reading payloads of `columns`
  // (as Columns gives them), naming their types and their names.
  static std::string Call(std::string_view name, const std::vector<ColumnInfo>& columns);

  // While the lease lives, `connection`'s queries read `payloads` (borrowed: they must outlive it).
  class Lease {
   public:
    Lease(ColumnarTableFunction& function, uint64_t connection_id) : function_(&function), connection_id_(connection_id) {}
    Lease(Lease&& other) noexcept : function_(other.function_), connection_id_(other.connection_id_) { other.function_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease();

   private:
    ColumnarTableFunction* function_;
    uint64_t connection_id_;
  };
  [[nodiscard]] Lease Provide(Connection& connection, std::vector<std::string_view> payloads);

  // The payloads handed to a connection (empty when none): for the function's callbacks.
  std::vector<std::string_view> PayloadsOf(uint64_t connection_id);

 private:
  ColumnarTableFunction() = default;
  common::Mutex mu_;
  std::unordered_map<uint64_t, std::vector<std::string_view>> payloads_ GUARDED_BY(mu_);
};

}  // namespace dram::engine
