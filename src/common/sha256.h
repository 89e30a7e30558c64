#pragma once

#include <string>
#include <string_view>

namespace dram::common {

// SHA-256 of `data` as 64 lowercase hex digits (OpenSSL).
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);
// Lowercase hex of arbitrary bytes.
std::string HexOf(std::string_view bytes);

}  // namespace dram::common
