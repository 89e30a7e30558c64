#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "common/mutex.h"

namespace dram::api {

// Why a request was turned away before it ran. Fixed, so the label set is too.
enum class RefusalReason { kKeyRateLimit, kTenantRateLimit, kInFlight, kTenantInFlight, kQueueTimeout };

// Counts refused requests by reason and by tenant, for dram_refusals_total and
// dram_tenant_refusals_total. Tenants get their own label value up to kMaxTenants distinct ones,
// later ones count as "_other" and callers without a tenant as "_none", so a flood of made-up
// tenants cannot grow the scrape. Only refusals pay the tenant map's lock; a request that is served
// never touches this class. Thread-safe.
class RefusalMetrics {
 public:
  static constexpr size_t kMaxTenants = 200;

  void Record(RefusalReason reason, const std::string& tenant);
  // Appends both families in Prometheus text format; every reason is listed, also at zero.
  void Render(std::string& out) const;
  uint64_t CountForTesting(RefusalReason reason) const;

 private:
  static constexpr size_t kReasons = 5;
  std::array<std::atomic<uint64_t>, kReasons> by_reason_{};
  mutable common::Mutex mu_;
  std::map<std::string, uint64_t> by_tenant_ GUARDED_BY(mu_);
};

}  // namespace dram::api
