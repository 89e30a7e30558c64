#include "cli/response_diff.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <vector>

namespace dram::cli {

namespace json = boost::json;

namespace {

// Above this many rows the unordered comparison does not search for a matching row (quadratic)
// and reports the first difference between the two sorted row lists.
constexpr size_t kMaxMatchedRows = 4000;
constexpr size_t kMaxShownChars = 300;

// JSON text with doubles in their shortest round-trip form (17.5, not Boost's 1.75E1).
void AppendDisplay(const json::value& value, std::string& out) {
  if (value.is_double()) {
    char buffer[32];
    auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value.get_double());
    out.append(buffer, error == std::errc() ? end : buffer);
  } else if (value.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [key, field] : value.get_object()) {
      if (!first) out += ',';
      first = false;
      out += json::serialize(json::string(key));
      out += ':';
      AppendDisplay(field, out);
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    for (size_t i = 0; i < value.get_array().size(); ++i) {
      if (i > 0) out += ',';
      AppendDisplay(value.get_array()[i], out);
    }
    out += ']';
  } else {
    out += json::serialize(value);
  }
}

std::string Show(const json::value& value) {
  std::string text;
  AppendDisplay(value, text);
  if (text.size() > kMaxShownChars) text = text.substr(0, kMaxShownChars) + "…";
  return text;
}

std::string ShowText(std::string_view text) {
  return text.size() > kMaxShownChars ? std::string(text.substr(0, kMaxShownChars)) + "…" : std::string(text);
}

// Drops ignored fields and applies the renames (live side only), at every depth.
json::value Normalize(const json::value& value, const CompareOptions& options, bool live) {
  if (value.is_object()) {
    json::object out;
    for (const auto& [key, field] : value.get_object()) {
      std::string name(key);
      if (options.ignore.count(name)) continue;
      if (live) {
        auto renamed = options.renames.find(name);
        if (renamed != options.renames.end()) name = renamed->second;
      }
      out[name] = Normalize(field, options, live);
    }
    return out;
  }
  if (value.is_array()) {
    json::array out;
    out.reserve(value.get_array().size());
    for (const auto& element : value.get_array()) out.push_back(Normalize(element, options, live));
    return out;
  }
  return value;
}

// The payload: `data` of an envelope (sets `envelope`), else the value without a top-level `meta`.
json::value Payload(json::value body, bool& envelope) {
  envelope = false;
  if (body.is_object()) {
    json::object& object = body.get_object();
    if (object.contains("data")) return envelope = true, object["data"];
    object.erase("meta");
  }
  return body;
}

// A text that is equal for equal values whatever their field order (the sort key of a row).
void AppendCanonical(const json::value& value, std::string& out) {
  if (value.is_object()) {
    std::vector<std::pair<std::string_view, const json::value*>> fields;
    for (const auto& [key, field] : value.get_object()) fields.emplace_back(key, &field);
    std::sort(fields.begin(), fields.end());
    out += '{';
    for (const auto& [key, field] : fields) {
      out += json::serialize(json::string(key));
      out += ':';
      AppendCanonical(*field, out);
      out += ',';
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    for (const auto& element : value.get_array()) AppendCanonical(element, out), out += ',';
    out += ']';
  } else if (value.is_number()) {
    // Integers and doubles with the same value sort together.
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.12g", value.to_number<double>());
    out += buffer;
  } else {
    out += json::serialize(value);
  }
}

class Comparer {
 public:
  explicit Comparer(const CompareOptions& options) : options_(options) {}

  std::optional<Difference> Compare(const json::value& live, const json::value& candidate, const std::string& where,
                                    bool unordered_rows) const {
    if (live.is_number() && candidate.is_number()) {
      if (NumbersEqual(live, candidate)) return std::nullopt;
      return Difference{where, Show(live), Show(candidate)};
    }
    if (live.kind() != candidate.kind()) return Difference{where, Show(live), Show(candidate)};
    if (live.is_object()) return CompareObjects(live.get_object(), candidate.get_object(), where);
    if (live.is_array()) {
      const json::array& a = live.get_array();
      const json::array& b = candidate.get_array();
      if (a.size() != b.size()) {
        return Difference{where + " (rows)", std::to_string(a.size()) + " rows", std::to_string(b.size()) + " rows"};
      }
      return unordered_rows ? CompareUnordered(a, b, where) : CompareOrdered(a, b, where);
    }
    if (live == candidate) return std::nullopt;
    return Difference{where, Show(live), Show(candidate)};
  }

 private:
  bool NumbersEqual(const json::value& a, const json::value& b) const {
    if (!a.is_double() && !b.is_double()) {
      // Two integers: exact (large int64 values do not survive a trip through double).
      if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
      if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    }
    double x = a.to_number<double>();
    double y = b.to_number<double>();
    if (x == y) return true;
    return std::fabs(x - y) <= options_.tolerance * std::max(std::fabs(x), std::fabs(y));
  }

  std::optional<Difference> CompareObjects(const json::object& a, const json::object& b, const std::string& where) const {
    for (const auto& [key, field] : a) {
      std::string at = where.empty() ? std::string(key) : where + "." + std::string(key);
      auto other = b.find(key);
      if (other == b.end()) return Difference{at, Show(field), "(missing)"};
      if (auto difference = Compare(field, other->value(), at, false)) return difference;
    }
    for (const auto& [key, field] : b) {
      if (!a.contains(key)) return Difference{where.empty() ? std::string(key) : where + "." + std::string(key), "(missing)", Show(field)};
    }
    return std::nullopt;
  }

  std::optional<Difference> CompareOrdered(const json::array& a, const json::array& b, const std::string& where) const {
    for (size_t i = 0; i < a.size(); ++i) {
      if (auto difference = Compare(a[i], b[i], where + "[" + std::to_string(i) + "]", false)) return difference;
    }
    return std::nullopt;
  }

  // Rows as a multiset. Fast path: sort both by a canonical text and compare pairwise. When that
  // finds a difference (a real one, or values within the tolerance that sorted apart), match each
  // live row to an equal unmatched candidate row; the first live row without one is reported
  // against the candidate row most like it (most equal fields).
  std::optional<Difference> CompareUnordered(const json::array& a, const json::array& b, const std::string& where) const {
    std::vector<size_t> a_order = SortedOrder(a);
    std::vector<size_t> b_order = SortedOrder(b);
    std::optional<Difference> first;
    for (size_t i = 0; i < a.size() && !first; ++i) {
      first = Compare(a[a_order[i]], b[b_order[i]], where + "[" + std::to_string(a_order[i]) + "]", false);
    }
    if (!first || a.size() > kMaxMatchedRows) return first;
    std::vector<bool> used(b.size(), false);
    for (size_t row_idx = 0; row_idx < a.size(); ++row_idx) {
      bool matched = false;
      for (size_t other_idx = 0; other_idx < b.size() && !matched; ++other_idx) {
        if (!used[other_idx] && !Compare(a[row_idx], b[other_idx], "", false)) used[other_idx] = matched = true;
      }
      if (matched) continue;
      size_t best = b.size();
      int best_score = -1;
      for (size_t other_idx = 0; other_idx < b.size(); ++other_idx) {
        if (used[other_idx]) continue;
        int score = Similarity(a[row_idx], b[other_idx]);
        if (score > best_score) best = other_idx, best_score = score;
      }
      std::string at = where + "[" + std::to_string(row_idx) + "]";
      if (best == b.size()) return Difference{at, Show(a[row_idx]), "(no such row)"};
      return Compare(a[row_idx], b[best], at, false);
    }
    return std::nullopt;
  }

  int Similarity(const json::value& a, const json::value& b) const {
    if (!a.is_object() || !b.is_object()) return 0;
    int score = 0;
    for (const auto& [key, field] : a.get_object()) {
      auto other = b.get_object().find(key);
      if (other != b.get_object().end() && !Compare(field, other->value(), "", false)) ++score;
    }
    return score;
  }

  static std::vector<size_t> SortedOrder(const json::array& rows) {
    std::vector<std::string> keys(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) AppendCanonical(rows[i], keys[i]);
    std::vector<size_t> order(rows.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return keys[x] < keys[y]; });
    return order;
  }

  const CompareOptions& options_;
};

}  // namespace

std::optional<Difference> CompareBodies(std::string_view live, std::string_view candidate, const CompareOptions& options) {
  boost::system::error_code live_error;
  boost::system::error_code candidate_error;
  json::value live_value = json::parse(live, live_error);
  json::value candidate_value = json::parse(candidate, candidate_error);
  if (live_error || candidate_error) {
    if (live == candidate) return std::nullopt;
    return Difference{"body", ShowText(live), ShowText(candidate)};
  }
  bool live_envelope = false;
  bool candidate_envelope = false;
  json::value a = Normalize(Payload(std::move(live_value), live_envelope), options, /*live=*/true);
  json::value b = Normalize(Payload(std::move(candidate_value), candidate_envelope), options, /*live=*/false);
  // The two sides may differ in shape (an old API's bare array against a dram envelope): the
  // payloads are what is compared.
  return Comparer(options).Compare(a, b, live_envelope || candidate_envelope ? "data" : "body", !options.ordered);
}

}  // namespace dram::cli
