#pragma once

#include <bit>
#include <cstdint>

namespace dram::cluster::internal {

// Fractional bits of NegLog2Unit's result: scores 2^-48 apart still rank apart, far finer than
// the spread between members' scores (the best of 1000 members is ~1e-3 from the next).
constexpr int kLogFractionBits = 48;

// -log2(u) for u = (h | 1) / 2^64, a uniform draw in (0, 1), as a fixed-point number with
// kLogFractionBits fractional bits; always >= 1 (u < 1), at most 64 << kLogFractionBits.
//
// Integer arithmetic only: every member must rank members identically, and libm's log is not
// required to be correctly rounded, so two members on different libcs (or CPUs with FMA) could
// disagree on a near tie. The method is the classic bit-by-bit one: with v = m * 2^e, m in [1, 2),
// log2(v) = e + log2(m), and each squaring of m yields the next fractional bit of log2(m).
// Truncating each square to 64 bits costs at most ~2^-60 of the result.
inline uint64_t NegLog2Unit(uint64_t h) {
  __extension__ using Uint128 = unsigned __int128;
  const uint64_t v = h | 1;  // v / 2^64 is the draw; odd, so never 0
  const int exponent = 63 - std::countl_zero(v);
  uint64_t mantissa = v << (63 - exponent);  // m = mantissa / 2^63, in [1, 2)
  uint64_t fraction = 0;
  for (int bit = 0; bit < kLogFractionBits; ++bit) {
    const Uint128 square = static_cast<Uint128>(mantissa) * mantissa;  // m^2 = square / 2^126, in [1, 4)
    fraction <<= 1;
    if (square >> 127) {  // m^2 >= 2: this bit is 1, and m becomes m^2 / 2
      fraction |= 1;
      mantissa = static_cast<uint64_t>(square >> 64);
    } else {
      mantissa = static_cast<uint64_t>(square >> 63);
    }
  }
  const uint64_t log2_v = (static_cast<uint64_t>(exponent) << kLogFractionBits) + fraction;
  return (uint64_t{64} << kLogFractionBits) - log2_v;
}

}  // namespace dram::cluster::internal
