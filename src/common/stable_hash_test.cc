// The hash that placement and file sharding are built on. Their values are pinned: every member of a
// cluster must compute them identically, so a change here is a change of every cluster's layout.
#include "common/stable_hash.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace dram::common {
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

}  // namespace
}  // namespace dram::common
