#include "api/openapi.h"

#include <boost/json.hpp>

#include <map>

#include "api/project.h"

namespace dram::api {

namespace json = boost::json;

namespace {

json::object ParamSchema(const ParamSpec& param) {
  json::object scalar;
  switch (param.type) {
    case ParamType::kString: scalar["type"] = "string"; scalar["maxLength"] = param.max_length; break;
    case ParamType::kInteger: scalar["type"] = "integer"; break;
    case ParamType::kNumber: scalar["type"] = "number"; break;
    case ParamType::kBoolean: scalar["type"] = "boolean"; break;
    case ParamType::kDate: scalar["type"] = "string"; scalar["format"] = "date"; break;
    case ParamType::kTimestamp: scalar["type"] = "string"; scalar["format"] = "date-time"; break;
    case ParamType::kEnum: {
      scalar["type"] = "string";
      json::array values;
      for (const auto& v : param.enum_values) values.emplace_back(v);
      for (const auto& [alias, target] : param.value_aliases) values.emplace_back(alias);
      scalar["enum"] = std::move(values);
      break;
    }
  }
  if (param.min) scalar["minimum"] = *param.min;
  if (param.max) scalar["maximum"] = *param.max;
  if (!param.is_list) return scalar;
  return json::object{{"type", "array"}, {"items", std::move(scalar)}, {"maxItems", param.max_items}};
}

json::object TypeSchema(const engine::TypeInfo& type) {
  json::object schema;
  auto nullable = [](const char* name) { return json::array{name, "null"}; };
  switch (type.kind) {
    case engine::TypeKind::kBoolean: schema["type"] = nullable("boolean"); break;
    case engine::TypeKind::kInteger:
    case engine::TypeKind::kBigInteger: schema["type"] = nullable("integer"); break;
    case engine::TypeKind::kFloat:
    case engine::TypeKind::kDecimal: schema["type"] = nullable("number"); break;
    case engine::TypeKind::kDate: schema["type"] = nullable("string"); schema["format"] = "date"; break;
    case engine::TypeKind::kTimestamp:
      schema["type"] = nullable("string");
      if (type.sql_name == "TIMESTAMP WITH TIME ZONE") {
        schema["format"] = "date-time";  // rendered with its offset, as RFC 3339 requires
      } else {
        // A naive timestamp has no offset, so it is not an RFC 3339 date-time.
        schema["pattern"] = "^(-?\\d{4,}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?|-?infinity)$";
        schema["description"] = "a timestamp without offset (local to the data)";
      }
      break;
    case engine::TypeKind::kTime: schema["type"] = nullable("string"); schema["format"] = "time"; break;
    case engine::TypeKind::kInterval: schema["type"] = nullable("string"); schema["format"] = "duration"; break;
    case engine::TypeKind::kUuid: schema["type"] = nullable("string"); schema["format"] = "uuid"; break;
    case engine::TypeKind::kBlob: schema["type"] = nullable("string"); schema["contentEncoding"] = "base64"; break;
    case engine::TypeKind::kEnum: {
      schema["type"] = nullable("string");
      json::array values;
      for (const auto& v : type.enum_values) values.emplace_back(v);
      schema["enum"] = std::move(values);
      break;
    }
    case engine::TypeKind::kList:
    case engine::TypeKind::kArray:
      schema["type"] = nullable("array");
      schema["items"] = TypeSchema(type.children[0].type);
      break;
    case engine::TypeKind::kStruct: {
      schema["type"] = nullable("object");
      json::object properties;
      for (const auto& [name, child] : type.children) properties[name] = TypeSchema(child);
      schema["properties"] = std::move(properties);
      break;
    }
    case engine::TypeKind::kMap:
      schema["type"] = nullable("object");
      schema["additionalProperties"] = TypeSchema(type.children[1].type);
      break;
    case engine::TypeKind::kVarchar: schema["type"] = nullable("string"); break;
    default: break;  // UNION and others: any JSON value
  }
  if (!type.sql_name.empty()) schema["x-sql-type"] = type.sql_name;
  return schema;
}

json::object QueryParam(const std::string& name, json::object schema, const std::string& description, bool required) {
  json::object param{{"name", name}, {"in", "query"}, {"required", required}, {"schema", std::move(schema)}};
  if (!description.empty()) param["description"] = description;
  if (param["schema"].as_object().contains("items")) {
    param["style"] = "form";
    param["explode"] = false;
  }
  return param;
}

json::object ErrorResponse(const char* description) {
  return {{"description", description},
          {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}

json::object Operation(const Route& route) {
  const CompiledEndpoint& endpoint = *route.endpoint;
  const EndpointSpec& spec = endpoint.spec();
  json::array params;
  for (size_t i = 0; i < spec.params.size(); ++i) {
    const ParamSpec& param = spec.params[i];
    json::object schema = ParamSchema(param);
    std::string description = param.description;
    if (spec.sort && spec.sort->param == param.name) {
      // The sort param takes an allowed column, or '-' and one for descending order.
      json::array choices;
      for (const auto& column : spec.sort->allowed) choices.emplace_back(column);
      for (const auto& column : spec.sort->allowed) choices.emplace_back("-" + column);
      schema = {{"type", "string"}, {"enum", std::move(choices)}};
      if (!spec.sort->default_value.empty()) schema["default"] = spec.sort->default_value;
    }
    if (endpoint.MeansWholeDays(static_cast<int>(i))) {
      description += std::string(description.empty() ? "" : " ") +
                     "Compared with a timestamp column, a date means the whole day (UTC): up to and including its last instant.";
    }
    params.push_back(QueryParam(param.name, std::move(schema), description, param.required));
  }
  params.push_back(QueryParam("limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", spec.max_limit}, {"default", spec.default_limit}},
                              "Rows per page.", false));
  params.push_back(QueryParam("offset", {{"type", "integer"}, {"minimum", 0}, {"default", 0}}, "Rows to skip.", false));
  json::array column_names;
  json::object row_properties;
  for (const auto& column : endpoint.outputs()) {
    column_names.emplace_back(column.name);
    row_properties[column.name] = TypeSchema(column.type);
  }
  if (!endpoint.outputs().empty()) {
    params.push_back(QueryParam("columns", {{"type", "array"}, {"items", {{"type", "string"}, {"enum", column_names}}}},
                                "Subset of columns to return.", false));
  }
  json::array formats;
  for (const auto& f : spec.formats) formats.emplace_back(f);
  params.push_back(QueryParam("format", {{"type", "string"}, {"enum", formats}}, "Output format (or use Accept).", false));
  params.push_back(QueryParam("total", {{"type", "boolean"}}, "Also count all matching rows (meta.total).", false));

  json::object row{{"type", "object"}, {"properties", std::move(row_properties)}};
  json::object envelope{{"type", "object"},
                        {"required", json::array{"data", "meta"}},
                        {"properties", {{"data", {{"type", "array"}, {"items", std::move(row)}}},
                                        {"meta", {{"$ref", "#/components/schemas/Meta"}}}}}};
  json::object content{{"application/json", {{"schema", std::move(envelope)}}}};
  for (const auto& f : spec.formats) {
    if (f == "csv") content["text/csv"] = json::object{{"schema", {{"type", "string"}}}};
    if (f == "ndjson") content["application/x-ndjson"] = json::object{{"schema", {{"type", "string"}}}};
  }
  json::object operation{{"operationId", spec.name + "_v" + std::to_string(spec.version)},
                         {"summary", spec.description.empty() ? spec.name : spec.description},
                         {"parameters", std::move(params)},
                         {"responses", {{"200", {{"description", "Rows"}, {"content", std::move(content)}}},
                                        {"304", {{"description", "Not modified (ETag)"}}},
                                        {"404", ErrorResponse("No such endpoint")},
                                        {"422", ErrorResponse("Invalid parameter")},
                                        {"503", ErrorResponse("Not ready or overloaded")}}}};
  if (!spec.owner.empty()) operation["x-owner"] = spec.owner;
  operation["x-dataset"] = spec.dataset;
  return operation;
}

}  // namespace

std::string RenderOpenApi(const ServingState& state) { return json::serialize(OpenApiDocument(state)); }

json::object OpenApiDocument(const ServingState& state) {
  std::map<std::string, const Route*> sorted;
  for (const auto& [path, route] : state.routes) {
    if (route.endpoint) sorted[path] = &route;
  }
  json::object paths;
  for (const auto& [path, route] : sorted) paths[path] = json::object{{"get", Operation(*route)}};
  json::object error{{"type", "object"},
                     {"properties", {{"error", {{"type", "object"},
                                                {"properties", {{"code", {{"type", "string"}}},
                                                                {"message", {{"type", "string"}}},
                                                                {"request_id", {{"type", "string"}}}}}}}}}};
  json::object meta{{"type", "object"},
                    {"properties", {{"request_id", {{"type", "string"}}}, {"endpoint", {{"type", "string"}}},
                                    {"version", {{"type", "integer"}}}, {"snapshot_id", {{"type", "string"}}},
                                    {"generated_at", {{"type", "string"}, {"format", "date-time"}}},
                                    {"row_count", {{"type", "integer"}}}, {"limit", {{"type", "integer"}}},
                                    {"offset", {{"type", "integer"}}}, {"total", {{"type", "integer"}}},
                                    {"cache", {{"type", "string"}, {"enum", {"hit", "miss", "off"}}}},
                                    {"freshness", {{"type", "object"}}}}}};
  json::object doc{{"openapi", "3.1.0"},
                   {"info", {{"title", "dram API"}, {"version", "1"}}},
                   {"paths", std::move(paths)},
                   {"components", {{"schemas", {{"Error", std::move(error)}, {"Meta", std::move(meta)}}}}}};
  return doc;
}

std::string RenderSchema(const ServingState& state) {
  std::map<std::string, const Route*> sorted;
  for (const auto& [path, route] : state.routes) {
    if (route.endpoint) sorted[path] = &route;
  }
  json::array endpoints;
  for (const auto& [path, route] : sorted) {
    const EndpointSpec& spec = route->endpoint->spec();
    json::array params;
    for (const auto& p : spec.params) {
      params.push_back({{"name", p.name}, {"type", std::string(ParamTypeName(p.type))}, {"list", p.is_list}, {"required", p.required}});
    }
    json::array columns;
    for (const auto& c : route->endpoint->outputs()) columns.push_back({{"name", c.name}, {"type", c.type.sql_name}});
    endpoints.push_back({{"path", path}, {"name", spec.name}, {"version", spec.version}, {"dataset", spec.dataset},
                         {"description", spec.description}, {"params", std::move(params)}, {"columns", std::move(columns)},
                         {"snapshot_id", route->snapshot ? route->snapshot->id() : ""}});
  }
  return json::serialize(json::object{{"endpoints", std::move(endpoints)}});
}

}  // namespace dram::api
