// dram-sql: runs SQL files against DuckDB (through the engine module). Used by the scripts that
// generate demo and test data, so they need nothing but this project's own build.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/database.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: dram-sql [--db FILE] SCRIPT.sql...\n  runs each script in DuckDB (in memory unless --db)\n", stderr);
    return 2;
  }
  int first = 1;
  std::string path;
  if (std::string(argv[1]) == "--db" && argc > 3) {
    path = argv[2];
    first = 3;
  }
  auto database = dram::engine::Database::Open(path, {.read_only = false});
  if (!database.ok()) return std::fprintf(stderr, "dram-sql: %s\n", database.status().ToString().c_str()), 1;
  auto connection = (*database)->Connect();
  if (!connection.ok()) return std::fprintf(stderr, "dram-sql: %s\n", connection.status().ToString().c_str()), 1;
  for (int i = first; i < argc; ++i) {
    std::ifstream in(argv[i]);
    if (!in) return std::fprintf(stderr, "dram-sql: cannot read %s\n", argv[i]), 1;
    std::stringstream text;
    text << in.rdbuf();
    dram::Status status = (*connection)->Execute(text.str());
    if (!status.ok()) return std::fprintf(stderr, "dram-sql: %s: %s\n", argv[i], status.ToString().c_str()), 1;
  }
  return 0;
}
