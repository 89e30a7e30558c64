#include "engine/duckdb_types.h"

#include <string>

namespace dram::engine::internal {

namespace {

std::string TakeString(char* text) {
  std::string out = text ? text : "";
  duckdb_free(text);
  return out;
}

TypeKind KindOf(duckdb_type id) {
  switch (id) {
    case DUCKDB_TYPE_BOOLEAN: return TypeKind::kBoolean;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER: return TypeKind::kInteger;
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_BIGNUM: return TypeKind::kBigInteger;
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE: return TypeKind::kFloat;
    case DUCKDB_TYPE_DECIMAL: return TypeKind::kDecimal;
    case DUCKDB_TYPE_VARCHAR: return TypeKind::kVarchar;
    case DUCKDB_TYPE_BLOB:
    case DUCKDB_TYPE_BIT: return TypeKind::kBlob;
    case DUCKDB_TYPE_DATE: return TypeKind::kDate;
    case DUCKDB_TYPE_TIME:
    case DUCKDB_TYPE_TIME_TZ:
    case DUCKDB_TYPE_TIME_NS: return TypeKind::kTime;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
    case DUCKDB_TYPE_TIMESTAMP_TZ: return TypeKind::kTimestamp;
    case DUCKDB_TYPE_INTERVAL: return TypeKind::kInterval;
    case DUCKDB_TYPE_UUID: return TypeKind::kUuid;
    case DUCKDB_TYPE_ENUM: return TypeKind::kEnum;
    case DUCKDB_TYPE_LIST: return TypeKind::kList;
    case DUCKDB_TYPE_ARRAY: return TypeKind::kArray;
    case DUCKDB_TYPE_STRUCT: return TypeKind::kStruct;
    case DUCKDB_TYPE_MAP: return TypeKind::kMap;
    case DUCKDB_TYPE_UNION: return TypeKind::kUnion;
    case DUCKDB_TYPE_INVALID: return TypeKind::kUnresolved;
    default: return TypeKind::kOther;
  }
}

std::string ScalarName(duckdb_type id) {
  switch (id) {
    case DUCKDB_TYPE_BOOLEAN: return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT: return "TINYINT";
    case DUCKDB_TYPE_SMALLINT: return "SMALLINT";
    case DUCKDB_TYPE_INTEGER: return "INTEGER";
    case DUCKDB_TYPE_BIGINT: return "BIGINT";
    case DUCKDB_TYPE_UTINYINT: return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT: return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER: return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT: return "UBIGINT";
    case DUCKDB_TYPE_HUGEINT: return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT: return "UHUGEINT";
    case DUCKDB_TYPE_BIGNUM: return "BIGNUM";
    case DUCKDB_TYPE_FLOAT: return "FLOAT";
    case DUCKDB_TYPE_DOUBLE: return "DOUBLE";
    case DUCKDB_TYPE_VARCHAR: return "VARCHAR";
    case DUCKDB_TYPE_BLOB: return "BLOB";
    case DUCKDB_TYPE_BIT: return "BIT";
    case DUCKDB_TYPE_DATE: return "DATE";
    case DUCKDB_TYPE_TIME: return "TIME";
    case DUCKDB_TYPE_TIME_TZ: return "TIME WITH TIME ZONE";
    case DUCKDB_TYPE_TIME_NS: return "TIME_NS";
    case DUCKDB_TYPE_TIMESTAMP: return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_S: return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS: return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS: return "TIMESTAMP_NS";
    case DUCKDB_TYPE_TIMESTAMP_TZ: return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_INTERVAL: return "INTERVAL";
    case DUCKDB_TYPE_UUID: return "UUID";
    case DUCKDB_TYPE_SQLNULL: return "NULL";
    default: return "UNKNOWN";
  }
}

}  // namespace

TypeInfo DescribeType(duckdb_logical_type type) {
  TypeInfo info;
  duckdb_type id = duckdb_get_type_id(type);
  info.kind = KindOf(id);
  switch (id) {
    case DUCKDB_TYPE_DECIMAL:
      info.sql_name = "DECIMAL(" + std::to_string(duckdb_decimal_width(type)) + "," +
                      std::to_string(duckdb_decimal_scale(type)) + ")";
      break;
    case DUCKDB_TYPE_ENUM: {
      uint32_t size = duckdb_enum_dictionary_size(type);
      for (uint32_t i = 0; i < size; ++i) info.enum_values.push_back(TakeString(duckdb_enum_dictionary_value(type, i)));
      info.sql_name = "ENUM";
      break;
    }
    case DUCKDB_TYPE_LIST: {
      OwnedLogicalType child(duckdb_list_type_child_type(type));
      info.children.push_back({"", DescribeType(child.type)});
      info.sql_name = info.children[0].type.sql_name + "[]";
      break;
    }
    case DUCKDB_TYPE_ARRAY: {
      OwnedLogicalType child(duckdb_array_type_child_type(type));
      info.children.push_back({"", DescribeType(child.type)});
      info.sql_name = info.children[0].type.sql_name + "[" + std::to_string(duckdb_array_type_array_size(type)) + "]";
      break;
    }
    case DUCKDB_TYPE_MAP: {
      OwnedLogicalType key(duckdb_map_type_key_type(type));
      OwnedLogicalType value(duckdb_map_type_value_type(type));
      info.children.push_back({"key", DescribeType(key.type)});
      info.children.push_back({"value", DescribeType(value.type)});
      info.sql_name = "MAP(" + info.children[0].type.sql_name + ", " + info.children[1].type.sql_name + ")";
      break;
    }
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_UNION: {
      bool is_union = id == DUCKDB_TYPE_UNION;
      idx_t count = is_union ? duckdb_union_type_member_count(type) : duckdb_struct_type_child_count(type);
      info.sql_name = is_union ? "UNION(" : "STRUCT(";
      for (idx_t i = 0; i < count; ++i) {
        std::string name = TakeString(is_union ? duckdb_union_type_member_name(type, i)
                                               : duckdb_struct_type_child_name(type, i));
        OwnedLogicalType child(is_union ? duckdb_union_type_member_type(type, i) : duckdb_struct_type_child_type(type, i));
        info.children.push_back({name, DescribeType(child.type)});
        if (i > 0) info.sql_name += ", ";
        info.sql_name += name + " " + info.children.back().type.sql_name;
      }
      info.sql_name += ")";
      break;
    }
    default:
      info.sql_name = ScalarName(id);
  }
  return info;
}

}  // namespace dram::engine::internal
