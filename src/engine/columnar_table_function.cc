#include "engine/columnar_table_function.h"

#include <duckdb.h>


#include "common/sql_text.h"
#include "engine/columnar_format.h"
#include "engine/columnar_scan.h"
#include "engine/connection_state.h"
#include "engine/duckdb_types.h"

namespace dram::engine {

namespace {

using internal::ColumnarHeader;
using internal::OwnedLogicalType;

struct BindData {
  ColumnarTableFunction* function;
  uint64_t connection_id;
  std::string header_bytes;  // what every payload of every run must start with
  ColumnarHeader header;
};

// The type names the call gives (its one parameter, a list of VARCHAR).
Result<std::vector<std::string>> TypeNamesOf(duckdb_bind_info info) {
  duckdb_value list = duckdb_bind_get_parameter(info, 0);
  std::vector<std::string> names;
  bool null = list == nullptr || duckdb_is_null_value(list);
  const idx_t count = null ? 0 : duckdb_get_list_size(list);
  for (idx_t i = 0; i < count && !null; ++i) {
    duckdb_value child = duckdb_get_list_child(list, i);
    // NULL first: reading a NULL as text would throw through this callback, past the releases.
    null = child == nullptr || duckdb_is_null_value(child);
    if (!null) {
      char* text = duckdb_get_varchar(child);
      names.emplace_back(text ? text : "");
      duckdb_free(text);
    }
    duckdb_destroy_value(&child);
  }
  duckdb_destroy_value(&list);
  if (null) return InvalidArgument("the columnar function takes a list of the columns' type names, none of them NULL");
  return names;
}

Status CheckHeaders(const std::vector<std::string_view>& payloads, std::string_view header_bytes) {
  for (std::string_view payload : payloads) {
    if (payload.substr(0, header_bytes.size()) != header_bytes) {
      return InvalidArgument("columnar payloads read together must have the same columns (names and types) as the statement was bound with");
    }
  }
  return Status::Ok();
}

// Everything Bind decides, as a Status so that each failure is one line.
Status BindColumns(duckdb_bind_info info, BindData& bind) {
  const auto payloads = bind.function->PayloadsOf(bind.connection_id);
  if (payloads.empty()) return FailedPrecondition("no columnar payloads were handed to this connection before the statement was bound");
  ASSIGN_OR_RETURN(bind.header, internal::ParseColumnarHeader(payloads.front()));
  bind.header_bytes = std::string(payloads.front().substr(0, bind.header.size));
  RETURN_IF_ERROR(CheckHeaders(payloads, bind.header_bytes));
  ASSIGN_OR_RETURN(const std::vector<std::string> names, TypeNamesOf(info));
  if (names.size() != bind.header.columns.size()) {
    return InvalidArgument("the statement names " + std::to_string(names.size()) + " column types; the payloads have " +
                           std::to_string(bind.header.columns.size()) + " columns");
  }
  for (size_t col = 0; col < names.size(); ++col) {
    ASSIGN_OR_RETURN(const ColumnInfo described, internal::DescribeColumn(bind.header.columns[col]));
    if (described.type.sql_name != names[col]) {
      return InvalidArgument("the statement names column " + std::to_string(col) + " '" + described.name + "' " + names[col] +
                             "; the payloads carry " + described.type.sql_name);
    }
  }
  for (const auto& column : bind.header.columns) {
    ASSIGN_OR_RETURN(duckdb_logical_type created, internal::CreateColumnType(column));
    OwnedLogicalType type(created);
    duckdb_bind_add_result_column(info, column.name.c_str(), type.type);
  }
  return Status::Ok();
}

void Bind(duckdb_bind_info info) {
  auto bind = std::make_unique<BindData>();
  bind->function = static_cast<ColumnarTableFunction*>(duckdb_bind_get_extra_info(info));
  duckdb_client_context context = nullptr;
  duckdb_table_function_get_client_context(info, &context);
  bind->connection_id = duckdb_client_context_get_connection_id(context);
  duckdb_destroy_client_context(&context);
  if (const Status status = BindColumns(info, *bind); !status.ok()) {
    duckdb_bind_set_error(info, status.message().c_str());
    return;
  }
  duckdb_bind_set_bind_data(info, bind.release(), [](void* data) { delete static_cast<BindData*>(data); });
}

// Per execution, so that a prepared statement run again reads what its connection holds now.
void Init(duckdb_init_info info) {
  auto* bind = static_cast<BindData*>(duckdb_init_get_bind_data(info));
  std::vector<std::string_view> payloads = bind->function->PayloadsOf(bind->connection_id);
  // A prepared statement run again outside a lease would otherwise read no rows, silently.
  if (payloads.empty()) {
    duckdb_init_set_error(info, "no columnar payloads were handed to this connection for this run");
    return;
  }
  if (const Status status = CheckHeaders(payloads, bind->header_bytes); !status.ok()) {
    duckdb_init_set_error(info, status.message().c_str());
    return;
  }
  auto scan = std::make_unique<internal::ColumnarScan>(bind->header, std::move(payloads));
  duckdb_init_set_init_data(info, scan.release(), [](void* data) { delete static_cast<internal::ColumnarScan*>(data); });
  duckdb_init_set_max_threads(info, 1);  // one cursor through the payloads
}

void Scan(duckdb_function_info info, duckdb_data_chunk output) {
  auto* scan = static_cast<internal::ColumnarScan*>(duckdb_function_get_init_data(info));
  if (auto filled = scan->Fill(output); !filled.ok()) duckdb_function_set_error(info, filled.status().message().c_str());
}

}  // namespace

Result<std::unique_ptr<ColumnarTableFunction>> ColumnarTableFunction::Register(Database& database, const std::string& name) {
  std::unique_ptr<ColumnarTableFunction> self(new ColumnarTableFunction());
  ASSIGN_OR_RETURN(auto connection, database.Connect());
  duckdb_table_function function = duckdb_create_table_function();
  duckdb_table_function_set_name(function, name.c_str());
  OwnedLogicalType varchar(duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
  OwnedLogicalType names(duckdb_create_list_type(varchar.type));
  duckdb_table_function_add_parameter(function, names.type);  // the C API has no varargs for table functions
  duckdb_table_function_set_extra_info(function, self.get(), nullptr);
  duckdb_table_function_set_bind(function, Bind);
  duckdb_table_function_set_init(function, Init);
  duckdb_table_function_set_function(function, Scan);
  const duckdb_state registered = duckdb_register_table_function(connection->state_->connection, function);
  duckdb_destroy_table_function(&function);
  if (registered == DuckDBError) return Internal("cannot register the table function", name);
  return self;
}

Result<std::vector<ColumnInfo>> ColumnarTableFunction::Columns(std::string_view payload) {
  ASSIGN_OR_RETURN(const ColumnarHeader header, internal::ParseColumnarHeader(payload));
  std::vector<ColumnInfo> columns;
  for (const auto& column : header.columns) {
    ASSIGN_OR_RETURN(ColumnInfo info, internal::DescribeColumn(column));
    columns.push_back(std::move(info));
  }
  return columns;
}

std::string ColumnarTableFunction::Call(std::string_view name, const std::vector<ColumnInfo>& columns) {
  std::string call = std::string(name) + "([";
  for (size_t i = 0; i < columns.size(); ++i) call += (i ? ", " : "") + common::QuoteLiteral(columns[i].type.sql_name);
  // The names too, as the relation's column aliases: a statement is bound to its payloads' whole
  // header, names included, and reused by its text, so two column sets of the same types must
  // not share one text ("SELECT * FROM partials" over two analyses' rows).
  call += "]) AS columnar(";
  for (size_t i = 0; i < columns.size(); ++i) call += (i ? ", " : "") + common::QuoteIdentifier(columns[i].name);
  return call + ")";
}

ColumnarTableFunction::Lease ColumnarTableFunction::Provide(Connection& connection, std::vector<std::string_view> payloads) {
  const uint64_t id = connection.id();
  common::MutexLock lock(mu_);
  payloads_[id] = std::move(payloads);
  return Lease(*this, id);
}

ColumnarTableFunction::Lease::~Lease() {
  if (!function_) return;
  common::MutexLock lock(function_->mu_);
  function_->payloads_.erase(connection_id_);
}

std::vector<std::string_view> ColumnarTableFunction::PayloadsOf(uint64_t connection_id) {
  common::MutexLock lock(mu_);
  auto found = payloads_.find(connection_id);
  return found == payloads_.end() ? std::vector<std::string_view>{} : found->second;
}

}  // namespace dram::engine
