#pragma once

#include <boost/asio/thread_pool.hpp>

#include <chrono>

#include "api/database_admin.h"
#include "api/shard_coordinator.h"
#include "http/server.h"

namespace dram::api {

// Ad hoc analyses an admin sends (what `dram analyze` calls; the caller has passed the admin token
// check):
//   POST /analyze  {"database", "map", "reduce", "shards": [K,…], "partial": bool,
//                   "format": "json"|"csv", "timeout": "30s"}
// `map` (one SELECT) runs on every shard of the database, or on the named ones; `reduce` (one
// SELECT, default: every row) runs over their results, read as the table `partials`, exactly as an
// endpoint's map/reduce would. On a sharded database the scatter, retries, snapshot pinning and
// reduce are the coordinator's (ShardCoordinator::RunPlan): a cluster member with the cluster
// secret answers them, with the shards, members and snapshots that answered. A database that is
// not split is one shard (0): this member runs `WITH partials AS (map) reduce` on its own copy, or
// a member holding one runs the map. Answers like POST /query ({"columns","data","rows",…} or
// CSV). Errors: 422 for a body, SQL or shard list that is wrong (shards that do not exist are
// listed), 403 for a statement that is not a SELECT, 503 for shards with no ready copy (unless
// "partial": true), 504 past the timeout. Slow work runs on its own threads. Thread-safe.
class AnalysisAdmin {
 public:
  // `shards` (may be null: no cluster, or no cluster secret): runs analyses over sharded databases.
  AnalysisAdmin(ManagerSource datasets, ShardCoordinator* shards, std::chrono::milliseconds query_timeout)
      : datasets_(std::move(datasets)), shards_(shards), query_timeout_(query_timeout) {}
  ~AnalysisAdmin() { Drain(); }
  AnalysisAdmin(const AnalysisAdmin&) = delete;
  AnalysisAdmin& operator=(const AnalysisAdmin&) = delete;

  // True when the request is POST /analyze (and has been answered).
  bool Handle(const http::Request& request, http::Responder& responder);
  // Waits for the analyses posted so far.
  void Drain() { background_.join(); }

 private:
  struct Analysis;
  http::Response Run(const Analysis& analysis) const;

  ManagerSource datasets_;
  ShardCoordinator* shards_;
  std::chrono::milliseconds query_timeout_;
  boost::asio::thread_pool background_{2};
};

}  // namespace dram::api
