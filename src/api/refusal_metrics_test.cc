#include "api/refusal_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace dram::api {
namespace {

bool Contains(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(RefusalMetricsTest, EveryReasonIsListedBeforeTheFirstRefusal) {
  RefusalMetrics metrics;
  std::string out;
  metrics.Render(out);
  for (const char* reason : {"key_rate_limit", "tenant_rate_limit", "in_flight", "tenant_in_flight", "queue_timeout"}) {
    EXPECT_TRUE(Contains(out, std::string("dram_refusals_total{reason=\"") + reason + "\"} 0")) << out;
  }
  EXPECT_TRUE(Contains(out, "dram_tenant_refusals_total{tenant=\"_none\"} 0")) << out;
}

TEST(RefusalMetricsTest, CountsByReasonAndTenant) {
  RefusalMetrics metrics;
  metrics.Record(RefusalReason::kTenantInFlight, "acme");
  metrics.Record(RefusalReason::kTenantInFlight, "acme");
  metrics.Record(RefusalReason::kKeyRateLimit, "");
  std::string out;
  metrics.Render(out);
  EXPECT_TRUE(Contains(out, "dram_refusals_total{reason=\"tenant_in_flight\"} 2")) << out;
  EXPECT_TRUE(Contains(out, "dram_refusals_total{reason=\"key_rate_limit\"} 1")) << out;
  EXPECT_TRUE(Contains(out, "dram_tenant_refusals_total{tenant=\"acme\"} 2")) << out;
  EXPECT_TRUE(Contains(out, "dram_tenant_refusals_total{tenant=\"_none\"} 1")) << out;
}

TEST(RefusalMetricsTest, TenantsPastTheCapShareOneLabelAndNamesAreEscaped) {
  RefusalMetrics metrics;
  for (size_t i = 0; i < RefusalMetrics::kMaxTenants; ++i) metrics.Record(RefusalReason::kInFlight, "t" + std::to_string(i));
  metrics.Record(RefusalReason::kInFlight, "late-1");
  metrics.Record(RefusalReason::kInFlight, "late-2");
  metrics.Record(RefusalReason::kInFlight, "t0");  // a tenant seen before the cap keeps its label
  std::string out;
  metrics.Render(out);
  EXPECT_TRUE(Contains(out, "dram_tenant_refusals_total{tenant=\"_other\"} 2")) << out;
  EXPECT_TRUE(Contains(out, "dram_tenant_refusals_total{tenant=\"t0\"} 2")) << out;
  EXPECT_EQ(out.find("late-1"), std::string::npos);
  EXPECT_EQ(metrics.CountForTesting(RefusalReason::kInFlight), RefusalMetrics::kMaxTenants + 3);

  RefusalMetrics quoted;
  quoted.Record(RefusalReason::kInFlight, "a\"b\\c");
  std::string escaped;
  quoted.Render(escaped);
  EXPECT_TRUE(Contains(escaped, "dram_tenant_refusals_total{tenant=\"a\\\"b\\\\c\"} 1")) << escaped;
}

}  // namespace
}  // namespace dram::api
