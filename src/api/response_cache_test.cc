#include "api/response_cache.h"

#include <gtest/gtest.h>

namespace dram::api {
namespace {

std::shared_ptr<const CachedResponse> Entry(size_t bytes, const std::string& dataset = "d") {
  auto entry = std::make_shared<CachedResponse>();
  entry->body = std::make_shared<const http::SharedBytes>(std::string(bytes, 'x'));
  entry->dataset = dataset;
  return entry;
}

TEST(ResponseCacheTest, HitsMissesAndByteBound) {
  ResponseCache cache(16 * 64 * 1024);  // 64 KiB per shard
  EXPECT_EQ(cache.Get("a"), nullptr);
  cache.Put("a", Entry(1000));
  ASSERT_NE(cache.Get("a"), nullptr);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 1u);
  for (int i = 0; i < 2000; ++i) cache.Put("k" + std::to_string(i), Entry(1000));
  EXPECT_LE(cache.bytes(), cache.max_bytes());
  EXPECT_GT(cache.evictions(), 0u);
  EXPECT_NE(cache.Get("k1999"), nullptr);  // the newest survive
  EXPECT_EQ(cache.Get("k0"), nullptr);     // the oldest went first
}

TEST(ResponseCacheTest, RecentlyUsedEntriesSurviveEviction) {
  ResponseCache cache(16 * 10 * 1200);
  // Keys that land in one shard are hard to pick; use many keys and keep touching one.
  cache.Put("keep", Entry(1000));
  for (int i = 0; i < 500; ++i) {
    cache.Put("k" + std::to_string(i), Entry(1000));
    ASSERT_NE(cache.Get("keep"), nullptr) << i;
  }
}

TEST(ResponseCacheTest, OversizedEntriesAreNotKeptAndDatasetsCanBeErased) {
  ResponseCache cache(16 * 1024);
  cache.Put("huge", Entry(8 * 1024));
  EXPECT_EQ(cache.Get("huge"), nullptr);
  cache.Put("x", Entry(100, "one"));
  cache.Put("y", Entry(100, "two"));
  cache.Put("x", Entry(200, "one"));  // replace keeps the accounting right
  EXPECT_EQ(cache.entries(), 2u);
  cache.EraseDataset("one");
  EXPECT_EQ(cache.Get("x"), nullptr);
  EXPECT_NE(cache.Get("y"), nullptr);
  cache.EraseDataset("two");
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_EQ(cache.entries(), 0u);
}

}  // namespace
}  // namespace dram::api
