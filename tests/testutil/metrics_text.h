#pragma once

#include <optional>
#include <string>

namespace dram::testing {

// The value of one sample in Prometheus text (`/metrics`): `series` is the name with its labels
// exactly as rendered, e.g. `dram_refusals_total{reason="in_flight"}`. Empty when absent.
std::optional<double> SampleValue(const std::string& metrics_text, const std::string& series);

}  // namespace dram::testing
