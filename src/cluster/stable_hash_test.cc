// The hash and the logarithm that placement is built on. Their values are pinned: every member of a
// cluster must compute them identically, so a change here is a change of every cluster's layout.
#include "cluster/stable_hash.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "cluster/internal/fixed_log.h"

namespace dram::cluster {
namespace {

TEST(StableHashTest, ValuesArePinned) {
  EXPECT_EQ(StableHash().Finish(), 0xefd01f60ba992926ULL);
  EXPECT_EQ(StableHash().AddBytes("a").Finish(), 0xdea13a43162696b9ULL);
  EXPECT_EQ(StableHash().AddBytes("orders").AddNumber(7).AddBytes("m1").Finish(), 0xf3a16aeab7dda65cULL);
  EXPECT_EQ(StableHash().AddNumber(0x0123456789abcdefULL).Finish(), 0xf1b1f7378097a748ULL);
}

TEST(StableHashTest, FieldBoundariesCount) {
  EXPECT_EQ(StableHash().AddBytes("ab").AddBytes("c").Finish(), 0x495f5d642268de7ULL);
  EXPECT_EQ(StableHash().AddBytes("a").AddBytes("bc").Finish(), 0x28d4aba4bf993b3ULL);
  EXPECT_NE(StableHash().AddBytes("").Finish(), StableHash().Finish());
}

TEST(StableHashTest, IdsDifferingInTheLastByteSpreadOverTheHighBits) {
  // Rendezvous compares whole 64-bit values of ids such as "m0".."m9"; without the finalizer their
  // FNV hashes share most high bits. Each bit of the top byte should flip for about half of the pairs.
  constexpr int kIds = 256;
  int flips[8] = {};
  for (int i = 1; i < kIds; ++i) {
    const uint64_t a = StableHash().AddBytes("m" + std::to_string(i - 1)).Finish();
    const uint64_t b = StableHash().AddBytes("m" + std::to_string(i)).Finish();
    for (int bit = 0; bit < 8; ++bit) flips[bit] += ((a ^ b) >> (56 + bit)) & 1;
  }
  for (int bit = 0; bit < 8; ++bit) EXPECT_NEAR(flips[bit], kIds / 2, kIds / 6) << "bit " << 56 + bit;
}

TEST(FixedLogTest, ValuesArePinned) {
  constexpr uint64_t kOne = uint64_t{1} << internal::kLogFractionBits;
  EXPECT_EQ(internal::NegLog2Unit(0), 64 * kOne);              // u = 2^-64
  EXPECT_EQ(internal::NegLog2Unit(uint64_t{1} << 63), kOne);  // u = 1/2 (+2^-64)
  EXPECT_EQ(internal::NegLog2Unit(~uint64_t{0}), 1u);         // u = 1 - 2^-64: never 0
  EXPECT_EQ(internal::NegLog2Unit(0x0123456789abcdefULL), 2199383878819978u);
}

TEST(FixedLogTest, AgreesWithLibmToFortyBits) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  uint64_t previous_h = 0;
  for (int i = 0; i < 10'000; ++i) {
    h = StableHash().AddNumber(h).Finish();
    const double u = std::ldexp(static_cast<double>(h | 1), -64);
    const double fixed = std::ldexp(static_cast<double>(internal::NegLog2Unit(h)), -internal::kLogFractionBits);
    ASSERT_NEAR(fixed, -std::log2(u), 1e-12 + 1e-12 * -std::log2(u)) << std::hex << h;
    // Larger draws cost less: the ranking keeps the order of the hashes.
    if (i > 0 && h > previous_h) {
      EXPECT_LE(internal::NegLog2Unit(h), internal::NegLog2Unit(previous_h));
    }
    previous_h = h;
  }
}

}  // namespace
}  // namespace dram::cluster
