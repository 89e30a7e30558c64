// raw_duckdb_loop: the "no server at all" baseline for bench/run.sh.
//
// Usage: raw_duckdb_loop DBFILE THREADS SECONDS SQL [PARAM...]
//
// Opens DBFILE read-only through the DuckDB C API (threads=THREADS), opens THREADS connections and,
// on one std::thread per connection, prepares SQL once and then executes it in a tight loop for
// SECONDS seconds, binding every PARAM as VARCHAR (parameter i+1 = PARAM i) and fetching every chunk
// of every result. Each thread runs the query once untimed before the clock starts (warm-up).
// Prints one line:
//   raw_loop qps=<float> p50_ms=<float> p99_ms=<float> queries=<n>
// Errors go to stderr with exit status 1. SECONDS=0 only opens, prepares and warms up (a probe that
// the file can be opened).
//
// Build (bench/run.sh does this):
//   g++ -O2 -std=c++20 bench/raw_duckdb_loop.cc -I third_party/duckdb/include
//       -L third_party/duckdb/lib -lduckdb -Wl,-rpath,$PWD/third_party/duckdb/lib -pthread
//       -o build/bench/raw_duckdb_loop
#include <duckdb.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "raw_duckdb_loop: %s\n", msg.c_str());
  std::exit(1);
}

struct Worker {
  duckdb_connection conn = nullptr;
  duckdb_prepared_statement stmt = nullptr;
  std::vector<float> latencies_ms;  // one entry per timed query
  unsigned long long rows = 0;      // rows fetched, so the fetch loop has an observable effect
  std::string error;                // first error, if any
};

// Binds the parameters, executes, fetches all chunks. Returns false (and fills w.error) on failure.
bool run_once(Worker& w, const std::vector<std::string>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    if (duckdb_bind_varchar(w.stmt, i + 1, params[i].c_str()) != DuckDBSuccess) {
      const char* e = duckdb_prepare_error(w.stmt);
      w.error = "bind of parameter " + std::to_string(i + 1) + " failed: " + (e ? e : "?");
      return false;
    }
  }
  duckdb_result result;
  if (duckdb_execute_prepared(w.stmt, &result) != DuckDBSuccess) {
    const char* e = duckdb_result_error(&result);
    w.error = std::string("execute failed: ") + (e ? e : "?");
    duckdb_destroy_result(&result);
    return false;
  }
  for (;;) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(result);
    if (!chunk) break;
    w.rows += duckdb_data_chunk_get_size(chunk);
    duckdb_destroy_data_chunk(&chunk);
  }
  duckdb_destroy_result(&result);
  return true;
}

double percentile(std::vector<float>& v, double p) {
  if (v.empty()) return 0.0;
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s DBFILE THREADS SECONDS SQL [PARAM...]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const int threads = std::atoi(argv[2]);
  const double seconds = std::atof(argv[3]);
  const std::string sql = argv[4];
  const std::vector<std::string> params(argv + 5, argv + argc);
  if (threads < 1 || threads > 256) die("THREADS must be in 1..256");
  if (seconds < 0) die("SECONDS must be >= 0");

  duckdb_config config;
  if (duckdb_create_config(&config) != DuckDBSuccess) die("duckdb_create_config failed");
  const std::string threads_str = std::to_string(threads);
  if (duckdb_set_config(config, "access_mode", "READ_ONLY") != DuckDBSuccess ||
      duckdb_set_config(config, "threads", threads_str.c_str()) != DuckDBSuccess) {
    die("duckdb_set_config failed");
  }
  duckdb_database db;
  char* open_error = nullptr;
  if (duckdb_open_ext(path.c_str(), &db, config, &open_error) != DuckDBSuccess) {
    std::string msg = "cannot open " + path + ": " + (open_error ? open_error : "?");
    if (open_error) duckdb_free(open_error);
    duckdb_destroy_config(&config);
    die(msg);
  }
  duckdb_destroy_config(&config);

  std::vector<Worker> workers(static_cast<size_t>(threads));
  for (auto& w : workers) {
    if (duckdb_connect(db, &w.conn) != DuckDBSuccess) die("duckdb_connect failed");
    if (duckdb_prepare(w.conn, sql.c_str(), &w.stmt) != DuckDBSuccess) {
      const char* e = duckdb_prepare_error(w.stmt);
      die(std::string("prepare failed: ") + (e ? e : "?"));
    }
    const idx_t nparams = duckdb_nparams(w.stmt);
    if (nparams != params.size()) {
      die("SQL has " + std::to_string(nparams) + " parameter(s) but " + std::to_string(params.size()) +
          " PARAM(s) were given");
    }
    // Capacity guess so that the loop rarely reallocates (grows as needed).
    w.latencies_ms.reserve(static_cast<size_t>(std::min(seconds, 120.0) * 20000.0));
  }

  // Warm-up: one untimed execution per connection (also validates the query before timing).
  for (auto& w : workers) {
    if (!run_once(w, params)) die(w.error);
    w.rows = 0;
  }

  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point start, deadline;
  std::vector<std::thread> pool;
  pool.reserve(workers.size());
  for (auto& w : workers) {
    pool.emplace_back([&, wp = &w] {
      Worker& me = *wp;
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      const Clock::time_point end = deadline;
      for (;;) {
        const Clock::time_point t0 = Clock::now();
        if (t0 >= end) break;
        if (!run_once(me, params)) break;
        const Clock::time_point t1 = Clock::now();
        me.latencies_ms.push_back(std::chrono::duration<float, std::milli>(t1 - t0).count());
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  start = Clock::now();
  deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  go.store(true, std::memory_order_release);
  for (auto& t : pool) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<float> all;
  unsigned long long rows = 0;
  for (auto& w : workers) {
    if (!w.error.empty()) die(w.error);
    all.insert(all.end(), w.latencies_ms.begin(), w.latencies_ms.end());
    rows += w.rows;
  }
  const unsigned long long queries = all.size();
  const double qps = elapsed > 0 ? static_cast<double>(queries) / elapsed : 0.0;
  const double p50 = percentile(all, 0.50);
  const double p99 = percentile(all, 0.99);

  for (auto& w : workers) {
    duckdb_destroy_prepare(&w.stmt);
    duckdb_disconnect(&w.conn);
  }
  duckdb_close(&db);

  std::fprintf(stderr, "raw_duckdb_loop: %d thread(s), %.2f s, %llu rows fetched in total\n", threads, elapsed,
               rows);
  std::printf("raw_loop qps=%.1f p50_ms=%.3f p99_ms=%.3f queries=%llu\n", qps, p50, p99, queries);
  return 0;
}
