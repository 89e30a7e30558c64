#include "testutil/prometheus_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "testutil/command.h"
#include "testutil/http_client.h"

namespace dram::testing {

namespace {

constexpr auto kReadyTimeout = std::chrono::seconds(20);
constexpr auto kStopTimeout = std::chrono::seconds(5);

bool Exited(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

bool PrometheusProcess::Installed() { return RunCommand({"/bin/sh", "-c", "command -v prometheus"}).exit_code == 0; }

std::unique_ptr<PrometheusProcess> PrometheusProcess::Start(const std::string& config_yaml, std::string& log) {
  std::unique_ptr<PrometheusProcess> prometheus(new PrometheusProcess());
  TempDir& dir = prometheus->dir_;
  dir.Write("prometheus.yml", config_yaml);
  prometheus->port_ = FreeLoopbackPort();
  std::vector<std::string> args = {"prometheus",
                                   "--config.file=" + dir.path() + "/prometheus.yml",
                                   "--web.listen-address=127.0.0.1:" + std::to_string(prometheus->port_),
                                   "--storage.tsdb.path=" + dir.path() + "/data"};
  const std::string log_path = dir.path() + "/prometheus.log";
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  prometheus->pid_ = pid;
  HttpClient client("127.0.0.1", prometheus->port_);
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (client.Get("/-/ready").status == 200) return prometheus;
    if (Exited(pid)) {
      prometheus->pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  log = prometheus->log();
  return nullptr;  // the destructor stops it if it still runs
}

std::string PrometheusProcess::log() const { return ReadFile(dir_.path() + "/prometheus.log"); }

PrometheusProcess::~PrometheusProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Exited(pid_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

}  // namespace dram::testing
