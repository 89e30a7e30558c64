#include "api/cluster_admin.h"

#include <boost/json.hpp>

#include <cstdlib>

#include "api/database_admin.h"
#include "api/error_response.h"

namespace dram::api {

namespace json = boost::json;

bool ClusterAdmin::Handle(const http::Request& request, http::Responder& responder) {
  const std::string& path = request.path;
  if (path != "/cluster" && !path.starts_with("/cluster/")) return false;
  const bool read = request.method == "GET" || request.method == "HEAD";
  if ((path == "/cluster" || path == "/cluster/status") && read) {
    responder(JsonBodyResponse(200, json::serialize(node_.StatusJson())));
    return true;
  }
  if (path.starts_with("/cluster/where/") && read) {
    const std::string database = path.substr(15);
    int shard = -1;
    if (size_t at = request.query.find("shard="); at != std::string::npos) shard = std::atoi(request.query.c_str() + at + 6);
    auto where = node_.WhereJson(database, shard);
    responder(where.ok() ? JsonBodyResponse(200, json::serialize(*where)) : OperationFailedResponse(where.status()));
    return true;
  }
  if (path.starts_with("/cluster/drain/") && request.method == "POST") {
    Status asked = node_.RequestDrain(path.substr(15));
    responder(asked.ok() ? JsonBodyResponse(202, json::serialize(json::object{{"draining", path.substr(15)}}))
                         : OperationFailedResponse(asked));
    return true;
  }
  responder(read || request.method == "POST" ? MakeErrorResponse(NotFound("no such cluster route"), "admin")
                                             : MethodNotAllowedResponse("GET, POST", "admin"));
  return true;
}

}  // namespace dram::api
