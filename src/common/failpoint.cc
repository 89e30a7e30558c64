#include "common/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace dram::common {

void Failpoint([[maybe_unused]] std::string_view name) {
#ifdef DRAM_FAILPOINTS
  static const std::string armed = [] {
    const char* value = std::getenv("DRAM_FAILPOINT");
    return std::string(value ? value : "");
  }();
  if (!armed.empty() && armed == name) ::kill(::getpid(), SIGKILL);
#endif
}

}  // namespace dram::common
