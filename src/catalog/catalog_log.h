#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dram/status.h"
#include "store/object_store.h"
#include "store/retry.h"

namespace dram::catalog {

// The durable catalog as a log of immutable versions in a store, like a table format's log:
// `<root>/_catalog/<20-digit version>.json`. A commit writes version N+1 with a create-only put
// (local: link(); S3: If-None-Match: *; GCS: x-goog-if-generation-match: 0), so of two writers
// racing for N+1 exactly one wins; the loser re-reads N+1, re-applies its mutation and tries N+2.
// Each stored version is an envelope {"version", "parent", "commit_id", "catalog": <document>};
// the commit id tells a retried put whose first attempt landed (reply lost) from a lost race.
// Thread-safe (all state is in the store).
class CatalogLog {
 public:
  struct Options {
    int max_attempts = 100;  // commits attempted before giving up with Aborted (conflict)
    store::RetryPolicy backoff{.max_attempts = 100, .base_delay = std::chrono::milliseconds(2),
                               .max_delay = std::chrono::milliseconds(100)};
  };
  // Computes the next document from the newest one ("" and version 0 when there is none yet).
  using Mutation = std::function<Result<std::string>(const std::string& current, int64_t current_version)>;

  explicit CatalogLog(store::ObjectStore& store) : CatalogLog(store, Options{}) {}
  CatalogLog(store::ObjectStore& store, Options options) : store_(store), options_(options) {}

  static std::string KeyOf(int64_t version);
  // Every committed version, ascending.
  Result<std::vector<int64_t>> Versions() const;
  // The newest version; 0 when nothing was committed yet.
  Result<int64_t> Latest() const;
  // The catalog document of one version. NotFound when there is no such version.
  Result<std::string> Read(int64_t version) const;
  // Commits mutate(newest) as the next version; returns the version it became.
  // Errors: the mutation's own error (nothing committed), Aborted after too many lost races.
  Result<int64_t> Commit(const Mutation& mutate);

 private:
  store::ObjectStore& store_;
  const Options options_;
};

}  // namespace dram::catalog
