#include "store/local_object_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

namespace dram::store {
namespace {

class LocalObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("dram-store-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    store_ = std::make_unique<LocalObjectStore>(root_.string());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
  std::unique_ptr<ObjectStore> store_;  // tested through the interface
};

TEST_F(LocalObjectStoreTest, PutGetRangeHeadDelete) {
  auto put = store_->Put("db/a/part-0.parquet", "0123456789");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(*store_->Get("db/a/part-0.parquet"), "0123456789");
  EXPECT_EQ(*store_->Get("db/a/part-0.parquet", ByteRange{2, 3}), "234");
  EXPECT_EQ(*store_->Get("db/a/part-0.parquet", ByteRange{7, -1}), "789");
  EXPECT_EQ(store_->Get("db/a/part-0.parquet", ByteRange{11, 1}).status().code(), StatusCode::kOutOfRange);
  auto head = store_->Head("db/a/part-0.parquet");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 10);
  EXPECT_EQ(head->etag, put->etag);
  EXPECT_TRUE(store_->Delete("db/a/part-0.parquet").ok());
  EXPECT_EQ(store_->Get("db/a/part-0.parquet").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->Delete("db/a/part-0.parquet").ok());  // deleting twice is fine
}

TEST_F(LocalObjectStoreTest, RejectsKeysThatEscapeTheRoot) {
  for (const char* key : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b"}) {
    EXPECT_EQ(store_->Put(key, "x").status().code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Get(key).status().code(), StatusCode::kInvalidArgument) << key;
  }
}

TEST_F(LocalObjectStoreTest, PreconditionsCreateOnlyAndIfMatch) {
  auto first = store_->Put("_catalog/00000000000000000001.json", "v1", {.if_absent = true});
  ASSERT_TRUE(first.ok());
  auto again = store_->Put("_catalog/00000000000000000001.json", "v1-other", {.if_absent = true});
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(*store_->Get("_catalog/00000000000000000001.json"), "v1");
  auto replaced = store_->Put("_catalog/00000000000000000001.json", "v2", {.if_match_etag = first->etag});
  ASSERT_TRUE(replaced.ok());
  auto stale = store_->Put("_catalog/00000000000000000001.json", "v3", {.if_match_etag = first->etag});
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(*store_->Get("_catalog/00000000000000000001.json"), "v2");
}

TEST_F(LocalObjectStoreTest, RacingCreateOnlyPutsHaveOneWinner) {
  constexpr int kRacers = 20;
  std::atomic<int> won{0};
  std::atomic<int> lost{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < kRacers; ++i) {
    racers.emplace_back([&, i] {
      auto put = store_->Put("_catalog/00000000000000000002.json", "writer " + std::to_string(i), {.if_absent = true});
      (put.ok() ? won : lost)++;
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), kRacers - 1);
  EXPECT_EQ(store_->Get("_catalog/00000000000000000002.json")->rfind("writer ", 0), 0u);
}

TEST_F(LocalObjectStoreTest, ListsWithPrefixDelimiterAndContinuation) {
  for (const char* key : {"db/t1/a.parquet", "db/t1/b.parquet", "db/t2/c.parquet", "db/x.csv", "other/y"}) {
    ASSERT_TRUE(store_->Put(key, "x").ok());
  }
  auto all = store_->List("db/");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->objects.size(), 4u);
  EXPECT_EQ(all->objects[0].key, "db/t1/a.parquet");
  auto top = store_->List("db/", "/");
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->prefixes, (std::vector<std::string>{"db/t1/", "db/t2/"}));
  ASSERT_EQ(top->objects.size(), 1u);
  EXPECT_EQ(top->objects[0].key, "db/x.csv");
  std::vector<std::string> paged;
  std::string token;
  do {
    auto page = store_->List("db/", "", token, 2);
    ASSERT_TRUE(page.ok());
    for (const auto& o : page->objects) paged.push_back(o.key);
    token = page->continuation;
  } while (!token.empty());
  EXPECT_EQ(paged.size(), 4u);
  EXPECT_EQ(paged.back(), "db/x.csv");
}

}  // namespace
}  // namespace dram::store
