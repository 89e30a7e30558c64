#include "client/member_stats.h"

#include <algorithm>
#include <vector>

namespace dram::client {

void MemberStats::Started(const std::string& member) {
  common::MutexLock lock(mu_);
  members_[member].outstanding++;
}

void MemberStats::Finished(const std::string& member, std::optional<std::chrono::microseconds> latency) {
  common::MutexLock lock(mu_);
  Member& stats = members_[member];
  stats.outstanding = std::max(0, stats.outstanding - 1);
  if (latency) stats.latencies_us[stats.count++ % kWindow] = latency->count();
}

int MemberStats::Outstanding(const std::string& member) const {
  common::MutexLock lock(mu_);
  auto found = members_.find(member);
  return found == members_.end() ? 0 : found->second.outstanding;
}

std::optional<std::chrono::microseconds> MemberStats::P95(const std::string& member) const {
  std::vector<int64_t> window;
  {
    common::MutexLock lock(mu_);
    auto found = members_.find(member);
    if (found == members_.end() || found->second.count < kMinSamples) return std::nullopt;
    const size_t n = std::min(found->second.count, kWindow);
    window.assign(found->second.latencies_us.begin(), found->second.latencies_us.begin() + static_cast<long>(n));
  }
  // Nearest rank: the smallest sample with at least 95% of the window at or below it.
  const size_t rank = (window.size() * 95 + 99) / 100 - 1;
  std::nth_element(window.begin(), window.begin() + static_cast<long>(rank), window.end());
  return std::chrono::microseconds(window[rank]);
}

}  // namespace dram::client
