#include "engine/partial_merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "engine/columnar_codec.h"
#include "engine/columnar_table_function.h"
#include "engine/result_encoder.h"

namespace dram::engine {
namespace {

using Op = PartialMerge::Op;

// MergePartials against the query it stands for: the same partials (real map queries' payloads)
// reduced by DuckDB through the columnar table function with the SQL the shard planner writes
// (CAST(sum(p) AS type), sum(s) / sum(c), ORDER BY with the keys as tiebreakers, LIMIT/OFFSET),
// compared byte for byte in JSON and CSV.
class PartialMergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = Database::Open("", DatabaseOptions{.read_only = false, .threads = 1});
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(database).value();
    auto function = ColumnarTableFunction::Register(*database_, "dram_partials");
    ASSERT_TRUE(function.ok()) << function.status().ToString();
    function_ = std::move(function).value();
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok());
    connection_ = std::move(connection).value();
    // 3,000 rows, values from a hash so that every run sees the same: keys of every comparable
    // type with NULLs and non-ASCII text, values with NULLs, negatives and large magnitudes.
    const Status made = connection_->Execute(R"(
      CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s', '');
      CREATE TABLE facts AS SELECT i,
        CASE WHEN hash(i, 1) % 13 = 0 THEN NULL ELSE (hash(i, 2) % 7)::INTEGER - 3 END AS k_int,
        CASE hash(i, 3) % 6 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'ä' WHEN 3 THEN 'a' WHEN 4 THEN 'B' ELSE 'zz' END AS k_str,
        DATE '2024-01-01' + (hash(i, 4) % 5)::INTEGER AS k_date,
        CASE WHEN hash(i, 5) % 9 = 0 THEN NULL ELSE hash(i, 5) % 2 = 0 END AS k_bool,
        (((hash(i, 6) % 5)::INTEGER - 2) / 4)::DECIMAL(9, 2) AS k_dec,
        TIMESTAMP '2024-01-01 00:00:00' + to_microseconds((hash(i, 7) % 4)::BIGINT * 1000001) AS k_ts,
        ('00000000-0000-0000-0000-00000000000' || (hash(i, 8) % 3)::VARCHAR)::UUID AS k_uuid,
        (['sad', 'ok', 'it''s', ''])[1 + (hash(i, 9) % 4)::INTEGER]::mood AS k_enum,
        CASE WHEN hash(i, 10) % 11 = 0 THEN NULL ELSE (hash(i, 11) % 2000001)::BIGINT - 1000000 END AS v,
        CASE WHEN hash(i, 12) % 17 = 0 THEN NULL ELSE (((hash(i, 13) % 20000001)::BIGINT - 10000000) / 1000)::DECIMAL(18, 3) END AS d,
        CASE hash(i, 14) % 5 WHEN 0 THEN NULL WHEN 1 THEN 'é' || i ELSE 'v' || (i % 97) END AS s,
        CASE hash(i, 15) % 50 WHEN 0 THEN NULL WHEN 1 THEN -0.0 WHEN 2 THEN 0.0 WHEN 3 THEN 'NaN'::DOUBLE WHEN 4 THEN 'inf'::DOUBLE
          ELSE ((hash(i, 16) % 2000)::DOUBLE - 1000) / 7 END AS f,
        CASE WHEN hash(i, 17) % 10 = 0 THEN NULL ELSE ((hash(i, 18) % 2000)::DOUBLE - 1000) / 3 END AS g,
        ((hash(i, 16) % 3)::BIGINT - 1) * 3000000000000000000 AS big
      FROM range(3000) t(i))");
    ASSERT_TRUE(made.ok()) << made.ToString();
  }

  std::string TypeOf(const std::string& expression) {
    auto columns = connection_->Describe("SELECT " + expression + " FROM facts");
    EXPECT_TRUE(columns.ok()) << expression << ": " << columns.status().ToString();
    return columns.ok() ? (*columns)[0].type.sql_name : "";
  }

  // One payload per shard: `map` over the rows i % shards = s (shard `empty` has none).
  std::vector<std::string> Payloads(const std::string& map, int shards, int empty = -1) {
    std::vector<std::string> payloads;
    for (int s = 0; s < shards; ++s) {
      std::string sql = map;
      const std::string where = s == empty ? " WHERE false " : " WHERE i % " + std::to_string(shards) + " = " + std::to_string(s) + " ";
      size_t at = sql.size();  // before GROUP BY, ORDER BY or LIMIT
      for (const char* clause : {" GROUP BY ", " ORDER BY ", " LIMIT "}) at = std::min(at, sql.find(clause));
      sql.insert(at, where);
      auto result = connection_->Query(sql);
      EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
      if (!result.ok()) return {};
      std::string payload;
      EXPECT_TRUE(EncodeColumnar(*result, payload).ok());
      payloads.push_back(std::move(payload));
    }
    return payloads;
  }

  // DuckDB's answer to `reduce` (over `partials`) in `format`, or the error.
  std::string Reduce(const std::vector<std::string>& payloads, const std::string& reduce, Format format) {
    auto columns = ColumnarTableFunction::Columns(payloads.front());
    EXPECT_TRUE(columns.ok());
    auto lease = function_->Provide(*connection_, {payloads.begin(), payloads.end()});
    auto result = connection_->Query("WITH partials AS (SELECT * FROM " + ColumnarTableFunction::Call("dram_partials", *columns) +
                                     ") " + reduce);
    if (!result.ok()) return "error: " + result.status().message();
    std::string out;
    auto rows = EncodeResult(*result, format, out);
    return rows.ok() ? out : "error: " + rows.status().message();
  }

  std::string Merge(const PartialMerge& merge, const std::vector<std::string>& payloads, Format format, Status* status = nullptr,
                    size_t* groups = nullptr) {
    std::string out;
    auto merged = MergePartials(merge, {payloads.begin(), payloads.end()}, format, out);
    if (status) *status = merged.status();
    if (!merged.ok()) return "error: " + merged.status().ToString();
    if (groups) *groups = merged->groups;
    EXPECT_EQ(merged->columns.size(), merge.answered);
    return out;
  }

  static std::vector<std::string> SortedLines(const std::string& csv) {
    std::vector<std::string> lines;
    for (size_t at = 0; at < csv.size();) {
      const size_t end = csv.find("\r\n", at);
      lines.push_back(csv.substr(at, end - at));
      at = end == std::string::npos ? csv.size() : end + 2;
    }
    if (lines.size() > 1) std::sort(lines.begin() + 1, lines.end());
    return lines;
  }

  std::unique_ptr<Database> database_;
  std::unique_ptr<ColumnarTableFunction> function_;
  std::unique_ptr<Connection> connection_;
};

// Grouped by every comparable key type, one or two keys or none, every aggregate the planner
// splits, ordered by any output (NULLs and ties included), pages anywhere: 300 generated cases.
TEST_F(PartialMergeTest, AnswersExactlyWhatTheReduceQueryAnswers) {
  const std::vector<std::string> keys = {"k_int", "k_str", "k_date", "k_bool", "k_dec", "k_ts", "k_uuid", "k_enum"};
  struct Aggregate {
    const char* op;
    const char* column;
  };
  const std::vector<Aggregate> aggregates = {{"sum", "v"},   {"count", "v"}, {"min", "v"},   {"max", "v"},   {"avg", "v"},
                                             {"sum", "d"},   {"min", "d"},   {"max", "s"},   {"min", "s"},   {"count", "s"},
                                             {"sum", "big"}, {"count", "*"}, {"max", "k_ts"}, {"min", "k_enum"}, {"avg", "k_int"},
                                             {"sum", "g"},   {"avg", "g"},   {"avg", "d"},   {"min", "f"},   {"max", "f"},
                                             {"sum", "f"},   {"avg", "f"},   {"max", "g"}};
  std::mt19937 random(20261203);
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  int compared = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> chosen_keys;
    const size_t key_count = pick(3);
    while (chosen_keys.size() < key_count) {
      const std::string key = keys[pick(keys.size())];
      if (std::find(chosen_keys.begin(), chosen_keys.end(), key) == chosen_keys.end()) chosen_keys.push_back(key);
    }
    std::vector<Aggregate> chosen;
    for (size_t n = 1 + pick(4); chosen.size() < n;) chosen.push_back(aggregates[pick(aggregates.size())]);

    PartialMerge merge;
    merge.grouped = true;
    std::string map, reduce, group;
    size_t column = 0;
    std::vector<std::string> output_sql;  // per output, for ORDER BY
    for (size_t j = 0; j < chosen_keys.size(); ++j) {
      map += (j ? ", " : "") + chosen_keys[j] + " AS g" + std::to_string(j);
      group += (j ? ", " : "") + std::string("g") + std::to_string(j);
      merge.keys.push_back(column);
      merge.outputs.push_back({.name = chosen_keys[j], .op = Op::kValue, .column = column++});
      output_sql.push_back("g" + std::to_string(j));
    }
    for (size_t a = 0; a < chosen.size(); ++a) {
      const std::string op = chosen[a].op, col = chosen[a].column, p = "p" + std::to_string(a);
      const std::string name = "out" + std::to_string(a);
      const std::string type = TypeOf(op + "(" + col + ")");
      PartialMerge::Output output{.name = name, .column = column, .type = type};
      std::string merged;
      if (op == "avg") {
        map += (map.empty() ? "" : ", ") + ("sum(" + col + ") AS s" + std::to_string(a) + ", count(" + col + ") AS c" + std::to_string(a));
        merged = "sum(s" + std::to_string(a) + ") / sum(c" + std::to_string(a) + ")";
        output.op = Op::kAvg;
        output.count_column = column + 1;
        column += 2;
      } else {
        map += (map.empty() ? "" : ", ") + (op + "(" + col + ") AS " + p);
        merged = (op == "count" ? std::string("sum") : op) + "(" + p + ")";
        output.op = op == "sum" || op == "count" ? Op::kSum : op == "min" ? Op::kMin : Op::kMax;
        column += 1;
      }
      // As the planner writes it: the types of sums and counts cast back to the whole data's;
      // a min or max is of the column's own type already.
      if (output.op != Op::kMin && output.op != Op::kMax) merged = "CAST(" + merged + " AS " + type + ")";
      output_sql.push_back(merged);
      merge.outputs.push_back(output);
    }
    merge.answered = merge.outputs.size();
    std::string select;
    for (size_t i = 0; i < merge.outputs.size(); ++i) select += (i ? ", " : "") + output_sql[i] + " AS \"" + merge.outputs[i].name + "\"";
    std::string order;
    if (pick(4) != 0) {  // ordered, by any output, then the keys as the planner adds them
      const size_t by = pick(merge.outputs.size());
      merge.order.push_back({.output = by, .descending = pick(2) == 1});
      order = output_sql[by] + (merge.order.back().descending ? " DESC" : " ASC");
      for (size_t j = 0; j < chosen_keys.size(); ++j) {
        if (j == by) continue;
        merge.order.push_back({.output = j});
        order += ", g" + std::to_string(j) + " ASC";
      }
    }
    const int64_t limits[] = {0, 1, 3, 10, 1000};
    const int64_t offsets[] = {0, 0, 1, 5, 50};
    merge.limit = limits[pick(5)];
    merge.offset = offsets[pick(5)];
    const std::string map_sql = "SELECT " + map + " FROM facts" + (group.empty() ? "" : " GROUP BY " + group);
    const int shards = 1 + static_cast<int>(pick(4));
    const auto payloads = Payloads(map_sql, shards, pick(3) == 0 ? static_cast<int>(pick(static_cast<size_t>(shards))) : -1);
    ASSERT_FALSE(payloads.empty());
    const std::string reduce_sql = "SELECT " + select + " FROM partials" + (group.empty() ? "" : " GROUP BY " + group) +
                                   (order.empty() ? "" : " ORDER BY " + order) + " LIMIT " + std::to_string(merge.limit) +
                                   " OFFSET " + std::to_string(merge.offset);
    // Unordered, a page is whichever groups come first: compare those only when all fit.
    if (order.empty() && !group.empty() && (merge.offset > 0 || merge.limit < 1000)) continue;
    // Unordered groups come in any order: compare the CSV's lines as a set.
    const bool unordered = order.empty() && !group.empty();
    for (Format format : {Format::kJson, Format::kCsv}) {
      if (unordered && format == Format::kJson) continue;
      const std::string expected = Reduce(payloads, reduce_sql, format);
      Status status;
      size_t groups = 0;
      const std::string actual = Merge(merge, payloads, format, &status, &groups);
      ASSERT_NE(status.code(), StatusCode::kUnimplemented) << "round " << round << ": " << status.ToString() << "\n" << reduce_sql;
      if (unordered) {
        EXPECT_EQ(SortedLines(actual), SortedLines(expected)) << "round " << round << "\n" << map_sql << "\n" << reduce_sql;
      } else {
        EXPECT_EQ(actual, expected) << "round " << round << "\n" << map_sql << "\n" << reduce_sql;
      }
      ++compared;
      const std::string counted =
          Reduce(payloads, group.empty() ? "SELECT 1 AS n" : "SELECT count(*) AS n FROM (SELECT 1 FROM partials GROUP BY " + group + ")",
                 Format::kCsv);
      EXPECT_EQ(counted, "n\r\n" + std::to_string(groups) + "\r\n") << reduce_sql;
    }
  }
  EXPECT_GT(compared, 300);
}

// A list endpoint's page: each shard's first limit+offset rows in the page's order, merged into
// the page (columns of any type answered, comparable ones ordered by with the row key last), up
// to pages of more than one DuckDB vector (2,048 rows).
TEST_F(PartialMergeTest, APageOfRowsIsTheReduceQuerysPage) {
  const std::vector<std::string> order_columns = {"v", "s", "k_date", "k_enum", "k_str", "d", "k_bool", "k_uuid", "f", "g"};
  std::mt19937 random(7);
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  for (int round = 0; round < 60; ++round) {
    const std::string by = order_columns[pick(order_columns.size())];
    const bool descending = pick(2) == 1;
    const int64_t limit = round % 10 == 0 ? 2500 : static_cast<int64_t>(1 + pick(30));
    const int64_t offset = static_cast<int64_t>(pick(3) == 0 ? 0 : pick(200));
    const std::string direction = descending ? " DESC" : " ASC";
    PartialMerge merge;
    merge.outputs = {{.name = "i", .column = 0}, {.name = "s", .column = 1}, {.name = "f", .column = 2},
                     {.name = "k_enum", .column = 3}, {.name = "o0", .column = 4}, {.name = "o1", .column = 5}};
    merge.answered = 4;
    merge.order = {{.output = 4, .descending = descending}, {.output = 5}};
    merge.limit = limit;
    merge.offset = offset;
    const int shards = 1 + static_cast<int>(pick(4));
    const auto payloads = Payloads("SELECT i, s, f, k_enum, " + by + " AS o0, i AS o1 FROM facts ORDER BY o0" + direction +
                                       ", o1 ASC LIMIT " + std::to_string(limit + offset),
                                   shards, pick(4) == 0 ? 0 : -1);
    ASSERT_FALSE(payloads.empty());
    const std::string reduce = "SELECT i, s, f, k_enum FROM partials ORDER BY o0" + direction + ", o1 ASC LIMIT " +
                               std::to_string(limit) + " OFFSET " + std::to_string(offset);
    for (Format format : {Format::kJson, Format::kCsv, Format::kNdjson}) {
      EXPECT_EQ(Merge(merge, payloads, format), Reduce(payloads, reduce, format)) << "round " << round << ": " << reduce;
    }
  }
  // Not ordered: the partials' rows in the order they came, as the query reads them.
  PartialMerge merge;
  merge.outputs = {{.name = "i", .column = 0}, {.name = "f", .column = 1}};
  merge.answered = 2;
  merge.limit = 10;
  merge.offset = 3;
  const auto payloads = Payloads("SELECT i, f FROM facts LIMIT 13", 3);
  EXPECT_EQ(Merge(merge, payloads, Format::kJson), Reduce(payloads, "SELECT i, f FROM partials LIMIT 10 OFFSET 3", Format::kJson));
}

// A global aggregate answers one row even when no shard has a row; a grouped one answers none.
TEST_F(PartialMergeTest, NoRowsAnywhereIsOneRowWithoutGroupsAndNoneWithThem) {
  const auto global = Payloads("SELECT sum(v) AS p0, count(v) AS p1, min(s) AS p2, sum(v) AS s3, count(v) AS c3 FROM facts", 3, 0);
  PartialMerge merge;
  merge.grouped = true;
  merge.outputs = {{.name = "total", .op = Op::kSum, .column = 0, .type = "HUGEINT"},
                   {.name = "n", .op = Op::kSum, .column = 1, .type = "BIGINT"},
                   {.name = "first", .op = Op::kMin, .column = 2, .type = "VARCHAR"},
                   {.name = "mean", .op = Op::kAvg, .column = 3, .count_column = 4, .type = "DOUBLE"}};
  merge.answered = 4;
  merge.limit = 10;
  const std::string reduce =
      "SELECT CAST(sum(p0) AS HUGEINT) AS total, CAST(sum(p1) AS BIGINT) AS n, min(p2) AS first, "
      "CAST(sum(s3) / sum(c3) AS DOUBLE) AS mean FROM partials LIMIT 10";
  EXPECT_EQ(Merge(merge, global, Format::kJson), Reduce(global, reduce, Format::kJson));
  auto nothing_from = [&](const std::string& map) {
    const std::string empty = Payloads(map, 1, 0).front();
    return std::vector<std::string>{empty, empty, empty};
  };
  const auto none = nothing_from("SELECT sum(v) AS p0, count(v) AS p1, min(s) AS p2, sum(v) AS s3, count(v) AS c3 FROM facts");
  const std::string nothing = Merge(merge, none, Format::kJson);
  EXPECT_EQ(nothing, Reduce(none, reduce, Format::kJson));
  EXPECT_EQ(nothing, R"([{"total":null,"n":0,"first":null,"mean":null}])");
  merge.keys = {2};
  merge.outputs[2] = {.name = "first", .column = 2};
  EXPECT_EQ(Merge(merge, nothing_from("SELECT sum(v) AS p0, count(v) AS p1, s AS p2, sum(v) AS s3, count(v) AS c3 FROM facts GROUP BY s"),
                  Format::kJson),
            "[]");
}

// What the merge cannot promise to answer as the query would, it refuses, and the query runs:
// FLOAT/DOUBLE keys (how DuckDB hashes -0.0 and NaN is its own), sums past their type, averages
// past what a DOUBLE holds exactly. Payloads that disagree or are corrupt are errors.
TEST_F(PartialMergeTest, RefusesWhatItCannotAnswerExactly) {
  auto code = [&](const PartialMerge& merge, const std::vector<std::string>& payloads) {
    Status status;
    Merge(merge, payloads, Format::kJson, &status);
    return status.code();
  };
  const auto doubles = Payloads("SELECT f AS g0, sum(f) AS p0, min(f) AS p1 FROM facts GROUP BY g0", 2);
  PartialMerge by_double{.grouped = true, .keys = {0}, .outputs = {{.name = "f", .column = 0}}, .answered = 1, .limit = 5};
  EXPECT_EQ(code(by_double, doubles), StatusCode::kUnimplemented);
  // An answer type other than the column's (the query would cast): refused.
  const auto sums = Payloads("SELECT sum(v) AS p0 FROM facts", 2);
  PartialMerge cast{.grouped = true, .outputs = {{.name = "x", .op = Op::kSum, .column = 0, .type = "BIGINT"}}, .answered = 1, .limit = 5};
  EXPECT_EQ(code(cast, sums), StatusCode::kUnimplemented);
  // Sums past HUGEINT and past a DECIMAL's precision; an average of sums past 2^53.
  const auto huge = Payloads("SELECT 170141183460469231731687303715884105727::HUGEINT AS p0, "
                             "99999999999999999999999999999999999999::DECIMAL(38, 0) AS p1, "
                             "(2::HUGEINT ** 60)::HUGEINT AS s2, 1::BIGINT AS c2 FROM facts LIMIT 1", 2);
  PartialMerge past{.grouped = true, .outputs = {{.name = "x", .op = Op::kSum, .column = 0, .type = "HUGEINT"}}, .answered = 1, .limit = 5};
  EXPECT_EQ(code(past, huge), StatusCode::kUnimplemented);
  EXPECT_NE(Reduce(huge, "SELECT CAST(sum(p0) AS HUGEINT) AS x FROM partials", Format::kJson).rfind("error: ", 0), std::string::npos);
  past.outputs[0] = {.name = "x", .op = Op::kSum, .column = 1, .type = "DECIMAL(38,0)"};
  EXPECT_EQ(code(past, huge), StatusCode::kUnimplemented);
  past.outputs[0] = {.name = "x", .op = Op::kAvg, .column = 2, .count_column = 3, .type = "DOUBLE"};
  EXPECT_EQ(code(past, huge), StatusCode::kUnimplemented);
  // Within range, the same sums are answered.
  const auto fine = Payloads("SELECT 85070591730234615865843651857942052863::HUGEINT AS p0 FROM facts LIMIT 1", 2);
  past.outputs[0] = {.name = "x", .op = Op::kSum, .column = 0, .type = "HUGEINT"};
  EXPECT_EQ(Merge(past, fine, Format::kJson), Reduce(fine, "SELECT CAST(sum(p0) AS HUGEINT) AS x FROM partials", Format::kJson));
  // Different headers, a corrupt payload, a column that is not there.
  PartialMerge plain{.outputs = {{.name = "i", .column = 0}}, .answered = 1, .limit = 5};
  EXPECT_EQ(code(plain, {Payloads("SELECT i FROM facts LIMIT 2", 1)[0], Payloads("SELECT v FROM facts LIMIT 2", 1)[0]}),
            StatusCode::kInvalidArgument);
  std::string cut = Payloads("SELECT i FROM facts LIMIT 2", 1)[0];
  cut.resize(cut.size() - 5);
  EXPECT_EQ(code(plain, {cut}), StatusCode::kDataLoss);
  PartialMerge missing{.outputs = {{.name = "i", .column = 3}}, .answered = 1, .limit = 5};
  EXPECT_EQ(code(missing, sums), StatusCode::kInvalidArgument);
  // Steps out of proportion to the partials (they may come from another member), or answering
  // nothing, or a negative page: refused before any payload is decoded.
  const auto keyed = Payloads("SELECT k_int AS g0, count(*) AS p0 FROM facts GROUP BY g0", 2);
  PartialMerge twice{.grouped = true, .keys = {0, 0}, .outputs = {{.name = "k", .column = 0}}, .answered = 1, .limit = 5};
  EXPECT_EQ(code(twice, keyed), StatusCode::kInvalidArgument);
  PartialMerge many{.grouped = true, .keys = {0}, .answered = 1, .limit = 5};
  many.outputs.assign(100, {.name = "k", .column = 0});
  EXPECT_EQ(code(many, keyed), StatusCode::kInvalidArgument);
  PartialMerge nothing{.grouped = true, .keys = {0}, .outputs = {{.name = "k", .column = 0}}, .answered = 0, .limit = 5};
  EXPECT_EQ(code(nothing, keyed), StatusCode::kInvalidArgument);
  PartialMerge negative{.grouped = true, .keys = {0}, .outputs = {{.name = "k", .column = 0}}, .answered = 1, .limit = 5,
                        .offset = -1};
  EXPECT_EQ(code(negative, keyed), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dram::engine
