#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dram::store::internal {

// MD5 of several independent byte streams at once, one stream per SIMD lane. MD5 is a chain of
// dependent steps, so one stream keeps a core's vector units idle (OpenSSL: ~650 MB/s); eight
// streams side by side cost about what one does. The digests are plain MD5 (RFC 1321), equal to
// OpenSSL's for the same bytes (md5_lanes_test.cc checks this).
constexpr int kMd5Lanes = 8;
constexpr size_t kMd5BlockBytes = 64;

// One stream's running state. A value type; not thread-safe (one owner at a time).
struct Md5State {
  uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  uint64_t bytes = 0;  // hashed so far (whole blocks)
};

// Advances `count` (1..kMd5Lanes) states, each over `blocks` 64-byte blocks of its own data
// (`data[i]` holds blocks * 64 bytes for `states[i]`). Lanes without a stream do no harm.
void Md5Blocks(Md5State* const states[], const unsigned char* const data[], int count, size_t blocks);

// Hashes the stream's last bytes (`tail`: fewer than 64, or any length: whole blocks go first)
// with MD5's padding and returns the digest as 32 lowercase hex digits.
std::string Md5Finish(Md5State& state, std::string_view tail);

}  // namespace dram::store::internal
