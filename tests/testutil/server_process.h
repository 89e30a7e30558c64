#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "testutil/command.h"
#include "testutil/temp_dir.h"

namespace dram::testing {

// Runs the real `dram` binary as a child process on ephemeral 127.0.0.1 ports.
class ServerProcess {
 public:
  // Starts `dram serve project_dir` and waits (up to 120 s) for its ready file. Returns null and
  // fills `log` when it exits or times out first.
  static std::unique_ptr<ServerProcess> Start(const std::string& project_dir, const std::string& cache_dir,
                                              const std::map<std::string, std::string>& env = {});
  // Runs any program that writes the same ready file: `argv` may use {READY} for its path.
  static std::unique_ptr<ServerProcess> Launch(std::vector<std::string> argv,
                                               const std::map<std::string, std::string>& env = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int api_port() const { return api_port_; }
  int admin_port() const { return admin_port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  // Sends SIGTERM and waits; returns the exit status.
  int Stop();

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  int api_port_ = 0;
  int admin_port_ = 0;
  std::string log_path_;
  std::unique_ptr<TempDir> scratch_;
};

// The built binaries (paths set by CMake).
std::string DramBinary();
std::string DramSqlBinary();
std::string EmbedExampleBinary();
// examples/cluster_member: a cluster member with C++ analyses of its own.
std::string ClusterMemberExampleBinary();
std::string CatalogWriterBinary();

}  // namespace dram::testing
