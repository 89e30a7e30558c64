// A cluster member with an analysis of its own, written in C++: the same binary runs on every
// member (like `dram serve --catalog … --cluster …`), so each can run the analysis's map step on the
// shards it holds, and any of them can coordinate a request and run the reduce.
//
//   cluster_member_example --catalog URI --cluster NAME --etcd URLS --advertise HOST:PORT
//                          --cache-dir DIR [--lease-ttl S] [--poll-interval MS] [READY_FILE]
//
// Credentials for the store come from the environment, and the members' shared secret from
// $DRAM_CLUSTER_SECRET, as for `dram serve`. The catalog must have a database `orders` with a
// table `orders(tenant, amount)`, split into shards or not. With READY_FILE, the ports are
// written to it once serving (as `dram serve --ready-file` does).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "dram/endpoint.h"
#include "dram/server.h"

namespace {

// Each tenant's order count, total and average amount, over orders of at least `min_amount`.
// The map step runs on one shard (or the whole database) and returns partial sums and counts;
// the reduce step adds them up across shards, reading every shard's rows as `partials`. An
// average cannot be averaged: it is the sum of sums over the sum of counts.
dram::CodeEndpoint TenantAverage() {
  dram::CodeEndpoint analysis;
  analysis.name = "tenant_average";
  analysis.dataset = "orders";
  analysis.description = "Orders, revenue and average amount per tenant (a C++ analysis: map per shard, reduce).";
  analysis.params = {{.name = "min_amount", .type = "integer", .default_value = "0"}};
  analysis.handler = [](const dram::Params& params, dram::QuerySession& shard) -> dram::Result<dram::Rows> {
    return shard.Query("SELECT tenant, count(*) AS n, sum(amount) AS total FROM orders WHERE amount >= $1 GROUP BY tenant",
                       {params.Get("min_amount")});
  };
  analysis.reduce = [](const dram::Params&, dram::QuerySession& partials) -> dram::Result<dram::Rows> {
    return partials.Query(
        "SELECT tenant, sum(n) AS orders, sum(total) AS revenue, sum(total) / sum(n) AS average "
        "FROM partials GROUP BY tenant ORDER BY tenant",
        {});
  };
  return analysis;
}

// Without a reduce: every shard's rows, as they come (here each shard's largest order).
dram::CodeEndpoint LargestPerShard() {
  dram::CodeEndpoint analysis;
  analysis.name = "largest_per_shard";
  analysis.dataset = "orders";
  analysis.description = "The largest order of every shard (a C++ map step with no reduce).";
  analysis.cache = false;
  analysis.handler = [](const dram::Params&, dram::QuerySession& shard) -> dram::Result<dram::Rows> {
    return shard.Query("SELECT max(amount) AS largest, count(*) AS n FROM orders", {});
  };
  return analysis;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  std::string ready_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0 && i + 1 < argc) {
      flags[arg.substr(2)] = argv[++i];
    } else if (arg.rfind("--", 0) != 0 && ready_file.empty()) {
      ready_file = arg;
    } else {
      std::fprintf(stderr, "usage: %s --catalog URI --cluster NAME --etcd URLS --advertise HOST:PORT --cache-dir DIR [READY_FILE]\n",
                   argv[0]);
      return 2;
    }
  }
  for (const char* required : {"catalog", "cluster", "etcd", "advertise", "cache-dir"}) {
    if (!flags.count(required)) return std::fprintf(stderr, "missing --%s\n", required), 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  dram::ServerOverrides overrides;
  overrides.listen = flags["advertise"];
  overrides.admin_listen = "127.0.0.1:0";
  overrides.cache_dir = flags["cache-dir"];
  if (flags.count("poll-interval")) overrides.poll_interval_ms = std::atoll(flags["poll-interval"].c_str());
  overrides.cluster.name = flags["cluster"];
  overrides.cluster.etcd = flags["etcd"];
  overrides.cluster.advertise = flags["advertise"];
  if (flags.count("lease-ttl")) overrides.cluster.lease_ttl_s = std::atoll(flags["lease-ttl"].c_str());
  auto server = dram::Server::CreateFromCatalog(flags["catalog"], overrides, dram::CatalogRole::kWriter);
  if (!server.ok()) return std::fprintf(stderr, "%s\n", server.status().ToString().c_str()), 1;
  dram::Status added = (*server)->AddEndpoint(TenantAverage());
  if (added.ok()) added = (*server)->AddEndpoint(LargestPerShard());
  if (added.ok()) added = (*server)->Start();
  if (!added.ok()) return std::fprintf(stderr, "%s\n", added.ToString().c_str()), 1;
  if (!ready_file.empty()) {
    std::ofstream(ready_file) << "{\"api\":\"" << flags["advertise"] << "\",\"admin\":\"127.0.0.1:" << (*server)->admin_port()
                              << "\"}\n";
  }
  std::printf("member %s serving /v1/tenant_average and /v1/largest_per_shard\n", flags["advertise"].c_str());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  (*server)->Stop();
  return 0;
}
