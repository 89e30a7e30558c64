#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dram::common {

// Appends `text` as a quoted JSON string. Invalid UTF-8 bytes are replaced by U+FFFD so the
// output is always valid JSON, whatever bytes a data file holds.
void AppendJsonString(std::string& out, std::string_view text);

// Appends `text` escaped for a JSON string, without the quotes.
void AppendJsonEscaped(std::string& out, std::string_view text);

template <typename Int>
inline void AppendInt(std::string& out, Int value) {
  char buf[48];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, end);
}

// Shortest round-trip decimal form. NaN and infinities have no JSON number: they are written
// as null (`json_null_for_nonfinite`) or as the strings "NaN", "Infinity", "-Infinity".
void AppendDouble(std::string& out, double value, bool json_null_for_nonfinite);

// Standard base64 (RFC 4648, with padding).
void AppendBase64(std::string& out, std::string_view bytes);

// The bytes of standard, padded base64 text (what AppendBase64 writes; etcd's JSON keys and
// values); nullopt for any other alphabet, a missing or misplaced '=', or non-zero leftover bits.
std::optional<std::string> DecodeBase64(std::string_view text);

}  // namespace dram::common
