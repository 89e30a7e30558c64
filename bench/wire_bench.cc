// Partial results between members (issue 16, "wire format chosen by measurement against JSON"):
// the format dram sends — each partial's rows in the columnar binary format after a small JSON
// envelope (api::EncodeMapReply), read back typed by api::ShardReducer — against JSON rows read
// back by read_json with the column types, and against what dram sent before (the rows as exact
// CSV inside the JSON answer, read by read_csv with the sent types). For a group-by sized partial
// and a page sized one, over every scalar type served: bytes on the wire, and CPU per partial to
// encode (the map side: result → answer) and to decode (the reduce side: answer → a DuckDB query
// over the rows). Prints a table and the ratios to the columnar format.
//
// Usage: wire_bench [ROWS...]   (default 100 10000; 20 rounds each)
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "api/shard_reduce.h"
#include "api/shard_wire.h"
#include "common/sql_text.h"
#include "engine/connection.h"
#include "engine/database.h"
#include "engine/result_encoder.h"

namespace {

namespace json = boost::json;
using dram::engine::Format;

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void Check(const dram::Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    std::exit(1);
  }
}

// The columns as read_csv/read_json take them: {'name': 'TYPE', …}.
const char* kColumns =
    "{'id': 'BIGINT', 'tenant': 'VARCHAR', 'day': 'DATE', 'at': 'TIMESTAMP', 'qty': 'INTEGER', "
    "'price': 'DECIMAL(12,2)', 'score': 'DOUBLE', 'flag': 'BOOLEAN'}";

struct Figures {
  double bytes = 0, encode_ms = 0, decode_ms = 0;
};

Figures Measure(dram::engine::Connection& connection, int64_t rows, Format format, const std::string& file, int rounds) {
  Figures out;
  const std::string select = "SELECT * FROM t LIMIT " + std::to_string(rows);
  for (int round = 0; round < rounds; ++round) {
    double start = Now();
    auto result = connection.Query(select, {});
    Check(result.status());
    std::string text;
    Check(dram::engine::EncodeResult(*result, format, text).status());
    std::string answer = json::serialize(json::object{{"partials", json::array{json::object{{"shard", 0}, {"rows", text}}}}});
    double encoded = Now();
    json::value parsed = json::parse(answer);
    const json::string& body = parsed.at("partials").at(0).at("rows").as_string();
    {
      std::ofstream written(file, std::ios::binary);
      written.write(body.data(), static_cast<std::streamsize>(body.size()));
    }
    const std::string source =
        format == Format::kCsvExact
            ? "read_csv(" + dram::common::QuoteLiteral(file) + ", header = true, auto_detect = false, columns = " + kColumns +
                  ", allow_quoted_nulls = false, delim = ',', quote = '\"', escape = '\"', new_line = '\\r\\n')"
            : "read_json(" + dram::common::QuoteLiteral(file) + ", format = 'array', columns = " + kColumns + ")";
    auto read = connection.Query("SELECT count(*), sum(qty), count(tenant), max(\"at\") FROM " + source, {});
    Check(read.status());
    std::string check;
    Check(dram::engine::EncodeResult(*read, Format::kCsv, check).status());
    double decoded = Now();
    out.bytes += static_cast<double>(answer.size());
    out.encode_ms += (encoded - start) * 1000;
    out.decode_ms += (decoded - encoded) * 1000;
  }
  out.bytes /= rounds;
  out.encode_ms /= rounds;
  out.decode_ms /= rounds;
  return out;
}

// The columnar path as members and coordinators run it.
Figures MeasureColumnar(dram::engine::Connection& connection, dram::api::ShardReducer& reducer, int64_t rows, int rounds) {
  Figures out;
  const std::string select = "SELECT * FROM t LIMIT " + std::to_string(rows);
  dram::api::ShardPlan plan;
  plan.reduce_sql = "SELECT count(*), sum(qty), count(tenant), max(\"at\") FROM partials";
  for (int round = 0; round < rounds; ++round) {
    double start = Now();
    auto result = connection.Query(select, {});
    Check(result.status());
    auto partial = dram::api::PartialOf(*result);
    Check(partial.status());
    const std::string answer = dram::api::EncodeMapReply(json::object{{"missing", json::array{}}}, {*partial});
    double encoded = Now();
    auto read = dram::api::DecodeMapReply(answer);
    Check(read.status());
    std::string check;
    Check(reducer.Reduce(plan, read->partials, Format::kCsv, check).status());
    double decoded = Now();
    out.bytes += static_cast<double>(answer.size());
    out.encode_ms += (encoded - start) * 1000;
    out.decode_ms += (decoded - encoded) * 1000;
  }
  out.bytes /= rounds;
  out.encode_ms /= rounds;
  out.decode_ms /= rounds;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoll(argv[i]));
  if (sizes.empty()) sizes = {100, 10000};
  auto database = dram::engine::Database::Open("", {.read_only = false, .threads = 1});
  Check(database.status());
  auto connection = (*database)->Connect();
  Check(connection.status());
  // Values that differ in the last digit, empty strings and NULLs, every scalar type a partial carries.
  Check((*connection)->Execute(
      "CREATE TABLE t AS SELECT i AS id, CASE WHEN i % 11 = 0 THEN NULL WHEN i % 13 = 0 THEN '' ELSE 'tenant \"' || (i % 50) END AS tenant, "
      "DATE '2024-01-01' + (i % 400)::INTEGER AS day, TIMESTAMP '2024-01-01' + INTERVAL (i * 7919 % 10000000) SECOND AS at, "
      "(hash(i) % 1000)::INTEGER AS qty, ((hash(i, 2) % 10000000) / 100)::DECIMAL(12,2) AS price, "
      "0.1 + i * 1e-17 + (hash(i, 3) % 1000) / 7.0 AS score, i % 3 = 0 AS flag FROM range(" +
      std::to_string(*std::max_element(sizes.begin(), sizes.end())) + ") r(i)"));
  const std::string file = (std::filesystem::temp_directory_path() / ("dram-wire-bench-" + std::to_string(::getpid()))).string();
  std::printf("%8s  %-26s %12s %11s %11s\n", "rows", "format", "bytes", "encode ms", "decode ms");
  auto reducer = dram::api::ShardReducer::Create(1);
  Check(reducer.status());
  for (int64_t rows : sizes) {
    // A round of each first, so that none pays for warming up the table's pages or the statements.
    MeasureColumnar(**connection, **reducer, rows, 1);
    Measure(**connection, rows, Format::kJson, file, 1);
    Measure(**connection, rows, Format::kCsvExact, file, 1);
    Figures columnar = MeasureColumnar(**connection, **reducer, rows, 20);
    Figures js = Measure(**connection, rows, Format::kJson, file, 20);
    Figures csv = Measure(**connection, rows, Format::kCsvExact, file, 20);
    auto line = [&](const char* name, const Figures& f) {
      std::printf("%8lld  %-26s %12.0f %11.3f %11.3f\n", static_cast<long long>(rows), name, f.bytes, f.encode_ms, f.decode_ms);
    };
    auto ratio = [&](const char* name, const Figures& f) {
      std::printf("%8lld  %-26s %12.2f %11.2f %11.2f\n", static_cast<long long>(rows), name, f.bytes / columnar.bytes,
                  f.encode_ms / columnar.encode_ms, f.decode_ms / columnar.decode_ms);
    };
    line("columnar (dram)", columnar);
    line("JSON rows", js);
    line("exact CSV in JSON (before)", csv);
    ratio("ratio JSON / columnar", js);
    ratio("ratio CSV / columnar", csv);
  }
  std::filesystem::remove(file);
  return 0;
}
