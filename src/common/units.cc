#include "common/units.h"

#include <charconv>
#include <initializer_list>
#include <utility>

namespace dram::common {

namespace {

std::optional<int64_t> ParseWithUnit(std::string_view text, std::initializer_list<std::pair<std::string_view, int64_t>> units,
                                     int64_t bare_multiplier) {
  int64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || number < 0 || end == text.data()) return std::nullopt;
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  int64_t multiplier = unit.empty() ? bare_multiplier : 0;
  for (const auto& [name, value] : units) {
    if (unit == name) multiplier = value;
  }
  if (multiplier == 0 || number > (int64_t{1} << 62) / multiplier) return std::nullopt;
  return number * multiplier;
}

}  // namespace

std::optional<int64_t> ParseDurationMs(std::string_view text) {
  return ParseWithUnit(text, {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}, 1000);
}

std::optional<int64_t> ParseBytes(std::string_view text) {
  constexpr int64_t kKiB = 1024, kMiB = kKiB << 10, kGiB = kMiB << 10, kTiB = kGiB << 10;
  return ParseWithUnit(text,
                       {{"B", 1}, {"KB", kKiB}, {"MB", kMiB}, {"GB", kGiB}, {"TB", kTiB},
                        {"KiB", kKiB}, {"MiB", kMiB}, {"GiB", kGiB}, {"TiB", kTiB}},
                       1);
}

}  // namespace dram::common
