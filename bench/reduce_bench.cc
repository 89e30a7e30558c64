// The coordinator's reduce step alone (issue 16, "coordinator overhead ≤ 2 ms p50"): the partial
// results of 4 shards, reduced by api::ShardReducer as a coordinator or the smart client does,
// for the two shapes bench/distributed.sh asks: a group-by (50 groups per shard, sum, count, avg,
// ordered, top 10) and a page (the top 100 rows of each shard by a column, merged). Prints wall
// and CPU milliseconds per reduce (p50, mean) so runs on different CPUs compare, beside the
// first baseline: the partials as exact CSV written to one file, read by read_csv with the
// columns typed, the statement prepared anew each time since the file name is in it.
// Then what a member's pre-reduce (ShardPlan::combine_sql) costs and saves, for a member holding
// 2 of the 4 shards: its combine, the bytes and encode/decode of one partial instead of two
// (api::EncodeMapReply / DecodeMapReply), and the coordinator's reduce of 3 partials instead of 4;
// for 50 and 5,000 groups a shard.
// Last, the wire format of partials (the issue's "compact binary columnar, chosen by measurement
// against JSON"): for the group-by partials of 50 and 5,000 groups and pages of mixed-type rows,
// the bytes on the wire, the member's encode CPU per partial and the coordinator's decode + reduce
// CPU per reduce of 4 partials: exact CSV inside JSON, read through engine::CsvTableFunction with
// casts (what members sent until 2026-12-03, kept here as CsvWire), against the columnar payloads
// members send now (engine::EncodeColumnar in api::EncodeMapReply, read back typed through
// engine::ColumnarTableFunction by api::ShardReducer).
//
// Usage: reduce_bench [ROUNDS] [WIRE_ROUNDS]   (default 2000 and 1000)
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "api/shard_reduce.h"
#include "api/shard_wire.h"
#include "common/sql_text.h"
#include "engine/columnar_codec.h"
#include "engine/columnar_table_function.h"
#include "engine/csv_table_function.h"
#include "engine/result_encoder.h"
#include "engine/connection.h"
#include "engine/database.h"

namespace {

using dram::api::PartialResult;
using dram::api::ShardPlan;

template <typename T>
T Check(dram::Result<T> result) {
  if (!result.ok()) {
    std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(result).value();
}

double ThreadCpuMs() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
}

double ThreadCpuMsPrecise() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

void CheckOk(const dram::Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    std::exit(1);
  }
}

// The wire format members sent before the columnar one: a partial's rows as exact CSV
// (Format::kCsvExact) inside a JSON envelope with its columns and their types; reduced through
// engine::CsvTableFunction (VARCHAR columns) cast to those types, in a sealed one-thread DuckDB
// as api::ShardReducer is. The statement depends on the types alone, so it is prepared once.
class CsvWire {
 public:
  CsvWire()
      : database_(Check(dram::engine::Database::Open("", {.read_only = false, .threads = 1}))),
        function_(Check(dram::engine::CsvTableFunction::Register(*database_, "dram_csv"))),
        connection_(Check(database_->Connect())) {
    CheckOk(database_->Seal({}));
  }
  static std::string Encode(dram::engine::QueryResult& result, int shard) {
    std::string csv;
    const size_t rows = Check(dram::engine::EncodeResult(result, dram::engine::Format::kCsvExact, csv));
    boost::json::array columns;
    for (const auto& column : result.Columns()) {
      std::string type = column.type.sql_name;
      if (column.type.kind == dram::engine::TypeKind::kEnum) {  // with its values, so the reduce casts back to it
        type = "ENUM(";
        for (size_t i = 0; i < column.type.enum_values.size(); ++i) {
          type += (i ? ", " : "") + dram::common::QuoteLiteral(column.type.enum_values[i]);
        }
        type += ")";
      }
      columns.push_back(boost::json::array{boost::json::string(column.name), boost::json::string(type)});
    }
    return boost::json::serialize(boost::json::object{{"shard", shard},
                                                      {"snapshot", "s0000000000000001"},
                                                      {"columns", std::move(columns)},
                                                      {"csv", std::move(csv)},
                                                      {"rows", rows},
                                                      {"count", -1},
                                                      {"watermark_ms", 0}});
  }
  // Parses what arrived and reduces it, as the coordinator did.
  dram::Result<size_t> Reduce(const ShardPlan& plan, const std::vector<std::string>& wire, std::string& body) {
    std::vector<boost::json::value> parsed;
    std::vector<std::string_view> texts;
    for (const auto& text : wire) {
      parsed.push_back(boost::json::parse(text));
      texts.push_back(parsed.back().at("csv").as_string());
    }
    std::string select = "(SELECT ";
    const auto& columns = parsed.front().at("columns").as_array();
    for (size_t i = 0; i < columns.size(); ++i) {
      const std::string type(columns[i].as_array()[1].as_string());
      const std::string field = "c" + std::to_string(i);
      select += (i ? ", " : "") + (type == "VARCHAR" ? field : "CAST(" + field + " AS " + type + ")") + " AS " +
                dram::common::QuoteIdentifier(std::string(columns[i].as_array()[0].as_string()));
    }
    const std::string with = "WITH partials AS " + select + " FROM dram_csv(" + std::to_string(columns.size()) + ")) ";
    const auto provided = function_->Provide(*connection_, std::move(texts));
    ASSIGN_OR_RETURN(dram::engine::QueryResult result, connection_->QuerySelect(with + plan.reduce_sql, plan.reduce_values));
    return dram::engine::EncodeResult(result, dram::engine::Format::kJson, body);
  }
  // The CSV text of a partial, for the file baseline.
  static std::string Text(const std::string& wire) { return std::string(boost::json::parse(wire).at("csv").as_string()); }

 private:
  std::unique_ptr<dram::engine::Database> database_;
  std::unique_ptr<dram::engine::CsvTableFunction> function_;
  std::unique_ptr<dram::engine::Connection> connection_;
};

// One shape of partials for the wire comparison: each shard's map result kept in a table, so that
// each round encodes a fresh result of it without running the map again.
struct WireShape {
  std::string name;
  std::vector<std::string> tables;  // one per shard
  ShardPlan plan;
};

void CompareWire(dram::engine::Connection& connection, dram::api::ShardReducer& reducer, const WireShape& shape, int rounds) {
  CsvWire csv_wire;
  const size_t shards = shape.tables.size();
  std::vector<std::string> csv_replies(shards), replies(shards), plain(shards);
  double encode_csv = 0, encode_columnar = 0;
  size_t rows = 0;
  // Member side: a result encoded as it goes on the wire, both ways, alternating, CPU time only.
  for (int round = 0; round < rounds; ++round) {
    for (size_t shard = 0; shard < shards; ++shard) {
      auto csv_result = Check(connection.Query("SELECT * FROM " + shape.tables[shard]));
      double start = ThreadCpuMsPrecise();
      csv_replies[shard] = CsvWire::Encode(csv_result, static_cast<int>(shard));
      encode_csv += ThreadCpuMsPrecise() - start;

      auto columnar_result = Check(connection.Query("SELECT * FROM " + shape.tables[shard]));
      start = ThreadCpuMsPrecise();
      PartialResult partial = Check(dram::api::PartialOf(columnar_result));
      partial.shard = static_cast<int>(shard);
      partial.snapshot = "s0000000000000001";
      replies[shard] = dram::api::EncodeMapReply({}, {partial});
      encode_columnar += ThreadCpuMsPrecise() - start;
      rows = static_cast<size_t>(partial.rows);
      if (round == 0) {
        auto plain_result = Check(connection.Query("SELECT * FROM " + shape.tables[shard]));
        Check(dram::engine::EncodeColumnar(plain_result, plain[shard], {.narrow = false}));
        plain[shard] += replies[shard].substr(0, replies[shard].find('\n') + 1);  // its envelope
      }
    }
  }
  // Coordinator side: parse what arrived and reduce it, both ways.
  std::string csv_body, columnar_body;
  double decode_csv = 0, decode_columnar = 0;
  for (int round = 0; round < rounds; ++round) {
    csv_body.clear();
    double start = ThreadCpuMsPrecise();
    Check(csv_wire.Reduce(shape.plan, csv_replies, csv_body));
    decode_csv += ThreadCpuMsPrecise() - start;

    columnar_body.clear();
    start = ThreadCpuMsPrecise();
    std::vector<PartialResult> partials;
    for (const auto& reply : replies) partials.push_back(std::move(Check(dram::api::DecodeMapReply(reply)).partials.front()));
    Check(reducer.Reduce(shape.plan, partials, dram::engine::Format::kJson, columnar_body));
    decode_columnar += ThreadCpuMsPrecise() - start;
  }
  if (csv_body != columnar_body) {
    std::fprintf(stderr, "%s: the two reduces answered differently\n%s\n%s\n", shape.name.c_str(), csv_body.c_str(),
                 columnar_body.c_str());
    std::exit(1);
  }
  size_t bytes_csv = 0, bytes_columnar = 0, bytes_plain = 0;
  for (size_t shard = 0; shard < shards; ++shard) {
    bytes_csv += csv_replies[shard].size();
    bytes_columnar += replies[shard].size();
    bytes_plain += plain[shard].size();
  }
  const double per_partial = static_cast<double>(rounds) * static_cast<double>(shards);
  std::printf("%-18s %6zu %10zu %10zu %10zu %6.2fx %8.4f %8.4f %6.2fx %8.3f %8.3f %6.2fx\n", shape.name.c_str(), rows,
              bytes_csv / shards, bytes_columnar / shards, bytes_plain / shards,
              static_cast<double>(bytes_csv) / static_cast<double>(bytes_columnar), encode_csv / per_partial,
              encode_columnar / per_partial, encode_csv / encode_columnar, decode_csv / rounds, decode_columnar / rounds,
              decode_csv / decode_columnar);
}

// The baseline reduce: a file per reduce and read_csv, on a DuckDB of the same settings.
class FileReducer {
 public:
  // `texts`: each partial's exact CSV, for `partials` (whose columns name the types).
  explicit FileReducer(std::vector<std::string> texts) : texts_(std::move(texts)) {}
  dram::Result<dram::api::Reduced> Reduce(const ShardPlan& plan, const std::vector<PartialResult>& partials,
                                          dram::engine::Format format, std::string& body) {
    const std::string file = dir_ + "/r" + std::to_string(sequence_++) + ".csv";
    {
      std::ofstream out(file, std::ios::binary);
      const size_t header = dram::engine::CsvHeaderLength(texts_.front());
      for (size_t i = 0; i < texts_.size(); ++i) out << texts_[i].substr(i == 0 ? 0 : header);
    }
    std::string types = "{";
    for (size_t i = 0; i < partials.front().columns.size(); ++i) {
      const auto& column = partials.front().columns[i];
      types += (i ? ", " : "") + dram::common::QuoteLiteral(column.name) + ": " + dram::common::QuoteLiteral(column.type.sql_name);
    }
    const std::string with = "WITH partials AS (SELECT * FROM read_csv([" + dram::common::QuoteLiteral(file) +
                             "], header = true, auto_detect = false, columns = " + types +
                             "}, allow_quoted_nulls = false, delim = ',', quote = '\"', escape = '\"', new_line = '\\r\\n', "
                             "parallel = false)) ";
    auto result = connection_->Query(with + plan.reduce_sql, plan.reduce_values);
    std::filesystem::remove(file);
    if (!result.ok()) return result.status();
    dram::api::Reduced reduced;
    ASSIGN_OR_RETURN(reduced.rows, dram::engine::EncodeResult(*result, format, body));
    return reduced;
  }
  ~FileReducer() { std::filesystem::remove_all(dir_); }

 private:
  std::vector<std::string> texts_;
  std::unique_ptr<dram::engine::Database> database_ = Check(dram::engine::Database::Open("", {.read_only = false, .threads = 1}));
  std::unique_ptr<dram::engine::Connection> connection_ = Check(database_->Connect());
  const std::string dir_ = [] {
    std::string dir = std::filesystem::temp_directory_path() / "dram-reduce-bench-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) std::exit(1);
    return dir;
  }();
  uint64_t sequence_ = 0;
};

struct Figures {
  double p50 = 0, cpu = 0;
};

template <typename Reducer>
Figures Measure(const char* name, Reducer& reducer, const ShardPlan& plan, const std::vector<PartialResult>& partials,
                int rounds) {
  std::vector<double> wall;
  wall.reserve(static_cast<size_t>(rounds));
  std::string body;
  size_t rows = 0;
  const double cpu_start = ThreadCpuMs();
  for (int round = 0; round < rounds; ++round) {
    body.clear();
    const auto start = std::chrono::steady_clock::now();
    rows = Check(reducer.Reduce(plan, partials, dram::engine::Format::kJson, body)).rows;
    wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  const double cpu = (ThreadCpuMs() - cpu_start) / rounds;
  std::sort(wall.begin(), wall.end());
  double mean = 0;
  for (double w : wall) mean += w / rounds;
  std::printf("%-22s %4zu rows out  wall p50 %.3f ms  mean %.3f ms  p99 %.3f ms  cpu %.3f ms/reduce\n", name, rows,
              wall[wall.size() / 2], mean, wall[std::min(wall.size() - 1, wall.size() * 99 / 100)], cpu);
  return {wall[wall.size() / 2], cpu};
}

// The three ways: the first baseline, the reduce query through the columnar table function
// (the plan without its merge), and the merge (engine::MergePartials), whose answer must be the
// query's.
template <typename Reducer>
void Compare(const char* shape, Reducer& baseline, dram::api::ShardReducer& reducer, const ShardPlan& plan,
             const std::vector<PartialResult>& partials, int rounds) {
  ShardPlan query_only = plan;
  query_only.merge.reset();
  std::string by_query, by_merge;
  const auto queried = Check(reducer.Reduce(query_only, partials, dram::engine::Format::kJson, by_query));
  const auto merged = Check(reducer.Reduce(plan, partials, dram::engine::Format::kJson, by_merge));
  if (queried.merged || !merged.merged || by_query != by_merge) {
    std::fprintf(stderr, "%s: the merge did not answer, or answered otherwise than the query\n", shape);
    std::exit(1);
  }
  const Figures before = Measure((std::string(shape) + " file+read_csv").c_str(), baseline, query_only, partials, rounds);
  const Figures query = Measure((std::string(shape) + " query").c_str(), reducer, query_only, partials, rounds);
  const Figures merge = Measure((std::string(shape) + " merge").c_str(), reducer, plan, partials, rounds);
  std::printf("%-22s p50 %.2fx  cpu %.2fx  (file+read_csv / query)\n", shape, before.p50 / query.p50, before.cpu / query.cpu);
  std::printf("%-22s p50 %.2fx  cpu %.2fx  (query / merge)\n", shape, query.p50 / merge.p50, query.cpu / merge.cpu);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 2000;
  auto database = Check(dram::engine::Database::Open("", {.read_only = false, .threads = 1}));
  auto connection = Check(database->Connect());
  if (auto status = connection->Execute("CREATE TABLE orders AS SELECT i AS id, i % 50 AS tenant, (i * 7919) % 100000 AS amount "
                                        "FROM range(200000) t(i)");
      !status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    return 1;
  }
  // What CompiledEndpoint::PlanShards gives for bench/distributed.sh's endpoints.
  auto partials_of = [&](const std::string& select, std::vector<std::string>& texts) {
    std::vector<PartialResult> partials;
    for (int shard = 0; shard < 4; ++shard) {
      dram::api::QueryPlan map{.sql = select + " FROM orders WHERE hash(id) % 4 = " + std::to_string(shard)};
      if (select.find("GROUP") == std::string::npos && select.find("__dram_g0") != std::string::npos) {
        map.sql += " GROUP BY tenant";
      }
      if (select.find("__dram_o0") != std::string::npos) map.sql += " ORDER BY amount DESC, id ASC LIMIT 100";
      PartialResult partial = Check(dram::api::RunMap(*connection, map));
      partial.shard = shard;
      partials.push_back(std::move(partial));
      auto again = Check(connection->Query(map.sql));
      texts.push_back(CsvWire::Text(CsvWire::Encode(again, shard)));
    }
    return partials;
  };
  ShardPlan group_by;
  group_by.reduce_sql =
      "SELECT \"__dram_g0\" AS \"tenant\", CAST(sum(\"__dram_p1\") AS HUGEINT) AS \"revenue\", "
      "CAST(sum(\"__dram_p2\") AS BIGINT) AS \"n\", CAST(sum(\"__dram_s3\") / sum(\"__dram_c3\") AS DOUBLE) AS \"mean\" "
      "FROM partials GROUP BY \"__dram_g0\" ORDER BY CAST(sum(\"__dram_p1\") AS HUGEINT) DESC LIMIT $1 OFFSET $2";
  group_by.reduce_values = {dram::Value(int64_t{10}), dram::Value(int64_t{0})};
  using Op = dram::engine::PartialMerge::Op;
  group_by.merge = dram::engine::PartialMerge{
      .grouped = true,
      .keys = {0},
      .outputs = {{.name = "tenant", .op = Op::kValue, .column = 0},
                  {.name = "revenue", .op = Op::kSum, .column = 1, .type = "HUGEINT"},
                  {.name = "n", .op = Op::kSum, .column = 2, .type = "BIGINT"},
                  {.name = "mean", .op = Op::kAvg, .column = 3, .count_column = 4, .type = "DOUBLE"}},
      .answered = 4,
      .order = {{.output = 1, .descending = true}},
      .limit = 10};
  ShardPlan group_by_query = group_by;  // for the wire format's comparison, which is of formats
  group_by_query.merge.reset();
  std::vector<std::string> grouped_texts, paged_texts;
  const auto grouped = partials_of(
      "SELECT tenant AS \"__dram_g0\", sum(amount) AS \"__dram_p1\", count(*) AS \"__dram_p2\", "
      "sum(amount) AS \"__dram_s3\", count(amount) AS \"__dram_c3\"",
      grouped_texts);
  ShardPlan page;
  page.reduce_sql = "SELECT \"id\", \"tenant\", \"amount\" FROM partials ORDER BY \"__dram_o0\" DESC, \"__dram_o1\" ASC "
                    "LIMIT $1 OFFSET $2";
  page.reduce_values = {dram::Value(int64_t{100}), dram::Value(int64_t{0})};
  page.merge = dram::engine::PartialMerge{
      .outputs = {{.name = "id", .column = 0}, {.name = "tenant", .column = 1}, {.name = "amount", .column = 2},
                  {.name = "o0", .column = 3}, {.name = "o1", .column = 4}},
      .answered = 3,
      .order = {{.output = 3, .descending = true}, {.output = 4}},
      .limit = 100};
  const auto paged = partials_of("SELECT id, tenant, amount, amount AS \"__dram_o0\", id AS \"__dram_o1\"", paged_texts);

  auto reducer = Check(dram::api::ShardReducer::Create(1));
  std::printf("reduce of 4 partials, %d rounds each, one thread\n", rounds);
  FileReducer grouped_baseline(grouped_texts), paged_baseline(paged_texts);
  Compare("group-by", grouped_baseline, *reducer, group_by, grouped, rounds);
  Compare("page", paged_baseline, *reducer, page, paged, rounds);

  // A member's pre-reduce of 2 shards, and what it saves on the wire and in the reduce.
  const std::string combine =
      "SELECT \"__dram_g0\", sum(\"__dram_p1\") AS \"__dram_p1\", sum(\"__dram_p2\") AS \"__dram_p2\", "
      "sum(\"__dram_s3\") AS \"__dram_s3\", sum(\"__dram_c3\") AS \"__dram_c3\" FROM partials GROUP BY \"__dram_g0\"";
  std::printf("\npre-reduce on a member holding 2 of 4 shards (group-by), %d rounds, one thread; ms p50\n", rounds);
  std::printf("%7s %10s %10s %9s %9s %9s %9s %9s %11s\n", "groups", "bytes 2", "bytes 1", "combine", "wire 2", "wire 1", "reduce 4",
              "reduce 3", "query of 4");
  for (const int groups : {50, 5000}) {
    const std::string select = "SELECT id % " + std::to_string(groups) +
                               " AS \"__dram_g0\", sum(amount) AS \"__dram_p1\", count(*) AS \"__dram_p2\", "
                               "sum(amount) AS \"__dram_s3\", count(amount) AS \"__dram_c3\"";
    std::vector<PartialResult> shards;
    for (int shard = 0; shard < 4; ++shard) {
      dram::api::QueryPlan map{.sql = select + " FROM orders WHERE hash(id) % 4 = " + std::to_string(shard) + " GROUP BY 1"};
      shards.push_back(Check(dram::api::RunMap(*connection, map)));
      shards.back().shard = shard;
    }
    auto p50 = [&](auto&& step) {
      std::vector<double> wall;
      for (int round = 0; round < rounds; ++round) {
        const auto start = std::chrono::steady_clock::now();
        step();
        wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      }
      std::sort(wall.begin(), wall.end());
      return wall[wall.size() / 2];
    };
    const std::vector<PartialResult> pair = {shards[0], shards[1]};
    PartialResult combined;
    const double combine_ms = p50([&] { combined = Check(reducer->Combine(combine, pair)); });
    // The member's reply as it goes on the wire, encoded and decoded.
    auto wire = [&](const std::vector<PartialResult>& sent, size_t& bytes) {
      const std::string text = dram::api::EncodeMapReply({}, sent);
      bytes = text.size();
      Check(dram::api::DecodeMapReply(text));
    };
    size_t bytes_two = 0, bytes_one = 0;
    const double wire_two = p50([&] { wire(pair, bytes_two); });
    const double wire_one = p50([&] { wire({combined}, bytes_one); });
    std::string body;
    const double reduce_four = p50([&] {
      body.clear();
      Check(reducer->Reduce(group_by, shards, dram::engine::Format::kJson, body));
    });
    const double query_four = p50([&] {
      body.clear();
      Check(reducer->Reduce(group_by_query, shards, dram::engine::Format::kJson, body));
    });
    const std::vector<PartialResult> three = {combined, shards[2], shards[3]};
    const double reduce_three = p50([&] {
      body.clear();
      Check(reducer->Reduce(group_by, three, dram::engine::Format::kJson, body));
    });
    std::printf("%7d %10zu %10zu %9.3f %9.3f %9.3f %9.3f %9.3f %11.3f   net %+.3f ms with the pre-reduce\n", groups, bytes_two,
                bytes_one, combine_ms, wire_two, wire_one, reduce_four, reduce_three, query_four,
                (combine_ms + wire_one + reduce_three) - (wire_two + reduce_four));
  }
  // The wire format of partials: exact CSV in JSON against the columnar binary payload.
  const int wire_rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1000;
  CheckOk(connection->Execute(
      "CREATE TYPE status AS ENUM ('new', 'paid', 'shipped', 'returned'); "
      "CREATE TABLE items AS SELECT i AS id, (i % 50)::INTEGER AS tenant, 'customer ' || (i * 7919 % 977) AS name, "
      "((i * 7919) % 100000 / 100.0)::DECIMAL(12, 2) AS amount, TIMESTAMP '2026-01-01' + INTERVAL (i * 37) SECOND AS created, "
      "DATE '2026-01-01' + (i % 365)::INTEGER AS day, i % 3 = 0 AS flag, (i * 7919 % 100003) / 7.0 AS score, "
      "CASE WHEN i % 11 = 0 THEN NULL ELSE (['new', 'paid', 'shipped', 'returned'])[i % 4 + 1]::status END AS status "
      "FROM range(200000) t(i)"));
  std::vector<WireShape> wire_shapes;
  for (const int groups : {50, 5000}) {
    WireShape shape{.name = "group-by " + std::to_string(groups), .plan = group_by_query};
    for (int shard = 0; shard < 4; ++shard) {
      const std::string table = "wire_g" + std::to_string(groups) + "_" + std::to_string(shard);
      CheckOk(connection->Execute("CREATE TABLE " + table + " AS SELECT id % " + std::to_string(groups) +
                                  " AS \"__dram_g0\", sum(amount) AS \"__dram_p1\", count(*) AS \"__dram_p2\", "
                                  "sum(amount) AS \"__dram_s3\", count(amount) AS \"__dram_c3\" FROM orders WHERE hash(id) % 4 = " +
                                  std::to_string(shard) + " GROUP BY 1"));
      shape.tables.push_back(table);
    }
    wire_shapes.push_back(std::move(shape));
  }
  for (const int limit : {100, 2000}) {
    WireShape shape{.name = "page " + std::to_string(limit) + " mixed"};
    shape.plan.reduce_sql = "SELECT id, tenant, name, amount, created, day, flag, score, status FROM partials "
                            "ORDER BY \"__dram_o0\" DESC, \"__dram_o1\" ASC LIMIT $1 OFFSET $2";
    shape.plan.reduce_values = {dram::Value(int64_t{limit}), dram::Value(int64_t{0})};
    for (int shard = 0; shard < 4; ++shard) {
      const std::string table = "wire_p" + std::to_string(limit) + "_" + std::to_string(shard);
      CheckOk(connection->Execute("CREATE TABLE " + table + " AS SELECT *, amount AS \"__dram_o0\", id AS \"__dram_o1\" "
                                  "FROM items WHERE hash(id) % 4 = " + std::to_string(shard) +
                                  " ORDER BY amount DESC, id ASC LIMIT " + std::to_string(limit)));
      shape.tables.push_back(table);
    }
    wire_shapes.push_back(std::move(shape));
  }
  std::printf("\nwire format of partials: exact CSV in JSON (until 2026-12-03) vs columnar (api::EncodeMapReply, now); "
              "%d rounds, one thread, CPU ms\n", wire_rounds);
  std::printf("%-18s %6s %10s %10s %10s %7s %8s %8s %7s %8s %8s %7s\n", "shape (4 partials)", "rows", "B csv+json",
              "B columnar", "B unnarrow", "ratio", "enc csv", "enc col", "ratio", "red csv", "red col", "ratio");
  std::printf("%-18s %6s %10s %10s %10s %7s %8s %8s %7s %8s %8s %7s\n", "", "/part", "/partial", "/partial", "/partial", "",
              "/partial", "/partial", "", "/reduce", "/reduce", "");
  for (const auto& shape : wire_shapes) CompareWire(*connection, *reducer, shape, wire_rounds);
  return 0;
}
