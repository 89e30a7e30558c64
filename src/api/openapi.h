#pragma once

#include <boost/json/object.hpp>

#include <string>

#include "api/serving_state.h"

namespace dram::api {

// OpenAPI 3.1 for every route of `state`: query params typed from their declarations, and
// response rows typed from the output columns of each endpoint's snapshot.
std::string RenderOpenApi(const ServingState& state);
// The same document as an object, for callers that add to it (the /docs page's examples).
boost::json::object OpenApiDocument(const ServingState& state);

// A compact JSON description of the endpoints (/schema): params, outputs and their SQL types.
std::string RenderSchema(const ServingState& state);

}  // namespace dram::api
