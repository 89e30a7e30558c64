#pragma once

#include <string>
#include <vector>

#include "dram/value.h"

namespace dram::database {

// One conjunct of a query's WHERE clause, as far as file pruning is concerned. Anything a
// predicate cannot express (OR, functions, …) is simply not given: pruning only ever keeps more.
struct Predicate {
  enum class Op { kEq, kIn, kLt, kLte, kGt, kGte };
  std::string column;
  Op op = Op::kEq;
  std::vector<Value> values;  // one, or several for kIn
};

}  // namespace dram::database
