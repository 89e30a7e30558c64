#include "api/code_endpoint_support.h"

#include "api/param_parser.h"
#include "api/project.h"

namespace dram {
Rows::Rows(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Rows::Rows(Rows&&) noexcept = default;
Rows& Rows::operator=(Rows&&) noexcept = default;
Rows::~Rows() = default;
}  // namespace dram

namespace dram::api {

const Value& RequestParams::Get(std::string_view name) const {
  static const Value kNull;
  int index = endpoint_.ParamIndex(name);
  return index < 0 ? kNull : args_.values[index];
}

bool RequestParams::Has(std::string_view name) const {
  int index = endpoint_.ParamIndex(name);
  return index >= 0 && !args_.values[index].is_null();
}

Result<Rows> ConnectionSession::Query(const std::string& sql, const std::vector<Value>& params) {
  ASSIGN_OR_RETURN(auto result, connection_.Query(sql, params));
  return Rows(std::make_unique<Rows::Impl>(Rows::Impl{std::move(result)}));
}

Result<EndpointSpec> SpecFromCode(const CodeEndpoint& code) {
  EndpointSpec spec;
  spec.name = code.name;
  spec.version = code.version;
  spec.dataset = code.dataset;
  spec.description = code.description;
  spec.cache = code.cache;
  spec.default_limit = code.default_limit;
  spec.max_limit = code.max_limit;
  spec.is_code = true;
  spec.position = {"<code endpoint " + code.name + ">", 0, 0};
  if (!code.handler) return InvalidArgument("code endpoint has no handler", code.name);
  for (const auto& decl : code.params) {
    ParamSpec param;
    param.name = decl.name;
    param.required = decl.required;
    param.description = decl.description;
    auto type = ParseParamType(decl.type);
    if (!type || type->type == ParamType::kEnum) {
      return InvalidArgument("unknown param type in code endpoint " + code.name, decl.type);
    }
    param.type = type->type;
    param.is_list = type->is_list;
    if (IsReservedParam(param.name)) return InvalidArgument("reserved param name in code endpoint " + code.name, param.name);
    if (!decl.default_value.empty()) {
      std::vector<std::string> texts = {decl.default_value};
      ASSIGN_OR_RETURN(param.default_value, ParseParamValues(param, texts));
    }
    spec.params.push_back(std::move(param));
  }
  return spec;
}

}  // namespace dram::api
