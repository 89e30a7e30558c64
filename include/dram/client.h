#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dram/status.h"

namespace dram {

struct ClientOptions {
  // HOST:PORT of members' API ports: any of them answers the shard map (tried in turn).
  std::vector<std::string> members;
  std::string api_key;       // sent as X-API-Key when set
  std::string bearer_token;  // sent as Authorization: Bearer when set
  std::string zone;          // members of this zone are asked first
  // The cluster's secret ($DRAM_CLUSTER_SECRET of its members): map steps carry more than an
  // endpoint shows (order keys, partial aggregates, an analysis's map rows), so members give them
  // only to the cluster's own clients. Without it, endpoints over sharded databases answer 403.
  std::string cluster_secret;
  // The whole request: the members get what is left of it with each map step.
  std::chrono::milliseconds timeout{10'000};
  // Sends a map step again to another copy when its member is still silent after that member's
  // own p95 latency (once it has 20 answers to know it by), for at most `hedge_budget` extra
  // map steps per map step an unhedged client would send (first tries and retries).
  bool hedge = true;
  double hedge_budget = 0.05;
};

// Which copy answered for a shard.
struct ClientShard {
  int shard = 0;
  std::string member;
  std::string snapshot;
};

struct ClientAnswer {
  int status = 200;
  // What a member would answer: JSON {"data":[…],"meta":{…}}, or the rows for format=csv|ndjson.
  // A member's refusal (401, 404, 422, …) comes back as that member sent it.
  std::string body;
  std::string content_type;
  std::vector<ClientShard> shards;  // empty when the endpoint's database is not sharded
  int retries = 0;                  // map steps sent again after a failure or a missing shard
  int hedges = 0;                   // map steps sent again because their member was slow
};

struct ClientStats {
  int64_t requests = 0;
  int64_t map_requests = 0;  // first tries, retries and hedges
  int64_t retries = 0;
  int64_t hedges = 0;
};

// A smart client of a dram cluster. For an endpoint over a sharded database it reads the shard map
// from any member, pins one snapshot per shard for the whole request (a retry or a hedge goes only
// to a copy at that snapshot), picks a copy of each shard (same zone first, then the member with
// the fewest of this client's requests outstanding), sends each member the map step of its
// shards at once (with the caller's credentials: each member keeps only the caller's tenant's
// rows; the cluster secret proves it is one of the cluster's own clients), retries a shard that failed or went missing on its next copy, hedges slow members, and
// reduces the partial results in an embedded DuckDB. Any other endpoint is asked of a member as it
// is. Thread-safe; one client serves many threads.
class Client {
 public:
  static Result<std::unique_ptr<Client>> Create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // GET `target` ("/v1/name?query"). Errors: Unavailable naming the shards no copy answered for
  // (or when no member answers at all); DeadlineExceeded past the timeout; InvalidArgument for a
  // target that is not a path.
  Result<ClientAnswer> Get(std::string_view target);
  ClientStats stats() const;

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dram
