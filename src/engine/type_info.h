#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dram::engine {

// The kinds of column types dram distinguishes; everything DuckDB can return maps to one.
enum class TypeKind {
  kBoolean, kInteger, kBigInteger, kFloat, kDecimal, kVarchar, kBlob, kDate, kTime, kTimestamp,
  kInterval, kUuid, kEnum, kList, kArray, kStruct, kMap, kUnion, kOther,
  kUnresolved,  // not known before parameters are bound (e.g. range($1) in a template)
};

struct NamedType;

// A DuckDB-free description of a column type, for schemas, OpenAPI and validation.
struct TypeInfo {
  TypeKind kind = TypeKind::kOther;
  std::string sql_name;  // e.g. "DECIMAL(12,2)", "STRUCT(a INTEGER)"
  // kList/kArray/kMap: element (maps: key then value); kStruct/kUnion: named fields.
  std::vector<NamedType> children;
  std::vector<std::string> enum_values;

  bool IsNumeric() const {
    return kind == TypeKind::kInteger || kind == TypeKind::kBigInteger || kind == TypeKind::kFloat ||
           kind == TypeKind::kDecimal;
  }
  bool IsTemporal() const {
    return kind == TypeKind::kDate || kind == TypeKind::kTimestamp || kind == TypeKind::kTime;
  }
  // Whether a column of this type can be part of a partial result members send each other
  // (engine::EncodeColumnar): scalars but BLOB and INTERVAL (BIT, nested and unresolved types
  // neither).
  bool TravelsBetweenMembers() const {
    switch (kind) {
      case TypeKind::kBlob:
      case TypeKind::kList:
      case TypeKind::kArray:
      case TypeKind::kStruct:
      case TypeKind::kMap:
      case TypeKind::kUnion:
      case TypeKind::kInterval:
      case TypeKind::kOther:
      case TypeKind::kUnresolved:
        return false;
      default:
        return true;
    }
  }
};

// A child of a nested type: a STRUCT field, a MAP's key or value, a LIST's element (no name).
struct NamedType {
  std::string name;
  TypeInfo type;
};

struct ColumnInfo {
  std::string name;
  TypeInfo type;
};

}  // namespace dram::engine
