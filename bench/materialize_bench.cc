// Times dram's materialization of a directory of Parquet files (the DatasetManager path: list,
// fingerprint, CREATE TABLE … AS SELECT into a new DuckDB file with 16K-row row groups, count and
// describe, open for serving) against plain DuckDB `CREATE TABLE t AS SELECT * FROM
// read_parquet(…)` into a file. Used by bench/store.sh.
//   materialize_bench PARQUET_DIR WORK_DIR [ROW_GROUP_SIZE]
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/sql_text.h"
#include "database/dataset_manager.h"
#include "engine/database.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 3) return std::fputs("usage: materialize_bench PARQUET_DIR WORK_DIR\n", stderr), 2;
  const std::string source = fs::absolute(argv[1]).string();
  const fs::path work = fs::absolute(argv[2]);
  fs::remove_all(work);
  fs::create_directories(work);

  auto start = std::chrono::steady_clock::now();
  {
    auto database = dram::engine::Database::Open((work / "plain.duckdb").string(), {.read_only = false, .threads = 2});
    if (!database.ok()) return std::fprintf(stderr, "%s\n", database.status().ToString().c_str()), 1;
    auto connection = (*database)->Connect();
    dram::Status status = (*connection)->Execute("CREATE TABLE t AS SELECT * FROM read_parquet(" +
                                                 dram::common::QuoteLiteral(source + "/**/*.parquet") + ")");
    if (status.ok()) status = (*connection)->Execute("CHECKPOINT");
    if (!status.ok()) return std::fprintf(stderr, "plain: %s\n", status.ToString().c_str()), 1;
  }
  double plain = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  dram::database::ManagerOptions options;
  options.cache_dir = (work / "cache").string();
  options.engine.threads = 2;
  options.pool_size = 1;
  dram::database::DatasetSpec spec{.name = "bench", .source = source, .tables = {}};
  if (argc > 3) spec.row_group_size = std::atoll(argv[3]);
  start = std::chrono::steady_clock::now();
  {
    dram::database::DatasetManager manager(options, {spec}, nullptr, nullptr);
    dram::Status status = manager.LoadAll();
    if (!status.ok()) return std::fprintf(stderr, "dram: %s\n", status.ToString().c_str()), 1;
  }
  double dram_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("plain_ctas_s=%.3f dram_s=%.3f ratio=%.2f\n", plain, dram_seconds, plain / dram_seconds);
  return 0;
}
