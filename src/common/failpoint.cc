#include "common/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

namespace dram::common {

void Failpoint([[maybe_unused]] std::string_view name) {
#ifdef DRAM_FAILPOINTS
  // DRAM_FAILPOINT=name kills at the first pass through `name`; name@N at the N-th (so a test can
  // reach the second of two puts).
  struct Armed {
    std::string name;
    long hit = 1;
  };
  static const Armed armed = [] {
    const char* value = std::getenv("DRAM_FAILPOINT");
    Armed a{value ? value : ""};
    if (size_t at = a.name.find('@'); at != std::string::npos) {
      a.hit = std::max(1L, std::atol(a.name.c_str() + at + 1));
      a.name.resize(at);
    }
    return a;
  }();
  static std::atomic<long> passes{0};
  if (armed.name.empty() || armed.name != name) return;
  if (passes.fetch_add(1) + 1 == armed.hit) ::kill(::getpid(), SIGKILL);
#endif
}

}  // namespace dram::common
