#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dram::auth {

// SHA-256 of `data` as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256.
std::string HmacSha256(std::string_view key, std::string_view data);
// Constant-time equality of two byte strings (length differences leak, contents do not).
bool ConstantTimeEquals(std::string_view a, std::string_view b);
// Cryptographically random bytes (OpenSSL RAND_bytes).
std::string RandomBytes(size_t count);
// Base64url without padding (RFC 7515 §2), both ways; Decode returns nullopt on bad input.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace dram::auth
