#pragma once

#include "api/compiled_endpoint.h"
#include "dram/endpoint.h"
#include "engine/connection.h"
#include "engine/query_result.h"

namespace dram {
// The engine result behind dram::Rows.
struct Rows::Impl {
  engine::QueryResult result;
};
}  // namespace dram

namespace dram::api {

// dram::Params over one request's parsed args.
class RequestParams : public Params {
 public:
  RequestParams(const CompiledEndpoint& endpoint, const RequestArgs& args) : endpoint_(endpoint), args_(args) {}
  const Value& Get(std::string_view name) const override;
  bool Has(std::string_view name) const override;

 private:
  const CompiledEndpoint& endpoint_;
  const RequestArgs& args_;
};

// dram::QuerySession over a pooled engine connection.
class ConnectionSession : public QuerySession {
 public:
  explicit ConnectionSession(engine::Connection& connection) : connection_(connection) {}
  Result<Rows> Query(const std::string& sql, const std::vector<Value>& params) override;

 private:
  engine::Connection& connection_;
};

// Turns a CodeEndpoint declaration into an EndpointSpec (params parsed like YAML ones).
// Errors: InvalidArgument naming the bad declaration.
Result<EndpointSpec> SpecFromCode(const CodeEndpoint& code);

}  // namespace dram::api
