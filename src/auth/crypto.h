#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/sha256.h"

namespace dram::auth {

using common::HmacSha256;
using common::Sha256Hex;
// Constant-time equality of two byte strings (length differences leak, contents do not).
bool ConstantTimeEquals(std::string_view a, std::string_view b);
// Cryptographically random bytes (OpenSSL RAND_bytes).
std::string RandomBytes(size_t count);
// Base64url without padding (RFC 7515 §2), both ways; Decode returns nullopt on bad input.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace dram::auth
