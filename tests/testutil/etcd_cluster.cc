#include "testutil/etcd_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "testutil/command.h"

namespace dram::testing {

namespace {

// DIR/env: `export NAME=VALUE` lines, values possibly in double quotes.
std::map<std::string, std::string> ReadEnvFile(const std::string& path) {
  std::map<std::string, std::string> out;
  std::istringstream in(ReadFile(path));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("export ")) line.erase(0, 7);
    size_t equals = line.find('=');
    if (equals == std::string::npos) continue;
    std::string value = line.substr(equals + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    out[line.substr(0, equals)] = value;
  }
  return out;
}

std::string Tail(const std::string& text, size_t lines) {
  size_t start = text.size();
  for (size_t seen = 0; start > 0 && seen <= lines;) {
    if (text[--start] == '\n') ++seen;
  }
  return text.substr(start);
}

}  // namespace

std::unique_ptr<EtcdCluster> EtcdCluster::Start(int members) {
  std::unique_ptr<EtcdCluster> cluster(new EtcdCluster());
  cluster->dir_ = cluster->scratch_.path() + "/etcd";
  // The script's watchdog stops the cluster should this process die before the destructor runs.
  if (!cluster->Script({"start", cluster->dir_, std::to_string(members)},
                       {{"ETCD_CLUSTER_OWNER_PID", std::to_string(::getpid())}})) {
    return nullptr;
  }
  cluster->env_ = ReadEnvFile(cluster->dir_ + "/env");
  cluster->endpoints_ = cluster->env_["ETCD_ENDPOINTS"];
  std::istringstream names(cluster->env_["ETCD_MEMBERS"]);
  for (std::string name; names >> name;) cluster->members_.push_back(name);
  if (cluster->endpoints_.empty() || static_cast<int>(cluster->members_.size()) != members) {
    std::fprintf(stderr, "etcd_cluster.sh wrote no usable env file in %s\n", cluster->dir_.c_str());
    return nullptr;
  }
  return cluster;
}

EtcdCluster::~EtcdCluster() {
  if (!dir_.empty()) (void)Script({"stop", dir_});
}

bool EtcdCluster::Script(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) const {
  std::vector<std::string> argv = {ETCD_CLUSTER_SCRIPT};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult result = RunCommand(argv, env);
  if (result.exit_code != 0) {
    std::fprintf(stderr, "etcd_cluster.sh %s failed (%d):\n%s\n", args.front().c_str(), result.exit_code, result.output.c_str());
  }
  return result.exit_code == 0;
}

std::string EtcdCluster::url(const std::string& member) const {
  auto found = env_.find("ETCD_MEMBER_" + member + "_URL");
  return found == env_.end() ? "" : found->second;
}

std::string EtcdCluster::MemberAt(const std::string& url) const {
  for (const std::string& member : members_) {
    if (this->url(member) == url) return member;
  }
  return "";
}

pid_t EtcdCluster::pid(const std::string& member) const {
  std::string text = ReadFile(dir_ + "/" + member + ".pid");
  if (text.empty()) return -1;
  pid_t pid = static_cast<pid_t>(std::stol(text));
  return ::kill(pid, 0) == 0 ? pid : -1;
}

bool EtcdCluster::Kill(const std::string& member) { return Script({"kill", dir_, member}); }

bool EtcdCluster::Restart(const std::vector<std::string>& members) {
  std::vector<std::string> args = {"restart", dir_};
  args.insert(args.end(), members.begin(), members.end());
  return Script(args);
}

bool EtcdCluster::Freeze(const std::string& member) {
  pid_t target = pid(member);
  return target > 0 && ::kill(target, SIGSTOP) == 0;
}

bool EtcdCluster::Thaw(const std::string& member) {
  pid_t target = pid(member);
  return target > 0 && ::kill(target, SIGCONT) == 0;
}

std::string EtcdCluster::LogTails() const {
  std::string out;
  for (const std::string& member : members_) {
    out += "== " + member + ".log\n" + Tail(ReadFile(dir_ + "/" + member + ".log"), 10);
  }
  return out;
}

}  // namespace dram::testing
