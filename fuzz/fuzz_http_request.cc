// Fuzzes the request path below the socket: Beast's parser with the server's limits, then query
// decoding and an endpoint's request validation (params of every type, limit/offset, columns,
// format), and the SQL plan built from whatever validated.
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "api/compiled_endpoint.h"
#include "api/query_string.h"
#include "database/snapshot_builder.h"

namespace {

struct Fixture {
  std::unique_ptr<dram::database::Snapshot> snapshot;
  std::unique_ptr<dram::api::CompiledEndpoint> endpoint;
};

Fixture& Get() {
  static Fixture* fixture = [] {
    auto* f = new Fixture();
    auto dir = std::filesystem::temp_directory_path() / ("dram-fuzz-http-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "t.csv") << "id,name,day,score,tenant\n1,a,2024-01-01,1.5,x\n";
    dram::database::DatasetSpec dataset{.name = "d", .tables = {{.name = "t", .path = (dir / "t.csv").string()}}};
    f->snapshot = std::move(dram::database::OpenSourceViews(dataset)).value();
    dram::api::EndpointSpec spec{.name = "e", .dataset = "d", .table = "t", .tenant_column = "tenant"};
    auto param = [](std::string name, dram::api::ParamType type, bool list = false) {
      dram::api::ParamSpec p;
      p.name = std::move(name);
      p.type = type;
      p.is_list = list;
      return p;
    };
    spec.params = {param("id", dram::api::ParamType::kInteger, true), param("name", dram::api::ParamType::kString),
                   param("from", dram::api::ParamType::kDate), param("score", dram::api::ParamType::kNumber),
                   param("sort", dram::api::ParamType::kString)};
    spec.filters = {{.column = "id", .op = dram::api::FilterOp::kIn, .params = {"id"}},
                    {.column = "name", .op = dram::api::FilterOp::kPrefix, .params = {"name"}},
                    {.column = "day", .op = dram::api::FilterOp::kBetween, .params = {"from", "from"}},
                    {.column = "score", .op = dram::api::FilterOp::kGt, .params = {"score"}}};
    spec.sort = dram::api::SortParamSpec{.param = "sort", .allowed = {"id", "day"}, .default_value = "id"};
    dram::common::Diagnostics diagnostics;
    f->endpoint = dram::api::CompiledEndpoint::Compile(spec, *f->snapshot, diagnostics);
    if (!f->endpoint) __builtin_trap();
    return f;
  }();
  return *fixture;
}

}  // namespace

// Fixtures are built before the first input, so libFuzzer's per-input leak check does not count
// objects that live for the whole run.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& fixture = Get();
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  std::string_view target = parser.get().target();
  size_t question = target.find('?');
  if (question == std::string_view::npos) return 0;
  auto query = dram::api::ParseQueryString(target.substr(question + 1));
  if (!query.ok()) return 0;
  auto args = fixture.endpoint->ParseRequest(*query, parser.get()[http::field::accept]);
  if (!args.ok()) return 0;
  fixture.endpoint->SetTenant(*args, "x");
  dram::api::QueryPlan plan = fixture.endpoint->Plan(*args);
  // Values are bound: no byte of the request may reach the SQL text.
  if (plan.sql.find('\'') != std::string::npos) __builtin_trap();
  if (plan.sql.find("\"tenant\" = $1") == std::string::npos) __builtin_trap();
  return 0;
}
