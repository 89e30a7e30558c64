#include "cli/data_inspector.h"

#include <algorithm>
#include <string>

#include "common/sql_text.h"
#include "database/source_files.h"
#include "engine/connection.h"
#include "engine/database.h"
#include "engine/result_encoder.h"

namespace dram::cli {

namespace {

using common::QuoteIdentifier;
using common::QuoteLiteral;
using database::FileFormat;
using database::TableSources;

// A remote table is profiled from at most this many of its files and bytes: enough for names,
// types and a fair sample, without downloading a whole bucket.
constexpr size_t kMaxRemoteFiles = 8;
constexpr int64_t kMaxRemoteBytes = int64_t{512} << 20;
// Distinct counts are estimated on at most this many rows per table.
constexpr int64_t kSampleRows = 200'000;

bool IsNested(const engine::TypeInfo& type) {
  using engine::TypeKind;
  return type.kind == TypeKind::kList || type.kind == TypeKind::kArray || type.kind == TypeKind::kStruct ||
         type.kind == TypeKind::kMap || type.kind == TypeKind::kUnion;
}

Result<int64_t> QueryCount(engine::Connection& connection, const std::string& sql) {
  ASSIGN_OR_RETURN(auto result, connection.Query(sql));
  ASSIGN_OR_RETURN(std::vector<std::string> text, engine::ColumnText(result, 0));
  if (text.empty() || text[0].empty()) return int64_t{0};
  return std::stoll(text[0]);
}

// Fills rows, columns and distinct counts of the view or table `name`.
Status Profile(engine::Connection& connection, const std::string& relation, TableProfile& table) {
  ASSIGN_OR_RETURN(auto described, connection.Describe("SELECT * FROM " + relation));
  ASSIGN_OR_RETURN(table.rows, QueryCount(connection, "SELECT count(*) FROM " + relation));
  const std::string sample = QuoteIdentifier("sample_" + table.name);
  RETURN_IF_ERROR(connection.Execute("CREATE OR REPLACE TEMP TABLE " + sample + " AS SELECT * FROM " + relation +
                                     (table.rows > kSampleRows ? " USING SAMPLE reservoir(" + std::to_string(kSampleRows) + " ROWS) REPEATABLE (17)" : "")));
  ASSIGN_OR_RETURN(table.sample_rows, QueryCount(connection, "SELECT count(*) FROM " + sample));
  std::string sql;
  for (size_t i = 0; i < described.size(); ++i) {
    ColumnProfile column{described[i].name, described[i].type};
    table.columns.push_back(column);
    if (IsNested(column.type)) continue;
    if (!sql.empty()) sql += " UNION ALL ";
    sql += "SELECT " + std::to_string(i) + " AS i, approx_count_distinct(" + QuoteIdentifier(column.name) + ") AS n FROM " + sample;
  }
  if (!sql.empty()) {
    ASSIGN_OR_RETURN(auto ordinals, connection.Query("SELECT i FROM (" + sql + ") ORDER BY i"));
    ASSIGN_OR_RETURN(std::vector<std::string> index, engine::ColumnText(ordinals, 0));
    ASSIGN_OR_RETURN(auto counts, connection.Query("SELECT n FROM (" + sql + ") ORDER BY i"));
    ASSIGN_OR_RETURN(std::vector<std::string> values, engine::ColumnText(counts, 0));
    for (size_t row = 0; row < index.size() && row < values.size(); ++row) {
      table.columns.at(std::stoul(index[row])).distinct = std::stoll(values[row]);
    }
  }
  return connection.Execute("DROP TABLE " + sample);
}

// Keeps the first files of every remote table, up to the bounds above.
void BoundRemote(std::vector<TableSources>& tables) {
  for (auto& table : tables) {
    if (!table.store || table.format == FileFormat::kDuckdb) continue;
    int64_t bytes = 0;
    size_t keep = 0;
    while (keep < table.files.size() && keep < kMaxRemoteFiles && (keep == 0 || bytes + table.files[keep].size <= kMaxRemoteBytes)) {
      bytes += table.files[keep].size;
      ++keep;
    }
    table.files.resize(keep);
  }
}

}  // namespace

Result<SourceProfile> InspectSource(const std::string& uri, const std::string& scratch_dir) {
  database::DatasetSpec spec;
  spec.name = "init";
  spec.source = uri;
  ASSIGN_OR_RETURN(std::vector<TableSources> tables, database::ListSources(spec, scratch_dir));
  std::vector<size_t> listed;
  for (const auto& table : tables) listed.push_back(table.files.size());
  BoundRemote(tables);
  RETURN_IF_ERROR(database::FetchRemote(tables, scratch_dir, nullptr));

  ASSIGN_OR_RETURN(auto database, engine::Database::Open("", {.read_only = false, .threads = 2}));
  ASSIGN_OR_RETURN(auto connection, database->Connect());
  SourceProfile profile;
  profile.uri = uri;
  if (tables.size() == 1 && tables.front().format == FileFormat::kDuckdb) {
    profile.duckdb_file = true;
    // The tables a server serves from the file (views are not among them).
    RETURN_IF_ERROR(connection->Execute("ATTACH " + QuoteLiteral(tables.front().files.front().local_path) + " AS src (READ_ONLY)"));
    ASSIGN_OR_RETURN(auto names_result, connection->Query(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' AND schema_name = 'main' ORDER BY 1"));
    ASSIGN_OR_RETURN(std::vector<std::string> names, engine::ColumnText(names_result, 0));
    for (const auto& name : names) {
      TableProfile table;
      table.name = name;
      table.format = FileFormat::kDuckdb;
      table.files = table.files_inspected = 1;
      RETURN_IF_ERROR(Profile(*connection, "src.main." + QuoteIdentifier(name), table));
      profile.tables.push_back(std::move(table));
    }
    return profile;
  }
  for (size_t i = 0; i < tables.size(); ++i) {
    const TableSources& source = tables[i];
    TableProfile table;
    table.name = source.spec.name;
    table.format = source.format;
    table.files = listed[i];
    table.files_inspected = source.files.size();
    std::vector<std::string> paths;
    for (const auto& file : source.files) paths.push_back(file.local_path);
    RETURN_IF_ERROR(connection->Execute("CREATE VIEW " + QuoteIdentifier(table.name) + " AS SELECT * FROM " +
                                        database::ReadExpression(paths, source.format)));
    Status profiled = Profile(*connection, QuoteIdentifier(table.name), table);
    if (!profiled.ok()) return Status(profiled.code(), "table " + table.name + ": " + profiled.message());
    profile.tables.push_back(std::move(table));
  }
  return profile;
}

}  // namespace dram::cli
