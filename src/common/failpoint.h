#pragma once

#include <string_view>

namespace dram::common {

// Crash-safety testing: when the environment variable DRAM_FAILPOINT names this point, the
// process kills itself with SIGKILL here (`name@N`: at the N-th pass) (no destructors, no flushing: as if the machine died).
// Placed before and after every write and rename that a commit or an apply makes, so a test can
// stop the process at each one and check that what is left is consistent. Costs one cached
// comparison when the variable is unset. Builds with -DDRAM_FAILPOINTS=OFF compile it away.
void Failpoint(std::string_view name);

}  // namespace dram::common
