// The coordinator's reduce step alone (issue 16, "coordinator overhead ≤ 2 ms p50"): the partial
// results of 4 shards, reduced by api::ShardReducer as a coordinator or the smart client does,
// for the two shapes bench/distributed.sh asks: a group-by (50 groups per shard, sum, count, avg,
// ordered, top 10) and a page (the top 100 rows of each shard by a column, merged). Prints wall
// and CPU milliseconds per reduce (p50, mean) so runs on different CPUs compare, beside the
// baseline: what the reducer did before (the partials written to one file, read by read_csv with
// the columns typed, the statement prepared anew each time since the file name is in it).
// Then what a member's pre-reduce (ShardPlan::combine_sql) costs and saves, for a member holding
// 2 of the 4 shards: its combine, the bytes and JSON encode/decode of one partial instead of
// two, and the coordinator's reduce of 3 partials instead of 4; for 50 and 5,000 groups a shard.
//
// Usage: reduce_bench [ROUNDS]   (default 2000)
#include <sys/resource.h>
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

// The baseline reduce: a file per reduce and read_csv, on a DuckDB of the same settings.
class FileReducer {
 public:
  FileReducer() : database_(Check(dram::engine::Database::Open("", {.read_only = false, .threads = 1}))),
                  connection_(Check(database_->Connect())) {}
  dram::Result<dram::api::Reduced> Reduce(const ShardPlan& plan, const std::vector<PartialResult>& partials,
                                          dram::engine::Format format, std::string& body) {
    const std::string file = dir_ + "/r" + std::to_string(sequence_++) + ".csv";
    {
      std::ofstream out(file, std::ios::binary);
      const size_t header = dram::engine::CsvHeaderLength(partials.front().csv);
      for (size_t i = 0; i < partials.size(); ++i) out << partials[i].csv.substr(i == 0 ? 0 : header);
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
  std::unique_ptr<dram::engine::Database> database_;
  std::unique_ptr<dram::engine::Connection> connection_;
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

template <typename Reducer>
void Compare(const char* shape, Reducer& baseline, dram::api::ShardReducer& reducer, const ShardPlan& plan,
             const std::vector<PartialResult>& partials, int rounds) {
  const Figures before = Measure((std::string(shape) + " file+read_csv").c_str(), baseline, plan, partials, rounds);
  const Figures after = Measure((std::string(shape) + " dram").c_str(), reducer, plan, partials, rounds);
  std::printf("%-22s p50 %.2fx  cpu %.2fx  (baseline / dram)\n", shape, before.p50 / after.p50, before.cpu / after.cpu);
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
  auto partials_of = [&](const std::string& select) {
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
    }
    return partials;
  };
  ShardPlan group_by;
  group_by.reduce_sql =
      "SELECT \"__dram_g0\" AS \"tenant\", CAST(sum(\"__dram_p1\") AS HUGEINT) AS \"revenue\", "
      "CAST(sum(\"__dram_p2\") AS BIGINT) AS \"n\", CAST(sum(\"__dram_s3\") / sum(\"__dram_c3\") AS DOUBLE) AS \"mean\" "
      "FROM partials GROUP BY \"__dram_g0\" ORDER BY CAST(sum(\"__dram_p1\") AS HUGEINT) DESC LIMIT $1 OFFSET $2";
  group_by.reduce_values = {dram::Value(int64_t{10}), dram::Value(int64_t{0})};
  const auto grouped = partials_of(
      "SELECT tenant AS \"__dram_g0\", sum(amount) AS \"__dram_p1\", count(*) AS \"__dram_p2\", "
      "sum(amount) AS \"__dram_s3\", count(amount) AS \"__dram_c3\"");
  ShardPlan page;
  page.reduce_sql = "SELECT \"id\", \"tenant\", \"amount\" FROM partials ORDER BY \"__dram_o0\" DESC, \"__dram_o1\" ASC "
                    "LIMIT $1 OFFSET $2";
  page.reduce_values = {dram::Value(int64_t{100}), dram::Value(int64_t{0})};
  const auto paged = partials_of("SELECT id, tenant, amount, amount AS \"__dram_o0\", id AS \"__dram_o1\"");

  auto reducer = Check(dram::api::ShardReducer::Create(1));
  std::printf("reduce of 4 partials, %d rounds each, one thread\n", rounds);
  FileReducer baseline;
  Compare("group-by", baseline, *reducer, group_by, grouped, rounds);
  Compare("page", baseline, *reducer, page, paged, rounds);

  // A member's pre-reduce of 2 shards, and what it saves on the wire and in the reduce.
  const std::string combine =
      "SELECT \"__dram_g0\", sum(\"__dram_p1\") AS \"__dram_p1\", sum(\"__dram_p2\") AS \"__dram_p2\", "
      "sum(\"__dram_s3\") AS \"__dram_s3\", sum(\"__dram_c3\") AS \"__dram_c3\" FROM partials GROUP BY \"__dram_g0\"";
  std::printf("\npre-reduce on a member holding 2 of 4 shards (group-by), %d rounds, one thread; ms p50\n", rounds);
  std::printf("%7s %10s %10s %9s %9s %9s %9s %9s\n", "groups", "bytes 2", "bytes 1", "combine", "wire 2", "wire 1", "reduce 4",
              "reduce 3");
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
    // The member's reply as it goes on the wire, encoded and decoded (JSON around exact CSV).
    auto wire = [&](const std::vector<PartialResult>& sent, size_t& bytes) {
      boost::json::array items;
      for (const auto& partial : sent) items.push_back(dram::api::EncodePartial(partial));
      const std::string text = boost::json::serialize(boost::json::object{{"partials", std::move(items)}});
      bytes = text.size();
      const boost::json::value parsed = boost::json::parse(text);
      for (const auto& item : parsed.at("partials").as_array()) Check(dram::api::DecodePartial(item));
    };
    size_t bytes_two = 0, bytes_one = 0;
    const double wire_two = p50([&] { wire(pair, bytes_two); });
    const double wire_one = p50([&] { wire({combined}, bytes_one); });
    std::string body;
    const double reduce_four = p50([&] {
      body.clear();
      Check(reducer->Reduce(group_by, shards, dram::engine::Format::kJson, body));
    });
    const std::vector<PartialResult> three = {combined, shards[2], shards[3]};
    const double reduce_three = p50([&] {
      body.clear();
      Check(reducer->Reduce(group_by, three, dram::engine::Format::kJson, body));
    });
    std::printf("%7d %10zu %10zu %9.3f %9.3f %9.3f %9.3f %9.3f   net %+.3f ms with the pre-reduce\n", groups, bytes_two, bytes_one,
                combine_ms, wire_two, wire_one, reduce_four, reduce_three,
                (combine_ms + wire_one + reduce_three) - (wire_two + reduce_four));
  }
  return 0;
}
