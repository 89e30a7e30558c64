// The logarithm placement's scores use. Its values are pinned: every member of a cluster must
// compute them identically, so a change here is a change of every cluster's layout.
#include "cluster/internal/fixed_log.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "common/stable_hash.h"

namespace dram::cluster {
namespace {

using common::StableHash;

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
