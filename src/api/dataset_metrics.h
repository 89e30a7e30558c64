#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "database/dataset_manager.h"

namespace dram::api {

// Appends the per-dataset families of /metrics in Prometheus text format: pool connections,
// loads by result, readiness, rows, and the health an alert needs to see without reading logs:
// whether the last load or refresh failed (dram_dataset_load_failing), when one last succeeded
// (dram_dataset_last_success_timestamp_seconds), how old the serving data is
// (dram_dataset_data_age_seconds) and whether that is past max_age (dram_dataset_stale).
// `now` is the time ages are computed at.
void AppendDatasetMetrics(const std::vector<database::DatasetStatus>& statuses,
                          std::chrono::system_clock::time_point now, std::string& out);

}  // namespace dram::api
