// Lazy file pruning by Parquet statistics and Hive partitions, per column type, over a local
// store: a filtered Prepare fetches exactly the files that can hold matching rows (bytes counted
// by LazyFiles), and the rows read through its scope equal those of a fully read copy.
#include "database/lazy_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "common/sql_text.h"
#include "engine/result_encoder.h"
#include "store/local_object_store.h"

namespace dram::database {
namespace {

namespace fs = std::filesystem;
using Op = Predicate::Op;

// A table of files, each written by COPY (select) TO … (FORMAT parquet).
struct TableData {
  std::string name;
  std::vector<std::pair<std::string, std::string>> files;  // relative path, SELECT
};

struct Case {
  std::string table;
  std::vector<Predicate> predicates;
  std::vector<std::string> expected;  // relative paths of the files that must be fetched
};

const TableData kTables[] = {
    {"dates",
     {{"jan.parquet", "SELECT DATE '2024-01-01' + i::INTEGER AS v FROM range(31) t(i)"},
      {"feb.parquet", "SELECT DATE '2024-02-01' + i::INTEGER AS v FROM range(29) t(i)"},
      {"mar.parquet", "SELECT DATE '2024-03-01' + i::INTEGER AS v FROM range(31) t(i)"}}},
    // Hours meeting one microsecond apart: 10:59:59.999999 ends the first, 11:00:00 starts the next.
    {"stamps",
     {{"h10.parquet", "SELECT TIMESTAMP '2024-03-01 10:00:00' + i * INTERVAL 1 SECOND AS v FROM range(3599) t(i) "
                      "UNION ALL SELECT TIMESTAMP '2024-03-01 10:59:59.999999'"},
      {"h11.parquet", "SELECT TIMESTAMP '2024-03-01 11:00:00' + i * INTERVAL 1 SECOND AS v FROM range(3600) t(i)"},
      {"d02.parquet", "SELECT TIMESTAMP '2024-03-02 00:00:00' + i * INTERVAL 1 MINUTE AS v FROM range(1440) t(i)"}}},
    {"stamps_ms",
     {{"a.parquet", "SELECT (TIMESTAMP '2024-03-01 10:59:59' + i * INTERVAL 1 MILLISECOND)::TIMESTAMP_MS AS v FROM range(1000) t(i)"},
      {"b.parquet", "SELECT TIMESTAMP_MS '2024-03-01 11:00:00' AS v"}}},
    {"stamps_ns",
     {{"a.parquet", "SELECT TIMESTAMP_NS '2024-03-01 10:59:59.999999999' AS v UNION ALL SELECT TIMESTAMP_NS '2024-03-01 10:00:00'"},
      {"b.parquet", "SELECT TIMESTAMP_NS '2024-03-01 11:00:00.000000001' AS v"}}},
    {"zoned",
     {{"h10.parquet", "SELECT TIMESTAMPTZ '2024-03-01 10:00:00+00' + i * INTERVAL 1 SECOND AS v FROM range(3599) t(i) "
                      "UNION ALL SELECT TIMESTAMPTZ '2024-03-01 10:59:59.999999+00'"},
      {"h11.parquet", "SELECT TIMESTAMPTZ '2024-03-01 11:00:00+00' + i * INTERVAL 1 SECOND AS v FROM range(3600) t(i)"}}},
    {"decimals",
     {{"low.parquet", "SELECT (1 + i / 1000)::DECIMAL(10,3) AS v FROM range(6) t(i)"},  // 1.000 … 1.005
      {"mid.parquet", "SELECT (1.006 + i / 1000)::DECIMAL(10,3) AS v FROM range(5) t(i)"},  // 1.006 … 1.010
      {"high.parquet", "SELECT 2.000::DECIMAL(10,3) AS v"}}},
    // Wider than a double: the two files differ in the 38th digit only.
    {"wide",
     {{"a.parquet", "SELECT 12345678901234567890.123456789012345678::DECIMAL(38,18) AS v"},
      {"b.parquet", "SELECT 12345678901234567890.123456789012345679::DECIMAL(38,18) AS v"}}},
    {"flags",
     {{"false.parquet", "SELECT false AS v FROM range(10)"},
      {"true.parquet", "SELECT true AS v FROM range(10)"},
      {"both.parquet", "SELECT i % 2 = 0 AS v FROM range(10) t(i)"}}},
    {"bigints",
     {{"below.parquet", "SELECT 9223372036854775807 - 1 - i AS v FROM range(10) t(i)"},
      {"max.parquet", "SELECT 9223372036854775807 AS v"}}},
    {"ubigints",
     {{"small.parquet", "SELECT i::UBIGINT AS v FROM range(101) t(i)"},
      {"huge.parquet", "SELECT (9223372036854775808 + i)::UBIGINT AS v FROM range(10) t(i) "
                       "UNION ALL SELECT 18446744073709551615::UBIGINT"}}},
    {"tinyints",
     {{"neg.parquet", "SELECT (-128 + i)::TINYINT AS v FROM range(100) t(i)"},
      {"pos.parquet", "SELECT i::TINYINT AS v FROM range(128) t(i)"}}},
    {"floats",
     {{"a.parquet", "SELECT 0.1::FLOAT AS v UNION ALL SELECT 0.0::FLOAT"},
      {"b.parquet", "SELECT 0.2::FLOAT AS v UNION ALL SELECT 0.3::FLOAT"}}},
    {"doubles",
     {{"a.parquet", "SELECT -1.5::DOUBLE AS v UNION ALL SELECT 0.5::DOUBLE"},
      {"b.parquet", "SELECT 0.5000000000000001::DOUBLE AS v UNION ALL SELECT 2.0::DOUBLE"}}},
    {"texts",
     {{"a.parquet", "SELECT 'apple' AS v UNION ALL SELECT 'banana'"},
      {"b.parquet", "SELECT 'cherry' AS v UNION ALL SELECT 'date'"}}},
    {"by_day",
     {{"day=2024-02-29/part.parquet", "SELECT 1 AS v"},
      {"day=2024-03-01/part.parquet", "SELECT 2 AS v"},
      {"day=2024-03-02/part.parquet", "SELECT 3 AS v"}}},
    {"by_number",
     {{"n=9/part.parquet", "SELECT 1 AS v"}, {"n=10/part.parquet", "SELECT 2 AS v"}, {"n=11/part.parquet", "SELECT 3 AS v"}}},
};

constexpr int64_t kMicrosPerHour = int64_t{3600} * 1000000;
constexpr int32_t kMar1 = 19783;  // 2024-03-01 in days since the epoch
constexpr int64_t kMar1Micros = int64_t{kMar1} * 24 * kMicrosPerHour;
Timestamp Mar1(int64_t micros_of_day) { return Timestamp{kMar1Micros + micros_of_day}; }

const Case kCases[] = {
    // DATE
    {"dates", {{"v", Op::kGte, {Date{kMar1 - 20}}}, {"v", Op::kLte, {Date{kMar1 - 18}}}}, {"feb.parquet"}},
    {"dates", {{"v", Op::kEq, {Date{kMar1}}}}, {"mar.parquet"}},
    {"dates", {{"v", Op::kLt, {Date{kMar1 - 29}}}}, {"jan.parquet"}},
    {"dates", {{"v", Op::kGt, {Timestamp{kMar1Micros - 1}}}}, {"mar.parquet"}},
    // TIMESTAMP: a one-hour range, and each side of a boundary one microsecond wide.
    {"stamps", {{"v", Op::kGte, {Mar1(11 * kMicrosPerHour)}}, {"v", Op::kLt, {Mar1(12 * kMicrosPerHour)}}}, {"h11.parquet"}},
    {"stamps", {{"v", Op::kEq, {Mar1(11 * kMicrosPerHour - 1)}}}, {"h10.parquet"}},
    {"stamps", {{"v", Op::kGt, {Mar1(11 * kMicrosPerHour - 1)}}, {"v", Op::kLte, {Mar1(11 * kMicrosPerHour)}}}, {"h11.parquet"}},
    {"stamps", {{"v", Op::kGte, {Date{kMar1 + 1}}}}, {"d02.parquet"}},
    {"stamps", {{"v", Op::kLt, {Date{kMar1 + 1}}}}, {"h10.parquet", "h11.parquet"}},
    {"stamps", {{"v", Op::kLte, {Date{kMar1 + 1}}}, {"v", Op::kGte, {Date{kMar1 + 1}}}}, {"d02.parquet"}},
    {"stamps_ms", {{"v", Op::kGte, {Mar1(11 * kMicrosPerHour)}}}, {"b.parquet"}},
    {"stamps_ms", {{"v", Op::kLt, {Mar1(11 * kMicrosPerHour)}}}, {"a.parquet"}},
    {"stamps_ns", {{"v", Op::kGt, {Mar1(11 * kMicrosPerHour)}}}, {"b.parquet"}},
    {"stamps_ns", {{"v", Op::kLte, {Mar1(11 * kMicrosPerHour)}}}, {"a.parquet"}},
    // TIMESTAMP WITH TIME ZONE
    {"zoned", {{"v", Op::kGte, {Mar1(11 * kMicrosPerHour)}}, {"v", Op::kLt, {Mar1(12 * kMicrosPerHour)}}}, {"h11.parquet"}},
    {"zoned", {{"v", Op::kLte, {Mar1(11 * kMicrosPerHour - 1)}}}, {"h10.parquet"}},
    // DECIMAL: neighbours in the last digit, against doubles, integers and exact strings.
    {"decimals", {{"v", Op::kLte, {1.005}}}, {"low.parquet"}},
    {"decimals", {{"v", Op::kGte, {1.006}}, {"v", Op::kLte, {1.006}}}, {"mid.parquet"}},
    {"decimals", {{"v", Op::kEq, {int64_t{2}}}}, {"high.parquet"}},
    {"decimals", {{"v", Op::kIn, {int64_t{1}, 1.01}}}, {"low.parquet", "mid.parquet"}},
    {"decimals", {{"v", Op::kGt, {std::string("1.005")}}}, {"mid.parquet", "high.parquet"}},
    {"wide", {{"v", Op::kEq, {std::string("12345678901234567890.123456789012345679")}}}, {"b.parquet"}},
    {"wide", {{"v", Op::kLt, {std::string("12345678901234567890.123456789012345679")}}}, {"a.parquet"}},
    // BOOLEAN
    {"flags", {{"v", Op::kEq, {true}}}, {"true.parquet", "both.parquet"}},
    {"flags", {{"v", Op::kEq, {false}}}, {"false.parquet", "both.parquet"}},
    // Integers of every width, past INT64_MAX, and the last digit of a BIGINT.
    {"bigints", {{"v", Op::kEq, {int64_t{std::numeric_limits<int64_t>::max() - 1}}}}, {"below.parquet"}},
    {"bigints", {{"v", Op::kGte, {int64_t{std::numeric_limits<int64_t>::max()}}}}, {"max.parquet"}},
    {"ubigints", {{"v", Op::kGt, {int64_t{std::numeric_limits<int64_t>::max()}}}}, {"huge.parquet"}},
    {"ubigints", {{"v", Op::kLte, {int64_t{100}}}}, {"small.parquet"}},
    {"tinyints", {{"v", Op::kLt, {int64_t{0}}}}, {"neg.parquet"}},
    {"tinyints", {{"v", Op::kGte, {-28.5}}}, {"pos.parquet"}},
    // FLOAT: 0.1f is 0.100000001490116…, above the double 0.1.
    {"floats", {{"v", Op::kGt, {0.1}}}, {"a.parquet", "b.parquet"}},
    {"floats", {{"v", Op::kLte, {0.15}}}, {"a.parquet"}},
    {"doubles", {{"v", Op::kGte, {0.5000000000000001}}}, {"b.parquet"}},
    {"doubles", {{"v", Op::kLte, {0.5}}}, {"a.parquet"}},
    {"texts", {{"v", Op::kEq, {std::string("cherry")}}}, {"b.parquet"}},
    // Hive partitions: dates against DATE and TIMESTAMP values, numbers by value.
    {"by_day", {{"day", Op::kEq, {Date{kMar1}}}}, {"day=2024-03-01/part.parquet"}},
    {"by_day", {{"day", Op::kGte, {Mar1(1)}}}, {"day=2024-03-02/part.parquet"}},
    {"by_day", {{"day", Op::kLt, {Date{kMar1}}}}, {"day=2024-02-29/part.parquet"}},
    {"by_number", {{"n", Op::kGt, {int64_t{9}}}}, {"n=10/part.parquet", "n=11/part.parquet"}},
    {"by_number", {{"n", Op::kEq, {std::string("10")}}}, {"n=10/part.parquet"}},
};

std::string OpSql(Op op) {
  switch (op) {
    case Op::kEq: return " = ";
    case Op::kLt: return " < ";
    case Op::kLte: return " <= ";
    case Op::kGt: return " > ";
    case Op::kGte: return " >= ";
    case Op::kIn: return " IN ";
  }
  return "";
}

// The predicates as the WHERE clause an endpoint would run ($n parameters, as compiled_endpoint).
std::string WhereSql(const std::vector<Predicate>& predicates, std::vector<Value>& values) {
  std::string sql;
  for (const auto& predicate : predicates) {
    sql += sql.empty() ? " WHERE " : " AND ";
    sql += common::QuoteIdentifier(predicate.column) + OpSql(predicate.op);
    std::string list;
    for (const Value& value : predicate.values) {
      values.push_back(value);
      list += (list.empty() ? "$" : ", $") + std::to_string(values.size());
    }
    sql += predicate.op == Op::kIn ? "(" + list + ")" : list;
  }
  return sql;
}

class LazyFilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() / ("dram-lazy-files-" + std::to_string(::getpid())));
    fs::remove_all(*root_);
    fs::create_directories(*root_);
    store_ = new std::shared_ptr<store::ObjectStore>(std::make_shared<store::LocalObjectStore>((*root_ / "store").string()));
    auto database = engine::Database::Open("", {.read_only = false, .threads = 1});
    ASSERT_TRUE(database.ok());
    database_ = database->release();
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok());
    connection_ = connection->release();
    for (const auto& table : kTables) sources_[table.name] = Write(table);
  }
  static void TearDownTestSuite() {
    sources_.clear();
    delete connection_;
    delete database_;
    delete store_;
    fs::remove_all(*root_);
    delete root_;
  }

  static TableSources Write(const TableData& data) {
    TableSources sources;
    sources.spec.name = data.name;
    sources.format = FileFormat::kParquet;
    sources.store = *store_;
    for (const auto& [relative, select] : data.files) {
      const fs::path scratch = *root_ / "scratch.parquet";
      Status written = connection_->Execute("COPY (" + select + ") TO " + common::QuoteLiteral(scratch.string()) +
                                            " (FORMAT parquet)");
      EXPECT_TRUE(written.ok()) << relative << ": " << written.ToString();
      std::ifstream in(scratch, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto put = (*store_)->Put(data.name + "/" + relative, bytes);
      EXPECT_TRUE(put.ok());
      sources.files.push_back({.key = put->key, .relative = relative, .size = put->size, .etag = put->etag,
                               .mtime_ms = put->modified_ms});
      sizes_[data.name + "/" + relative] = put->size;
    }
    return sources;
  }

  // The rows matching `predicates` in `relation`, as one text.
  static std::string Rows(const std::string& relation, const std::vector<Predicate>& predicates) {
    std::vector<Value> values;
    const std::string sql = "SELECT count(*)::VARCHAR || ':' || coalesce(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR), '') FROM (" +
                            relation + ") t" + WhereSql(predicates, values);
    auto result = connection_->Query(sql, values);
    if (!result.ok()) return "error: " + result.status().ToString();
    auto text = engine::ColumnText(*result, 0);
    return text.ok() ? text->at(0) : "error";
  }

  static std::string FullRelation(const std::string& table) {
    std::vector<std::string> paths;
    for (const auto& data : kTables) {
      if (data.name != table) continue;
      for (const auto& [relative, select] : data.files) paths.push_back((*root_ / "store" / table / relative).string());
    }
    return "SELECT * FROM " + ReadExpression(paths, FileFormat::kParquet);
  }

  static fs::path* root_;
  static std::shared_ptr<store::ObjectStore>* store_;
  static engine::Database* database_;
  static engine::Connection* connection_;
  static std::map<std::string, TableSources> sources_;
  static std::map<std::string, int64_t> sizes_;
};

fs::path* LazyFilesTest::root_ = nullptr;
std::shared_ptr<store::ObjectStore>* LazyFilesTest::store_ = nullptr;
engine::Database* LazyFilesTest::database_ = nullptr;
engine::Connection* LazyFilesTest::connection_ = nullptr;
std::map<std::string, TableSources> LazyFilesTest::sources_;
std::map<std::string, int64_t> LazyFilesTest::sizes_;

TEST_F(LazyFilesTest, EveryOrderableTypeFetchesOnlyTheMatchingFilesAndAnswersAsTheFullCopy) {
  for (size_t i = 0; i < std::size(kCases); ++i) {
    const Case& c = kCases[i];
    SCOPED_TRACE("case " + std::to_string(i) + " on " + c.table);
    // A lazy database of this one table, all stubs: what a Prepare fetches is what it needs.
    auto lazy = LazyFiles::Create({sources_.at(c.table)}, (*root_ / "lazy" / std::to_string(i)).string(), {});
    ASSERT_TRUE(lazy.ok()) << lazy.status().ToString();
    ASSERT_TRUE((*lazy)->CreateViews(*connection_).ok());
    auto scope = (*lazy)->Prepare(c.table, c.predicates);
    ASSERT_TRUE(scope.ok()) << scope.status().ToString();
    int64_t expected_bytes = 0;
    for (const auto& relative : c.expected) expected_bytes += sizes_.at(c.table + "/" + relative);
    EXPECT_EQ((*lazy)->fetched_bytes(), expected_bytes) << "of " << (*lazy)->total_bytes();
    const std::string full = Rows(FullRelation(c.table), c.predicates);
    EXPECT_FALSE(full.starts_with("0:")) << "a case must match some rows";
    EXPECT_EQ(Rows(scope->relation_sql(), c.predicates), full);
  }
}

}  // namespace
}  // namespace dram::database
