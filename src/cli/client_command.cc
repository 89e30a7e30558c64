#include "cli/client_command.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/flags.h"
#include "common/units.h"
#include "dram/client.h"

namespace dram::cli {

namespace {

constexpr const char* kClientHelp = R"(dram client query TARGET --members HOST:PORT,... [flags]

Asks a dram cluster as its smart client does: for an endpoint over a sharded database, it reads
the shard map from any member, pins one snapshot per shard, sends each chosen member the map step
of its shards (same zone first, then the least busy), retries a shard on another copy when one
fails, hedges a slow member, and reduces the results here. Other endpoints are asked as they are.
Prints the answer as a member would.

  TARGET             the endpoint and its params: "/v1/name?param=value"
  --members LIST     members' API addresses, comma-separated (any one answers the shard map)
  --api-key-env VAR  the environment variable holding the API key (default DRAM_API_KEY; a
                     bearer token is read from DRAM_BEARER_TOKEN)
  The cluster's secret is read from DRAM_CLUSTER_SECRET (as the members do): members give map
  steps only to the cluster's own clients.
  --zone Z           prefer members of this zone
  --timeout T        the whole request (default 10s)
  --no-hedge         never send a map step twice
  --verbose          say on stderr which member answered for each shard
)";

}  // namespace

int ClientCommand(int argc, char** argv) {
  const std::string sub = argc > 2 ? argv[2] : "";
  if (sub == "--help" || sub == "-h" || sub == "help") return std::fputs(kClientHelp, stdout), 0;
  if (sub != "query") return std::fprintf(stderr, "dram client: expected 'query'\n\n%s", kClientHelp), 2;
  Flags flags = ParseFlags(argc, argv, 3, {"members", "api-key-env", "zone", "timeout"}, {"no-hedge", "verbose"});
  if (flags.help) return std::fputs(kClientHelp, stdout), 0;
  if (!flags.error.empty()) return std::fprintf(stderr, "dram client: %s\n", flags.error.c_str()), 2;
  if (flags.positional.size() != 1) return std::fprintf(stderr, "dram client query: expected one TARGET\n"), 2;
  ClientOptions options;
  options.members = SplitCommas(flags.values["members"]);
  if (options.members.empty()) return std::fprintf(stderr, "dram client query: --members is required\n"), 2;
  const std::string key_env = flags.values.contains("api-key-env") ? flags.values["api-key-env"] : "DRAM_API_KEY";
  if (const char* key = std::getenv(key_env.c_str())) options.api_key = key;
  if (const char* token = std::getenv("DRAM_BEARER_TOKEN")) options.bearer_token = token;
  if (const char* secret = std::getenv("DRAM_CLUSTER_SECRET")) options.cluster_secret = secret;
  options.zone = flags.values["zone"];
  if (flags.values.contains("timeout")) {
    auto ms = common::ParseDurationMs(flags.values["timeout"]);
    if (!ms || *ms <= 0) return std::fprintf(stderr, "dram client query: --timeout takes a duration (10s, 500ms)\n"), 2;
    options.timeout = std::chrono::milliseconds(*ms);
  }
  options.hedge = !flags.values.contains("no-hedge");
  auto client = Client::Create(std::move(options));
  if (!client.ok()) return std::fprintf(stderr, "dram client query: %s\n", client.status().ToString().c_str()), 2;
  auto answer = (*client)->Get(flags.positional[0]);
  if (!answer.ok()) return std::fprintf(stderr, "dram client query: %s\n", answer.status().ToString().c_str()), 1;
  if (flags.values.contains("verbose")) {
    for (const auto& shard : answer->shards) {
      std::fprintf(stderr, "shard %d: %s (snapshot %s)\n", shard.shard, shard.member.c_str(), shard.snapshot.c_str());
    }
    if (!answer->shards.empty()) std::fprintf(stderr, "retries %d, hedges %d\n", answer->retries, answer->hedges);
  }
  std::fwrite(answer->body.data(), 1, answer->body.size(), stdout);
  if (!answer->body.empty() && answer->body.back() != '\n') std::fputc('\n', stdout);
  if (answer->status != 200) return std::fprintf(stderr, "dram client query: HTTP %d\n", answer->status), 1;
  return 0;
}

}  // namespace dram::cli
