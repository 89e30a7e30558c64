#include "store/internal/md5_lanes.h"

#include <bit>
#include <cstring>

#include "common/sha256.h"

namespace dram::store::internal {

namespace {

static_assert(std::endian::native == std::endian::little, "MD5 words are read as little-endian loads");

// Eight 32-bit lanes. GCC lowers the arithmetic to whatever the kernel's target has: one AVX2 or
// AVX-512VL register (with native rotates and three-input logic), or two SSE2 registers. The
// helpers below are always inlined into a kernel, so a vector never crosses a call and GCC's
// note that 32-byte vector arguments change the ABI without AVX does not apply.
using Lanes = uint32_t __attribute__((vector_size(32)));
#pragma GCC diagnostic ignored "-Wpsabi"  // GCC and Clang both
#define DRAM_INLINE [[gnu::always_inline]] inline

template <int kShift>
DRAM_INLINE Lanes Rotl(Lanes x) {
  return (x << kShift) | (x >> (32 - kShift));
}

DRAM_INLINE Lanes F(Lanes b, Lanes c, Lanes d) { return d ^ (b & (c ^ d)); }
DRAM_INLINE Lanes G(Lanes b, Lanes c, Lanes d) { return c ^ (d & (b ^ c)); }
DRAM_INLINE Lanes H(Lanes b, Lanes c, Lanes d) { return b ^ c ^ d; }
DRAM_INLINE Lanes I(Lanes b, Lanes c, Lanes d) { return c ^ (b | ~d); }

// One step of an 8x8 transpose of 32-bit words (rows `a`, `b` = rows i, i + kStride with bit
// kStride of i clear): swaps a's words in columns with that bit set for b's words kStride columns
// to the left. The three strides 1, 2, 4 together transpose; each is one two-source shuffle
// (vpermt2d with AVX-512).
template <int kStride>
DRAM_INLINE void TransposeStep(Lanes& a, Lanes& b) {
  constexpr int s = kStride;
#define DRAM_TO_A(p) ((p) & s ? 8 + (p) - s : (p))
#define DRAM_TO_B(p) ((p) & s ? 8 + (p) : (p) + s)
  const Lanes new_a = __builtin_shufflevector(a, b, DRAM_TO_A(0), DRAM_TO_A(1), DRAM_TO_A(2), DRAM_TO_A(3), DRAM_TO_A(4),
                                              DRAM_TO_A(5), DRAM_TO_A(6), DRAM_TO_A(7));
  b = __builtin_shufflevector(a, b, DRAM_TO_B(0), DRAM_TO_B(1), DRAM_TO_B(2), DRAM_TO_B(3), DRAM_TO_B(4), DRAM_TO_B(5),
                              DRAM_TO_B(6), DRAM_TO_B(7));
#undef DRAM_TO_A
#undef DRAM_TO_B
  a = new_a;
}

// Words [first, first + 8) of the current block of every lane, as eight vectors of one word each
// (m[first + j] holds word first + j of lanes 0..7): eight row loads and a transpose, instead of
// 64 single-word inserts.
DRAM_INLINE void LoadWords(const unsigned char* const data[kMd5Lanes], size_t offset, Lanes* m) {
  for (int lane = 0; lane < kMd5Lanes; ++lane) std::memcpy(&m[lane], data[lane] + offset, sizeof(Lanes));
  for (int i : {0, 2, 4, 6}) TransposeStep<1>(m[i], m[i + 1]);
  for (int i : {0, 1, 4, 5}) TransposeStep<2>(m[i], m[i + 2]);
  for (int i : {0, 1, 2, 3}) TransposeStep<4>(m[i], m[i + 4]);
}

#define DRAM_MD5_STEP(fn, a, b, c, d, word, k, s) a = b + Rotl<s>(a + fn(b, c, d) + m[word] + uint32_t{k})

// RFC 1321's 64 steps over one block of each lane.
DRAM_INLINE void Compress(Lanes& a0, Lanes& b0, Lanes& c0, Lanes& d0, const Lanes m[16]) {
  Lanes a = a0, b = b0, c = c0, d = d0;
  DRAM_MD5_STEP(F, a, b, c, d, 0, 0xd76aa478, 7);
  DRAM_MD5_STEP(F, d, a, b, c, 1, 0xe8c7b756, 12);
  DRAM_MD5_STEP(F, c, d, a, b, 2, 0x242070db, 17);
  DRAM_MD5_STEP(F, b, c, d, a, 3, 0xc1bdceee, 22);
  DRAM_MD5_STEP(F, a, b, c, d, 4, 0xf57c0faf, 7);
  DRAM_MD5_STEP(F, d, a, b, c, 5, 0x4787c62a, 12);
  DRAM_MD5_STEP(F, c, d, a, b, 6, 0xa8304613, 17);
  DRAM_MD5_STEP(F, b, c, d, a, 7, 0xfd469501, 22);
  DRAM_MD5_STEP(F, a, b, c, d, 8, 0x698098d8, 7);
  DRAM_MD5_STEP(F, d, a, b, c, 9, 0x8b44f7af, 12);
  DRAM_MD5_STEP(F, c, d, a, b, 10, 0xffff5bb1, 17);
  DRAM_MD5_STEP(F, b, c, d, a, 11, 0x895cd7be, 22);
  DRAM_MD5_STEP(F, a, b, c, d, 12, 0x6b901122, 7);
  DRAM_MD5_STEP(F, d, a, b, c, 13, 0xfd987193, 12);
  DRAM_MD5_STEP(F, c, d, a, b, 14, 0xa679438e, 17);
  DRAM_MD5_STEP(F, b, c, d, a, 15, 0x49b40821, 22);
  DRAM_MD5_STEP(G, a, b, c, d, 1, 0xf61e2562, 5);
  DRAM_MD5_STEP(G, d, a, b, c, 6, 0xc040b340, 9);
  DRAM_MD5_STEP(G, c, d, a, b, 11, 0x265e5a51, 14);
  DRAM_MD5_STEP(G, b, c, d, a, 0, 0xe9b6c7aa, 20);
  DRAM_MD5_STEP(G, a, b, c, d, 5, 0xd62f105d, 5);
  DRAM_MD5_STEP(G, d, a, b, c, 10, 0x02441453, 9);
  DRAM_MD5_STEP(G, c, d, a, b, 15, 0xd8a1e681, 14);
  DRAM_MD5_STEP(G, b, c, d, a, 4, 0xe7d3fbc8, 20);
  DRAM_MD5_STEP(G, a, b, c, d, 9, 0x21e1cde6, 5);
  DRAM_MD5_STEP(G, d, a, b, c, 14, 0xc33707d6, 9);
  DRAM_MD5_STEP(G, c, d, a, b, 3, 0xf4d50d87, 14);
  DRAM_MD5_STEP(G, b, c, d, a, 8, 0x455a14ed, 20);
  DRAM_MD5_STEP(G, a, b, c, d, 13, 0xa9e3e905, 5);
  DRAM_MD5_STEP(G, d, a, b, c, 2, 0xfcefa3f8, 9);
  DRAM_MD5_STEP(G, c, d, a, b, 7, 0x676f02d9, 14);
  DRAM_MD5_STEP(G, b, c, d, a, 12, 0x8d2a4c8a, 20);
  DRAM_MD5_STEP(H, a, b, c, d, 5, 0xfffa3942, 4);
  DRAM_MD5_STEP(H, d, a, b, c, 8, 0x8771f681, 11);
  DRAM_MD5_STEP(H, c, d, a, b, 11, 0x6d9d6122, 16);
  DRAM_MD5_STEP(H, b, c, d, a, 14, 0xfde5380c, 23);
  DRAM_MD5_STEP(H, a, b, c, d, 1, 0xa4beea44, 4);
  DRAM_MD5_STEP(H, d, a, b, c, 4, 0x4bdecfa9, 11);
  DRAM_MD5_STEP(H, c, d, a, b, 7, 0xf6bb4b60, 16);
  DRAM_MD5_STEP(H, b, c, d, a, 10, 0xbebfbc70, 23);
  DRAM_MD5_STEP(H, a, b, c, d, 13, 0x289b7ec6, 4);
  DRAM_MD5_STEP(H, d, a, b, c, 0, 0xeaa127fa, 11);
  DRAM_MD5_STEP(H, c, d, a, b, 3, 0xd4ef3085, 16);
  DRAM_MD5_STEP(H, b, c, d, a, 6, 0x04881d05, 23);
  DRAM_MD5_STEP(H, a, b, c, d, 9, 0xd9d4d039, 4);
  DRAM_MD5_STEP(H, d, a, b, c, 12, 0xe6db99e5, 11);
  DRAM_MD5_STEP(H, c, d, a, b, 15, 0x1fa27cf8, 16);
  DRAM_MD5_STEP(H, b, c, d, a, 2, 0xc4ac5665, 23);
  DRAM_MD5_STEP(I, a, b, c, d, 0, 0xf4292244, 6);
  DRAM_MD5_STEP(I, d, a, b, c, 7, 0x432aff97, 10);
  DRAM_MD5_STEP(I, c, d, a, b, 14, 0xab9423a7, 15);
  DRAM_MD5_STEP(I, b, c, d, a, 5, 0xfc93a039, 21);
  DRAM_MD5_STEP(I, a, b, c, d, 12, 0x655b59c3, 6);
  DRAM_MD5_STEP(I, d, a, b, c, 3, 0x8f0ccc92, 10);
  DRAM_MD5_STEP(I, c, d, a, b, 10, 0xffeff47d, 15);
  DRAM_MD5_STEP(I, b, c, d, a, 1, 0x85845dd1, 21);
  DRAM_MD5_STEP(I, a, b, c, d, 8, 0x6fa87e4f, 6);
  DRAM_MD5_STEP(I, d, a, b, c, 15, 0xfe2ce6e0, 10);
  DRAM_MD5_STEP(I, c, d, a, b, 6, 0xa3014314, 15);
  DRAM_MD5_STEP(I, b, c, d, a, 13, 0x4e0811a1, 21);
  DRAM_MD5_STEP(I, a, b, c, d, 4, 0xf7537e82, 6);
  DRAM_MD5_STEP(I, d, a, b, c, 11, 0xbd3af235, 10);
  DRAM_MD5_STEP(I, c, d, a, b, 2, 0x2ad7d2bb, 15);
  DRAM_MD5_STEP(I, b, c, d, a, 9, 0xeb86d391, 21);
  a0 += a;
  b0 += b;
  c0 += c;
  d0 += d;
}

#undef DRAM_MD5_STEP

DRAM_INLINE void KernelBody(uint32_t state[4][kMd5Lanes], const unsigned char* const data[kMd5Lanes], size_t blocks) {
  Lanes a, b, c, d;
  std::memcpy(&a, state[0], sizeof(a));
  std::memcpy(&b, state[1], sizeof(b));
  std::memcpy(&c, state[2], sizeof(c));
  std::memcpy(&d, state[3], sizeof(d));
  for (size_t block = 0; block < blocks; ++block) {
    Lanes m[16];
    LoadWords(data, block * kMd5BlockBytes, m);
    LoadWords(data, block * kMd5BlockBytes + sizeof(Lanes), m + 8);
    Compress(a, b, c, d, m);
  }
  std::memcpy(state[0], &a, sizeof(a));
  std::memcpy(state[1], &b, sizeof(b));
  std::memcpy(state[2], &c, sizeof(c));
  std::memcpy(state[3], &d, sizeof(d));
}

// The same body compiled per instruction set; the CPU picks one once, at load.
using Kernel = void (*)(uint32_t[4][kMd5Lanes], const unsigned char* const[kMd5Lanes], size_t);

[[gnu::target("avx512f,avx512vl")]] void KernelAvx512(uint32_t state[4][kMd5Lanes],
                                                      const unsigned char* const data[kMd5Lanes], size_t blocks) {
  KernelBody(state, data, blocks);
}

[[gnu::target("avx2")]] void KernelAvx2(uint32_t state[4][kMd5Lanes], const unsigned char* const data[kMd5Lanes],
                                        size_t blocks) {
  KernelBody(state, data, blocks);
}

void KernelPortable(uint32_t state[4][kMd5Lanes], const unsigned char* const data[kMd5Lanes], size_t blocks) {
  KernelBody(state, data, blocks);
}

Kernel PickKernel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vl")) return KernelAvx512;
  if (__builtin_cpu_supports("avx2")) return KernelAvx2;
  return KernelPortable;
}

const Kernel kKernel = PickKernel();

}  // namespace

void Md5Blocks(Md5State* const states[], const unsigned char* const data[], int count, size_t blocks) {
  uint32_t state[4][kMd5Lanes] = {};
  const unsigned char* lane_data[kMd5Lanes];
  for (int lane = 0; lane < kMd5Lanes; ++lane) {
    // An idle lane hashes the first stream's bytes again into a state nobody reads.
    const int from = lane < count ? lane : 0;
    lane_data[lane] = data[from];
    for (int word = 0; word < 4; ++word) state[word][lane] = states[from]->h[word];
  }
  kKernel(state, lane_data, blocks);
  for (int lane = 0; lane < count; ++lane) {
    for (int word = 0; word < 4; ++word) states[lane]->h[word] = state[word][lane];
    states[lane]->bytes += blocks * kMd5BlockBytes;
  }
}

std::string Md5Finish(Md5State& state, std::string_view tail) {
  Md5State* states[1] = {&state};
  const size_t whole = tail.size() / kMd5BlockBytes;
  if (whole > 0) {
    const unsigned char* data[1] = {reinterpret_cast<const unsigned char*>(tail.data())};
    Md5Blocks(states, data, 1, whole);
    tail.remove_prefix(whole * kMd5BlockBytes);
  }
  // RFC 1321 padding: 0x80, zeros to 56 mod 64, then the length in bits, little-endian.
  unsigned char last[2 * kMd5BlockBytes] = {};
  std::memcpy(last, tail.data(), tail.size());
  last[tail.size()] = 0x80;
  const size_t padded = tail.size() + 1 + 8 <= kMd5BlockBytes ? kMd5BlockBytes : 2 * kMd5BlockBytes;
  const uint64_t bits = (state.bytes + tail.size()) * 8;
  std::memcpy(last + padded - 8, &bits, sizeof(bits));
  const unsigned char* data[1] = {last};
  Md5Blocks(states, data, 1, padded / kMd5BlockBytes);
  char digest[16];
  std::memcpy(digest, state.h, sizeof(digest));
  return common::HexOf(std::string_view(digest, sizeof(digest)));
}

}  // namespace dram::store::internal
