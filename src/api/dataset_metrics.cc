#include "api/dataset_metrics.h"

#include "api/response_meta.h"

namespace dram::api {

namespace {

void Family(std::string& out, const char* name, const char* help, const char* type) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void Sample(std::string& out, const char* name, const std::string& dataset, const std::string& value) {
  out += std::string(name) + "{dataset=\"" + dataset + "\"} " + value + "\n";
}

int64_t UnixSeconds(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

}  // namespace

void AppendDatasetMetrics(const std::vector<database::DatasetStatus>& statuses,
                          std::chrono::system_clock::time_point now, std::string& out) {
  Family(out, "dram_pool_connections_in_use", "Pooled DuckDB connections lent out, per dataset.", "gauge");
  for (const auto& s : statuses) {
    if (s.current) Sample(out, "dram_pool_connections_in_use", s.name, std::to_string(s.current->pool().in_use()));
  }
  Family(out, "dram_pool_connections", "Pooled DuckDB connections, per dataset.", "gauge");
  for (const auto& s : statuses) {
    if (s.current) Sample(out, "dram_pool_connections", s.name, std::to_string(s.current->pool().size()));
  }
  Family(out, "dram_dataset_loads_total", "Dataset snapshot builds by result.", "counter");
  for (const auto& s : statuses) {
    out += "dram_dataset_loads_total{dataset=\"" + s.name + "\",result=\"ok\"} " + std::to_string(s.loads_ok) + "\n";
    out += "dram_dataset_loads_total{dataset=\"" + s.name + "\",result=\"error\"} " + std::to_string(s.loads_failed) + "\n";
  }
  Family(out, "dram_dataset_ready", "1 when the dataset has a snapshot serving or is cold (loaded by its next request).", "gauge");
  for (const auto& s : statuses) Sample(out, "dram_dataset_ready", s.name, s.current || s.cold ? "1" : "0");
  Family(out, "dram_dataset_cold", "1 when the dataset was evicted for being idle past its idle_evict.", "gauge");
  for (const auto& s : statuses) Sample(out, "dram_dataset_cold", s.name, s.cold ? "1" : "0");
  Family(out, "dram_dataset_rows", "Rows in the serving snapshot, per dataset.", "gauge");
  for (const auto& s : statuses) {
    int64_t rows = 0;
    if (s.current) {
      for (const auto& t : s.current->tables()) rows += t.rows;
    }
    Sample(out, "dram_dataset_rows", s.name, std::to_string(rows));
  }
  // last_error is cleared by the next success, so this is 1 exactly while loads keep failing (the
  // previous snapshot, if any, still serves).
  Family(out, "dram_dataset_load_failing", "1 while the last load or refresh of the dataset failed.", "gauge");
  for (const auto& s : statuses) Sample(out, "dram_dataset_load_failing", s.name, s.last_error.empty() ? "0" : "1");
  Family(out, "dram_dataset_last_success_timestamp_seconds",
         "Unix time of the last successful load or refresh check of the dataset; 0: none yet.", "gauge");
  for (const auto& s : statuses) {
    const bool never = s.last_success == std::chrono::system_clock::time_point{};
    Sample(out, "dram_dataset_last_success_timestamp_seconds", s.name, never ? "0" : std::to_string(UnixSeconds(s.last_success)));
  }
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  Family(out, "dram_dataset_data_age_seconds",
         "Age of the serving snapshot's data by its newest source file (meta.freshness.age_seconds).", "gauge");
  for (const auto& s : statuses) {
    if (s.current) Sample(out, "dram_dataset_data_age_seconds", s.name, std::to_string(FreshnessOf(*s.current, s.max_age_ms, now_ms).age_seconds));
  }
  Family(out, "dram_dataset_stale", "1 when the serving data is older than the dataset's max_age (meta.freshness.stale).", "gauge");
  for (const auto& s : statuses) {
    if (s.current) Sample(out, "dram_dataset_stale", s.name, FreshnessOf(*s.current, s.max_age_ms, now_ms).stale ? "1" : "0");
  }
}

}  // namespace dram::api
