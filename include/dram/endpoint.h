#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dram/status.h"
#include "dram/value.h"

namespace dram {

// The rows a code endpoint answers with: the result of a query run through QuerySession.
// Move-only; the server encodes it (JSON, CSV or NDJSON) like any other endpoint's rows.
class Rows {
 public:
  struct Impl;
  explicit Rows(std::unique_ptr<Impl> impl);
  Rows(Rows&&) noexcept;
  Rows& operator=(Rows&&) noexcept;
  ~Rows();
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// A pooled connection to the endpoint's dataset snapshot, lent for the duration of one call.
// Not thread-safe; do not keep it past the handler's return.
class QuerySession {
 public:
  virtual ~QuerySession() = default;
  // Runs `sql` with `params` bound to $1..$n (values are never spliced into the text).
  // Errors: InvalidArgument for SQL that does not prepare or bind; others as the engine reports.
  virtual Result<Rows> Query(const std::string& sql, const std::vector<Value>& params) = 0;
};

// The typed parameters of one request, by declared name.
class Params {
 public:
  virtual ~Params() = default;
  // The value, or a null Value when the param is absent and has no default.
  virtual const Value& Get(std::string_view name) const = 0;
  virtual bool Has(std::string_view name) const = 0;
};

// A parameter of a code endpoint: same types and rules as in endpoint YAML.
struct ParamDecl {
  std::string name;
  std::string type = "string";  // string, integer, number, boolean, date, timestamp, list<…>
  bool required = false;
  std::string default_value;    // as request text; empty = none
  std::string description;
};

// An endpoint implemented in C++: served at /v{version}/{name} with the same validation,
// envelope, formats, caching, ETags and metrics as YAML endpoints. The handler runs on a query
// worker thread and may be called concurrently.
struct CodeEndpoint {
  std::string name;
  int version = 1;
  std::string dataset;
  std::string description;
  std::vector<ParamDecl> params;
  bool cache = true;
  int64_t default_limit = 100;
  int64_t max_limit = 1000;
  std::function<Result<Rows>(const Params& params, QuerySession& session)> handler;
  // Makes the endpoint an analysis: `handler` is its map step and this its reduce step. Over a
  // database split into shards (a cluster), the handler runs on each shard's copy, on the member
  // holding it, and the reduce merges every shard's rows, read as the table `partials` (typed as
  // the handler returned them; SELECT statements only, nothing else is readable). On a database
  // that is not split, the reduce runs over the handler's rows, so both give the same answer.
  // Unset: the answer is the handler's rows (over shards: every shard's, in no set order).
  std::function<Result<Rows>(const Params& params, QuerySession& partials)> reduce;
};

}  // namespace dram
