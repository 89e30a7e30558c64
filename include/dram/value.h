#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace dram {

// Days since 1970-01-01.
struct Date {
  int32_t days = 0;
  bool operator==(const Date&) const = default;
};

// Microseconds since 1970-01-01T00:00:00Z.
struct Timestamp {
  int64_t micros = 0;
  bool operator==(const Timestamp&) const = default;
};

// A typed request parameter value, as handed to endpoint handlers and bound to SQL. Never
// spliced into SQL text. A plain value type: copyable, no shared state.
struct Value {
  using List = std::vector<Value>;
  std::variant<std::monostate, bool, int64_t, double, std::string, Date, Timestamp, List> data;

  Value() = default;
  template <typename T>
  Value(T v) : data(std::move(v)) {}  // NOLINT: implicit, like std::variant.
  Value(const char* text) : data(std::string(text)) {}  // NOLINT
  Value(int v) : data(static_cast<int64_t>(v)) {}       // NOLINT

  bool is_null() const { return std::holds_alternative<std::monostate>(data); }
  template <typename T>
  bool is() const { return std::holds_alternative<T>(data); }
  template <typename T>
  const T& as() const { return std::get<T>(data); }
  bool operator==(const Value&) const = default;
};

}  // namespace dram
