#pragma once

#include <cstdint>
#include <string_view>

namespace dram::common {

// A 64-bit hash that is the same on every platform, compiler and build (std::hash is not), for the
// decisions every member makes on its own and must agree on: placement and splitting files into
// shards. A value type; not thread-safe to mutate, cheap to copy.
//
// FNV-1a over the fields, then MurmurHash3's fmix64. Each string is prefixed by its length, so
// ("ab", "c") and ("a", "bc") differ; numbers go in as 8 little-endian bytes whatever the host's
// byte order. The finalizer is there because bit k of an FNV product depends only on bits <= k of
// its input, so FNV-1a alone leaves the low bits of inputs that differ in their last bytes (member
// ids "m1", "m2") correlated, and rendezvous scores use all 64 bits.
//
// Changing anything here reshuffles every cluster's placement: placement_test.cc pins its values.
class StableHash {
 public:
  StableHash& AddBytes(std::string_view bytes) {
    AddNumber(bytes.size());
    for (unsigned char c : bytes) Mix(c);
    return *this;
  }
  StableHash& AddNumber(uint64_t number) {
    for (int i = 0; i < 8; ++i) Mix(static_cast<unsigned char>(number >> (8 * i)));
    return *this;
  }
  uint64_t Finish() const {
    uint64_t h = state_;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
  }

 private:
  void Mix(unsigned char c) {
    state_ ^= c;
    state_ *= 0x100000001b3ULL;
  }

  uint64_t state_ = 0xcbf29ce484222325ULL;
};

}  // namespace dram::common
