// Embedding dram as a library: serve a project directory and add endpoints from code: one
// implemented in C++, an analysis in C++ (map and reduce), and one written as a SQL template.
//
//   embed_example PROJECT_DIR [READY_FILE]
//
// With READY_FILE, both ports are ephemeral on 127.0.0.1 and written to READY_FILE once serving
// (as `dram serve --ready-file` does); without it, the ports of PROJECT_DIR/dram.yml are used.
// The project must have a dataset `analytics` with a table `events(tenant_id, channel, revenue)`,
// like examples/demo.
#include <signal.h>

#include <cstdio>
#include <fstream>

#include "dram/endpoint.h"
#include "dram/server.h"

namespace {

// A code endpoint: each channel's share of a tenant's revenue. The handler receives typed params
// and a pooled connection; values are bound, never spliced into SQL.
dram::CodeEndpoint ChannelShare() {
  dram::CodeEndpoint endpoint;
  endpoint.name = "channel_share";
  endpoint.dataset = "analytics";
  endpoint.description = "Share of a tenant's revenue per channel, in percent (C++ endpoint).";
  endpoint.params = {{.name = "tenant", .type = "string", .required = true},
                     {.name = "min_share", .type = "number", .default_value = "0"}};
  endpoint.handler = [](const dram::Params& params, dram::QuerySession& session) -> dram::Result<dram::Rows> {
    return session.Query(
        "SELECT channel, round(100 * sum(revenue) / sum(sum(revenue)) OVER (), 2) AS share_percent "
        "FROM events WHERE tenant_id = $1 GROUP BY channel "
        "QUALIFY share_percent >= $2 ORDER BY share_percent DESC, channel",
        {params.Get("tenant"), params.Get("min_share")});
  };
  return endpoint;
}

// An analysis: a map step (here over the whole database; in a cluster, over each shard where the
// shard is) and a reduce step over its rows, read as `partials`. Written this way, it answers
// the same whether the database is split into shards or not.
dram::CodeEndpoint ChannelAverage() {
  dram::CodeEndpoint analysis;
  analysis.name = "channel_average";
  analysis.dataset = "analytics";
  analysis.description = "Average revenue per event on each channel (C++ analysis: map and reduce).";
  analysis.handler = [](const dram::Params&, dram::QuerySession& session) -> dram::Result<dram::Rows> {
    return session.Query("SELECT channel, sum(revenue) AS revenue, count(*) AS events FROM events GROUP BY channel", {});
  };
  analysis.reduce = [](const dram::Params&, dram::QuerySession& partials) -> dram::Result<dram::Rows> {
    return partials.Query(
        "WITH totals AS (SELECT channel, sum(revenue) AS revenue, sum(events) AS events FROM partials GROUP BY channel) "
        "SELECT channel, revenue / events AS average FROM totals ORDER BY channel",
        {});
  };
  return analysis;
}

// A SQL template endpoint, declared in the same YAML format as a project's endpoints/*.yml.
constexpr const char* kTopTenantsYaml = R"(
name: top_tenants
dataset: analytics
description: Tenants ranked by revenue on one channel (SQL template).
params:
  channel: {type: string, required: true}
sql: |
  SELECT tenant_id, sum(revenue) AS revenue
  FROM events WHERE channel = {{channel}}
  GROUP BY tenant_id ORDER BY revenue DESC, tenant_id
limit: {default: 5, max: 20}
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PROJECT_DIR [READY_FILE]\n", argv[0]);
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  dram::ServerOverrides overrides;
  if (argc > 2) overrides.listen = overrides.admin_listen = "127.0.0.1:0";
  auto server = dram::Server::Create(argv[1], overrides);
  if (!server.ok()) return std::fprintf(stderr, "%s\n", server.status().message().c_str()), 1;
  dram::Status added = (*server)->AddEndpoint(ChannelShare());
  if (added.ok()) added = (*server)->AddEndpoint(ChannelAverage());
  if (added.ok()) added = (*server)->AddEndpointYaml(kTopTenantsYaml);
  if (added.ok()) added = (*server)->Start();
  if (!added.ok()) return std::fprintf(stderr, "%s\n", added.ToString().c_str()), 1;
  if (argc > 2) {
    std::ofstream(argv[2]) << "{\"api\":\"127.0.0.1:" << (*server)->api_port() << "\",\"admin\":\"127.0.0.1:"
                           << (*server)->admin_port() << "\"}\n";
  }
  std::printf("serving /v1/channel_share, /v1/channel_average and /v1/top_tenants on port %u\n", (*server)->api_port());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  (*server)->Stop();
  return 0;
}
