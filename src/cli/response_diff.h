#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace dram::cli {

// How two response bodies are compared as data.
struct CompareOptions {
  double tolerance = 1e-9;                   // relative: |a - b| <= tolerance * max(|a|, |b|)
  std::set<std::string> ignore;              // field names dropped at every depth
  std::map<std::string, std::string> renames;  // live field name → the candidate's name for it
  bool ordered = false;                      // false: the rows are compared as a multiset
};

// Where two bodies first differ and what each side has there (JSON text, shortened).
struct Difference {
  std::string where;  // "data[3].revenue", "data (rows)", "body"
  std::string live;
  std::string candidate;
};

// Compares two JSON response bodies as data. The payload of a dram envelope is its `data` (its
// `meta` is never compared); any other JSON value is compared whole, except for a top-level
// `meta` field. Numbers compare within the tolerance (integers and doubles alike); object field
// order never matters; the rows of the top-level array are order-insensitive unless `ordered`.
// Bodies that are not JSON compare byte for byte. Returns nullopt when equal, else the first
// difference found. Pure function; thread-safe.
std::optional<Difference> CompareBodies(std::string_view live, std::string_view candidate, const CompareOptions& options);

}  // namespace dram::cli
