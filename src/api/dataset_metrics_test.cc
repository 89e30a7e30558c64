#include "api/dataset_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace dram::api {
namespace {

bool Contains(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(DatasetMetricsTest, LoadFailingAndLastSuccessFollowTheStatus) {
  database::DatasetStatus status;
  status.name = "shop";
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  std::string never;
  AppendDatasetMetrics({status}, now, never);
  EXPECT_TRUE(Contains(never, "dram_dataset_load_failing{dataset=\"shop\"} 0")) << never;
  EXPECT_TRUE(Contains(never, "dram_dataset_last_success_timestamp_seconds{dataset=\"shop\"} 0")) << never;
  EXPECT_TRUE(Contains(never, "dram_dataset_ready{dataset=\"shop\"} 0")) << never;

  status.last_success = now - std::chrono::seconds(90);
  status.last_error = "listing failed";
  status.loads_failed = 3;
  std::string failing;
  AppendDatasetMetrics({status}, now, failing);
  EXPECT_TRUE(Contains(failing, "dram_dataset_load_failing{dataset=\"shop\"} 1")) << failing;
  EXPECT_TRUE(Contains(failing, "dram_dataset_last_success_timestamp_seconds{dataset=\"shop\"} 1699999910")) << failing;
  EXPECT_TRUE(Contains(failing, "dram_dataset_loads_total{dataset=\"shop\",result=\"error\"} 3")) << failing;
}

}  // namespace
}  // namespace dram::api
