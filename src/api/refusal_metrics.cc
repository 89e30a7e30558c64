#include "api/refusal_metrics.h"

namespace dram::api {

namespace {

constexpr std::array<const char*, 5> kReasonLabels = {"key_rate_limit", "tenant_rate_limit", "in_flight",
                                                      "tenant_in_flight", "queue_timeout"};

}  // namespace

void RefusalMetrics::Record(RefusalReason reason, const std::string& tenant) {
  by_reason_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  common::MutexLock lock(mu_);
  std::string label = tenant.empty() ? "_none" : tenant;
  if (!by_tenant_.contains(label) && by_tenant_.size() >= kMaxTenants) label = "_other";
  ++by_tenant_[label];
}

void RefusalMetrics::Render(std::string& out) const {
  out += "# HELP dram_refusals_total API requests refused before running (rate limits, admission, queue), by reason.\n";
  out += "# TYPE dram_refusals_total counter\n";
  for (size_t i = 0; i < kReasons; ++i) {
    out += std::string("dram_refusals_total{reason=\"") + kReasonLabels[i] + "\"} " +
           std::to_string(by_reason_[i].load(std::memory_order_relaxed)) + "\n";
  }
  out += "# HELP dram_tenant_refusals_total API requests refused before running, by tenant (_none: no tenant; "
         "_other: past the first " + std::to_string(kMaxTenants) + " tenants).\n";
  out += "# TYPE dram_tenant_refusals_total counter\n";
  common::MutexLock lock(mu_);
  // Always a _none sample, so dashboards and rules find the family before the first refusal.
  if (!by_tenant_.contains("_none")) out += "dram_tenant_refusals_total{tenant=\"_none\"} 0\n";
  for (const auto& [tenant, count] : by_tenant_) {
    out += "dram_tenant_refusals_total{tenant=\"";
    // Tenants come from keys and tokens; escape what the text format requires.
    for (char c : tenant) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += "\"} " + std::to_string(count) + "\n";
  }
}

uint64_t RefusalMetrics::CountForTesting(RefusalReason reason) const {
  return by_reason_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
}

}  // namespace dram::api
