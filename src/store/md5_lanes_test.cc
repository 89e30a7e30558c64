// The multi-lane MD5 against OpenSSL's, over lengths around the padding edges and streams fed in
// rounds of different lane counts.
#include "store/internal/md5_lanes.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>
#include <vector>

#include "common/sha256.h"

namespace dram::store::internal {
namespace {

std::string OpensslMd5(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_md5(), nullptr);
  return common::HexOf(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(random());
  return bytes;
}

TEST(Md5LanesTest, KnownDigests) {
  const struct {
    std::string input, md5;
  } cases[] = {
      {"", "d41d8cd98f00b204e9800998ecf8427e"},
      {"abc", "900150983cd24fb0d6963f7d28e17f72"},
      {"The quick brown fox jumps over the lazy dog", "9e107d9d372bb6826bd81d3542a419d6"},
  };
  for (const auto& test : cases) {
    Md5State state;
    EXPECT_EQ(Md5Finish(state, test.input), test.md5) << test.input;
  }
}

TEST(Md5LanesTest, EqualsOpensslAroundPaddingEdges) {
  const size_t lengths[] = {1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 100'003};
  for (size_t length : lengths) {
    const std::string bytes = RandomBytes(length, static_cast<uint32_t>(length));
    Md5State state;
    EXPECT_EQ(Md5Finish(state, bytes), OpensslMd5(bytes)) << length;
  }
}

// Streams of different lengths hashed side by side: every round takes the streams that still have
// a whole chunk (1..8 lanes), the rest finish alone, as the downloader's hasher does.
TEST(Md5LanesTest, LanesHashIndependentStreams) {
  constexpr size_t kChunk = 4096;
  std::vector<std::string> streams;
  for (int i = 0; i < 11; ++i) streams.push_back(RandomBytes(kChunk * (i % 5) + static_cast<size_t>(i) * 77, 1000 + i));
  std::vector<Md5State> states(streams.size());
  std::vector<size_t> done(streams.size(), 0);
  for (int round = 0; round < 100; ++round) {
    Md5State* lane_states[kMd5Lanes];
    const unsigned char* lane_data[kMd5Lanes];
    int count = 0;
    for (size_t i = 0; i < streams.size() && count < kMd5Lanes; ++i) {
      if (streams[i].size() - done[i] < kChunk) continue;
      lane_states[count] = &states[i];
      lane_data[count++] = reinterpret_cast<const unsigned char*>(streams[i].data() + done[i]);
      done[i] += kChunk;
    }
    if (count == 0) break;
    Md5Blocks(lane_states, lane_data, count, kChunk / kMd5BlockBytes);
  }
  for (size_t i = 0; i < streams.size(); ++i) {
    EXPECT_EQ(Md5Finish(states[i], std::string_view(streams[i]).substr(done[i])), OpensslMd5(streams[i])) << i;
  }
}

}  // namespace
}  // namespace dram::store::internal
