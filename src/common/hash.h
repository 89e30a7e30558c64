#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dram::common {

// FNV-1a, 64 bits: stable across runs and builds (unlike std::hash), for content identifiers
// such as snapshot ids and cache keys. Not for anything adversarial.
class Fnv1a64 {
 public:
  Fnv1a64& Add(std::string_view bytes) {
    for (unsigned char c : bytes) {
      state_ ^= c;
      state_ *= 0x100000001b3ULL;
    }
    // A separator byte, so that Add("ab").Add("c") differs from Add("a").Add("bc").
    state_ ^= 0xFF;
    state_ *= 0x100000001b3ULL;
    return *this;
  }
  Fnv1a64& Add(int64_t number) { return Add(std::string_view(reinterpret_cast<const char*>(&number), sizeof(number))); }
  uint64_t digest() const { return state_; }
  // 16 lowercase hex digits.
  std::string hex() const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 0; i < 16; ++i) out[i] = kHex[(state_ >> (60 - 4 * i)) & 0xF];
    return out;
  }

 private:
  uint64_t state_ = 0xcbf29ce484222325ULL;
};

}  // namespace dram::common
