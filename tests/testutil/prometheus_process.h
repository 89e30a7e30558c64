#pragma once

#include "testutil/loopback.h"  // FreeLoopbackPort, for its callers

#include <sys/types.h>

#include <memory>
#include <string>

#include "testutil/temp_dir.h"

namespace dram::testing {

// A real Prometheus (Debian's `prometheus`) for one test: its config, TSDB and log in a temp
// directory, listening on a free 127.0.0.1 port. Killed (SIGTERM, then SIGKILL after 5 s) when
// this object dies.
class PrometheusProcess {
 public:
  // Whether the `prometheus` binary is on PATH.
  static bool Installed();
  // Writes `config_yaml` as its --config.file (rule files it names are read as given) and starts
  // it; waits (up to 20 s) until /-/ready answers 200. Null when it exits or times out first;
  // `log` then holds its output.
  static std::unique_ptr<PrometheusProcess> Start(const std::string& config_yaml, std::string& log);
  ~PrometheusProcess();
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  int port() const { return port_; }
  std::string log() const;

 private:
  PrometheusProcess() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  TempDir dir_;
};


}  // namespace dram::testing
