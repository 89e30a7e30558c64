#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "testutil/temp_dir.h"

namespace dram::testing {

// A real etcd cluster for one test or suite (scripts/etcd_cluster.sh): members m1..mN on free
// 127.0.0.1 ports, data and logs in a temp directory; every member is killed and the data removed
// when this object dies (or, through the script's watchdog, within ~1 s of this process dying
// without cleanup), so a test that kills or freezes members disturbs no other.
class EtcdCluster {
 public:
  // Starts `members` members and waits (bounded, by the script) until all are healthy. Null
  // when that failed; the script's output is then on stderr.
  static std::unique_ptr<EtcdCluster> Start(int members = 3);
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // "http://127.0.0.1:P1,http://127.0.0.1:P2,...", in member order.
  const std::string& endpoints() const { return endpoints_; }
  const std::vector<std::string>& members() const { return members_; }
  // The client URL of `member` ("m1").
  std::string url(const std::string& member) const;
  // Its process id; -1 when it is not running (killed).
  pid_t pid(const std::string& member) const;
  // The member whose client URL is `url`; empty when none.
  std::string MemberAt(const std::string& url) const;

  // SIGKILL (its data stays) and wait until it is gone. False (with the script's output on
  // stderr) on failure.
  bool Kill(const std::string& member);
  // Start killed members again on their ports and data; waits until every running member is
  // healthy.
  bool Restart(const std::vector<std::string>& members);
  // SIGSTOP / SIGCONT: a member that keeps its connections open and says nothing.
  bool Freeze(const std::string& member);
  bool Thaw(const std::string& member);
  // The last lines of every member's log, for a failure message.
  std::string LogTails() const;

 private:
  EtcdCluster() = default;
  bool Script(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) const;
  TempDir scratch_;
  std::string dir_;
  std::map<std::string, std::string> env_;
  std::string endpoints_;
  std::vector<std::string> members_;
};

}  // namespace dram::testing
