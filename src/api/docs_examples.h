#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "api/endpoint_spec.h"
#include "api/serving_state.h"
#include "dram/status.h"

namespace dram::api {

// Who reads the reference page: operators on the admin port, or anyone who reaches the API port
// (server.public_docs).
enum class DocsAudience { kAdmin, kPublic };

// The request an endpoint's example makes: `limit=2` and a value for every required param. A
// required param gets one only when any value of its type is valid (enum: the first value,
// boolean: true); otherwise the query names a shell variable (`tenant=${TENANT}`) and
// `unfilled` names the param, since guessing an identifier would show no rows, or someone's.
struct ExampleRequest {
  std::string query;
  std::string unfilled;  // the first required param without a value; empty when callable
};
ExampleRequest MakeExampleRequest(const EndpointSpec& spec);

// The /docs page's examples: per route, the request and the real response of one call at its
// current snapshot, taken for endpoints whose rows may be shown (public, or not tenant-scoped),
// on a connection of its own (never a pooled one, never through the response cache or metrics)
// and bounded by a timeout. Routes whose endpoint or snapshot changed are called again.
// Not thread-safe: DocsPage uses it from its one thread.
class DocsExamples {
 public:
  explicit DocsExamples(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  DocsExamples(const DocsExamples&) = delete;
  DocsExamples& operator=(const DocsExamples&) = delete;

  // Calls every route of `state` that has no current example (at most `timeout` each).
  void Update(const ServingState& state);

  // Adds to `document` (OpenApiDocument(state)) the servers entry (`api_base_url`), and per
  // operation the example request (x-codeSamples: a curl command) and the 200 response's example:
  // the real response where `audience` may see it (the admin page: every example; the public
  // page: endpoints callable without credentials), else a note that the sample Redoc shows is
  // generated from the schema, and why.
  void Annotate(const ServingState& state, DocsAudience audience, const std::string& api_base_url,
                boost::json::object& document) const;

 private:
  struct Example {
    std::weak_ptr<const CompiledEndpoint> endpoint;
    std::string snapshot_id;
    std::string query;
    std::string response;  // the real response (JSON); empty when there is none
    std::string reason;    // why there is none
  };
  Example Take(const Route& route) const;

  std::chrono::milliseconds timeout_;
  std::map<std::string, Example> examples_;  // by route path
};

}  // namespace dram::api
