#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/compiled_endpoint.h"
#include "api/serving_state.h"
#include "api/shard_directory.h"
#include "api/shard_reduce.h"
#include "database/shard.h"
#include "http/message.h"
#include "store/http_transport.h"

namespace dram::api {

// A request split over a sharded database's shards and merged back.
struct ShardedAnswer {
  std::string rows;         // encoded in the request's format (JSON: the array)
  Reduced reduced;
  // The members of meta that say where the rows came from: "shards":[{"shard":K,"member":"…",
  // "snapshot":"…","ms":…},…] (ms: the map step's wall time as the coordinator saw it, its member's
  // call included), and with ?partial=allow when shards had no ready copy,
  // "partial":true,"missing_shards":[…].
  std::string meta_json;
  std::vector<int> missing_shards;  // left out with ?partial=allow (sorted); empty: every shard answered
  std::string snapshot_id;  // one id for the set of shard snapshots that answered
  // Where the time went, for the response's Server-Timing header: fanning out until every shard's
  // partial was in (retries included), and the reduce over them (rows encoded).
  double gather_ms = 0;
  double reduce_ms = 0;
};

// Transparent scatter-gather for routes over sharded databases (any member coordinates), and the
// member side of it: POST /_cluster/v1/map, which runs a map step on the shards this member holds
// at the snapshots asked for, and lists the ones it cannot (never a silent omission). Members
// prove themselves with the cluster secret (X-Dram-Cluster-Secret); without it the path answers
// like any unknown one. Thread-safe.
class ShardCoordinator {
 public:
  static constexpr std::string_view kMapPath = "/_cluster/v1/map";

  ShardCoordinator(const ShardDirectory& directory, std::unique_ptr<ShardReducer> reducer)
      : directory_(directory), reducer_(std::move(reducer)) {}

  // Plans the request (CompiledEndpoint::PlanShards), picks a ready replica of every shard (its
  // own copies first, then the same zone), runs the map steps (its own in-process, each other
  // member's in one call, all at once), retries a shard that failed or went missing on its next
  // replica, and reduces. Errors: Unavailable naming the shards with no ready copy left (unless
  // args.allow_partial, and at least one shard answered), or when the shards it needs have no
  // data version in common (unless pinned.stale: then meta.stale says when the answer mixes
  // versions or reads a superseded one);
  // DeadlineExceeded past `deadline`; the plan's errors. `replicas`: PinnedReplicas of the route.
  Result<ShardedAnswer> Run(const Route& route, const RequestArgs& args, const PinnedShards& pinned, engine::Format format,
                            std::chrono::steady_clock::time_point deadline);

  // Which shards a plan runs on, and what a failure means.
  struct ShardRun {
    std::vector<int> shards;     // each in [0, shards of the database), once
    bool allow_partial = false;  // leave out shards with no ready copy (meta.partial) instead of failing
    // The code of the error when a map step fails (the same SQL fails on every copy): kInternal for
    // an endpoint's plan, kInvalidArgument for an analysis an admin sent.
    StatusCode map_failure = StatusCode::kInternal;
  };
  // A C++ analysis over a sharded database (Route::code; CodeEndpoint::reduce, or every shard's
  // rows without one): its handler runs on each shard where the shard is (this member's copies
  // in-process, another member's through POST /_cluster/v1/map naming the route and `query`, the
  // request's query string, which that member parses as its own), then its reduce here.
  // Errors: as Run's.
  Result<ShardedAnswer> RunCode(const Route& route, const RequestArgs& args, std::string_view query, const PinnedShards& pinned,
                                engine::Format format, std::chrono::steady_clock::time_point deadline);

  // Run's scatter, retries and reduce, for a plan made elsewhere (an admin's ad hoc analysis).
  Result<ShardedAnswer> RunPlan(const ShardedRoute& sharded, const ShardPlan& plan, const ShardRun& run,
                                const PinnedShards& pinned, engine::Format format, std::chrono::steady_clock::time_point deadline);

  // The directory's replicas of every shard, at one data version (PinOneDataVersion), or with
  // `stale` (?consistency=stale) as they are, nearest first: read once per request, for its cache
  // key and its run.
  PinnedShards PinnedReplicas(const ShardedRoute& sharded, bool stale = false) const;

  // Hands a request to another member holding a copy of one of the route's shards (this one holds
  // none, so it cannot plan it; or, unsharded, it is not the caller's home), with X-Dram-Hop so it
  // goes no further, and relays the answer. With an `affinity` key (the tenant), holders are tried
  // in its rendezvous order (HomeOf first), else own zone first.
  // Errors: Unavailable when no other member holds a ready copy or none answered.
  // With `shard` ≥ 0, only members holding a ready copy of that shard are asked.
  Result<http::Response> Forward(const ShardedRoute& sharded, const http::Request& request,
                                 std::chrono::steady_clock::time_point deadline, std::string_view affinity = "",
                                 int shard = -1) const;
  // The member holding a ready copy of an unsharded database that rendezvous hashing ranks first
  // for `affinity` (a tenant): where that tenant's requests go, so its answers are cached on one
  // member. Nullopt when no member holds one.
  std::optional<ShardReplica> HomeOf(const ShardedRoute& replicated, std::string_view affinity) const;

  // The snapshot id an answer would have if every shard were read from its first-choice replica
  // (ShardedAnswer::snapshot_id's form): a cache key that changes when any shard's data does.
  // Empty when a shard has no ready copy.
  static std::string ExpectedSnapshotId(const PinnedShards& pinned);

  // This member's copy of shard `shard` at `snapshot` (serving or just replaced), loaded again if
  // it went cold; null when it holds no such copy.
  std::shared_ptr<const database::Snapshot> LocalShardCopy(const ShardedRoute& sharded, int shard, const std::string& snapshot) const {
    return directory_.LocalCopy(database::CopyName(sharded.database, shard, sharded.shards), snapshot);
  }

  // Whether `request` carries the cluster secret.
  bool Authorized(const http::Request& request) const;
  // The member side of a map step (POST /_cluster/v1/map, already authorized). `state`: this
  // member's routes, where a C++ analysis's map step finds its handler.
  http::Response ServeMap(const http::Request& request, const ServingState& state) const;

  // The smart client's side (dram::Client): a request to an endpoint over a sharded database
  // with X-Dram-Scatter, on the API port with the caller's own credentials (so each member keeps
  // only the caller's tenant's rows, as for any request).
  //   X-Dram-Scatter: plan   → the shard map of the route's database (the client pins one data
  //     version itself): {"database":…,"shards":S,"replicas":[[{"member","api","zone","snapshot",
  //     "previous"},…] per shard],"needed":[K,…]}
  //   X-Dram-Scatter: map, X-Dram-Shards: K@SNAPSHOT,…  → this request's map step on the named
  //     shards this member holds at those snapshots: {"partials":[…],"missing":[{"shard","reason"}],
  //     "reduce":{…},"format":…} (the reduce step to run over every shard's partials, shard_wire.h,
  //     and the format the request asked for).
  // Errors: InvalidArgument (→ 422) for a malformed shard list or shards the database does not
  // have (listed); the plan's errors.
  static constexpr std::string_view kScatterHeader = "x-dram-scatter";
  static constexpr std::string_view kShardsHeader = "x-dram-shards";
  static constexpr std::string_view kClientMapPath = "/_cluster/v1/client-map";  // the metrics' name for map steps
  // `needed`: the shards the request needs (NeededShards), sent as "needed"; empty: not known.
  std::string ShardMapJson(const ShardedRoute& sharded, const std::vector<int>& needed) const;
  // The shards a request needs: the one holding its shard key (CompiledEndpoint::ShardKeyOf), or all.
  std::vector<int> NeededShards(const Route& route, const RequestArgs& args) const;
  Result<std::string> ServeClientMap(const Route& route, const RequestArgs& args, std::string_view shards,
                                     std::chrono::steady_clock::time_point deadline) const;

 private:
  struct Pick {
    int shard = 0;
    ShardReplica replica;
  };
  // One shard's map step on a connection to its copy. A C++ handler runs SQL of its own, so it
  // may leave session state behind: the connection is then checked and replaced if it holds any.
  struct MapStep {
    std::function<Result<PartialResult>(engine::Connection&)> run;
    bool may_leave_state = false;
  };
  // What each shard is asked: `local` on this member's copies; `remote`, the fields of another
  // member's map request body that say what to run (sql and values, or a route and its query).
  // `combine` (ShardPlan::combine_sql) goes with it to members in another zone holding several
  // of the shards: there the bytes saved are worth a member's combine (bench/reduce_bench.cc: on
  // one machine's loopback it costs more than it saves).
  struct MapRequest {
    MapStep local;
    boost::json::object remote;
    std::string combine;
  };
  // `combine`: ShardPlan::combine_sql, for a member holding several of the shards it is sent.
  static MapRequest SqlMap(const QueryPlan& map, const std::string& combine = "");
  static MapStep SqlStep(const QueryPlan& map);  // SqlMap's local step alone (a member's own side)
  static MapStep CodeMap(const Route& route, const RequestArgs& args);
  // Every asked shard's partial result, where it came from, and (?partial=allow) which had none.
  struct Gathered {
    struct Used {
      int shard;
      std::string member;    // that answered
      std::string snapshot;  // it answered from
      int64_t watermark_ms;
      double ms;             // its group's wall time
    };
    std::vector<PartialResult> partials;
    std::vector<Used> used;
    std::vector<int> missing;
  };
  // The scatter and its retries (RunPlan's, without the reduce).
  Result<Gathered> Gather(const ShardedRoute& sharded, const MapRequest& map, const ShardRun& run, const PinnedShards& pinned,
                          std::chrono::steady_clock::time_point deadline);
  // The answer's meta and snapshot id, from what answered (partials sorted by shard).
  static void Describe(Gathered& gathered, const PinnedShards& pinned, ShardedAnswer& answer);
  struct GroupResult {
    std::vector<PartialResult> partials;
    std::vector<int> failed;  // shards to try elsewhere
    std::string error;        // why (for the log and a final error)
    double ms = 0;            // the group's wall time, as this coordinator saw it
  };
  // Runs `map` on this member's copies of the named shards, when they are at the named snapshots;
  // the others go to `missing` with the reason. Errors: the map step's (it fails on every copy).
  Status MapHeldShards(const std::string& database, int shards_total, const std::vector<std::pair<int, std::string>>& named,
                       const MapStep& map, std::chrono::steady_clock::time_point deadline, std::vector<PartialResult>& partials,
                       std::vector<std::pair<int, std::string>>& missing) const;
  GroupResult RunLocal(const ShardedRoute& sharded, const std::vector<Pick>& picks, const MapStep& map,
                       std::chrono::steady_clock::time_point deadline) const;
  GroupResult RunRemote(const ShardedRoute& sharded, const std::vector<Pick>& picks, const MapRequest& map,
                        std::chrono::steady_clock::time_point deadline) const;

  const ShardDirectory& directory_;
  std::unique_ptr<ShardReducer> reducer_;
  mutable store::HttpTransport transport_;
};

}  // namespace dram::api
