#include "testutil/server_process.h"

#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <thread>

namespace dram::testing {

namespace fs = std::filesystem;

std::string DramBinary() { return DRAM_BINARY; }
std::string DramSqlBinary() { return DRAM_SQL_BINARY; }
std::string EmbedExampleBinary() { return EMBED_EXAMPLE_BINARY; }
std::string ClusterMemberExampleBinary() { return CLUSTER_MEMBER_EXAMPLE_BINARY; }
std::string CatalogWriterBinary() { return CATALOG_WRITER_BINARY; }

std::unique_ptr<ServerProcess> ServerProcess::Start(const std::string& project_dir, const std::string& cache_dir,
                                                    const std::map<std::string, std::string>& env) {
  return Launch({DramBinary(), "serve", project_dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                 "--cache-dir", cache_dir, "--ready-file", "{READY}"},
                env);
}

std::unique_ptr<ServerProcess> ServerProcess::Launch(std::vector<std::string> args,
                                                     const std::map<std::string, std::string>& env) {
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  server->scratch_ = std::make_unique<TempDir>();
  std::string ready = server->scratch_->path() + "/ready.json";
  server->log_path_ = server->scratch_->path() + "/server.log";
  for (auto& arg : args) {
    if (arg == "{READY}") arg = ready;
  }
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // A test process that crashes (no TearDown) takes its servers with it: otherwise a cluster
    // test's members keep running, holding ports and etcd leases. The signal is tied to the thread
    // that forked, so servers are launched from the test's own thread (they all are).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
    int log = ::open(server->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  server->pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(ready)) {
      std::string text = ReadFile(ready);
      std::smatch match;
      if (std::regex_search(text, match, std::regex(R"re("api":"[^"]*:(\d+)","admin":"[^"]*:(\d+)")re"))) {
        server->api_port_ = std::stoi(match[1]);
        server->admin_port_ = std::stoi(match[2]);
        return server;
      }
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      return std::unique_ptr<ServerProcess>(nullptr);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::unique_ptr<ServerProcess>(nullptr);  // the destructor of `server` kills it
}

std::string ServerProcess::log() const { return ReadFile(log_path_); }

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

ServerProcess::~ServerProcess() { Stop(); }

}  // namespace dram::testing
