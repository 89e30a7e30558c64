// The catalog log over a real local store: commits, reads, history, and no lost update under
// concurrent writers (the same test runs against radosgw in tests/integration/s3_store_test.cc).
#include "catalog/catalog_log.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <set>
#include <thread>

#include "store/local_object_store.h"

namespace dram::catalog {
namespace {

namespace json = boost::json;

// Appends `item` to the catalog's "items" array.
CatalogLog::Mutation Append(const std::string& item) {
  return [item](const std::string& current, int64_t) -> Result<std::string> {
    json::object catalog = current.empty() ? json::object{{"items", json::array{}}} : json::parse(current).as_object();
    catalog["items"].as_array().push_back(json::string(item));
    return json::serialize(catalog);
  };
}

class CatalogLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("dram-catalog-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    store_ = std::make_unique<store::LocalObjectStore>(root_.string());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
  std::unique_ptr<store::ObjectStore> store_;
};

TEST_F(CatalogLogTest, CommitsReadsAndKeepsHistory) {
  CatalogLog log(*store_);
  EXPECT_EQ(*log.Latest(), 0);
  EXPECT_EQ(CatalogLog::KeyOf(42), "_catalog/00000000000000000042.json");
  ASSERT_EQ(*log.Commit(Append("a")), 1);
  ASSERT_EQ(*log.Commit(Append("b")), 2);
  EXPECT_EQ(*log.Latest(), 2);
  EXPECT_EQ(*log.Read(1), R"({"items":["a"]})");
  EXPECT_EQ(*log.Read(2), R"({"items":["a","b"]})");
  EXPECT_EQ(*log.Versions(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(log.Read(3).status().code(), StatusCode::kNotFound);
  // A mutation that fails commits nothing; a non-JSON document is refused.
  EXPECT_EQ(log.Commit([](const std::string&, int64_t) -> Result<std::string> { return InvalidArgument("no"); }).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(log.Commit([](const std::string&, int64_t) -> Result<std::string> { return std::string("{oops"); }).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(*log.Latest(), 2);
  // Other files under _catalog/ are not versions.
  ASSERT_TRUE(store_->Put("_catalog/_latest", "2").ok());
  EXPECT_EQ(*log.Latest(), 2);
}

TEST_F(CatalogLogTest, ConcurrentWritersLoseNoUpdate) {
  constexpr int kWriters = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      CatalogLog log(*store_);  // each writer its own log object, as separate processes would
      for (int m = 0; m < kEach; ++m) {
        auto committed = log.Commit(Append("w" + std::to_string(w) + "-" + std::to_string(m)));
        if (!committed.ok()) {
          ADD_FAILURE() << committed.status().ToString();
          ++failures;
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  CatalogLog log(*store_);
  EXPECT_EQ(*log.Latest(), kWriters * kEach);
  json::array items = json::parse(*log.Read(kWriters * kEach)).at("items").as_array();
  std::set<std::string> unique;
  for (const auto& item : items) unique.insert(std::string(item.as_string()));
  EXPECT_EQ(items.size(), static_cast<size_t>(kWriters * kEach));
  EXPECT_EQ(unique.size(), static_cast<size_t>(kWriters * kEach));  // every mutation exactly once
  // Each version extends its parent by exactly one item: the history is a chain.
  for (int64_t v = 1; v <= kWriters * kEach; ++v) {
    EXPECT_EQ(json::parse(*log.Read(v)).at("items").as_array().size(), static_cast<size_t>(v));
  }
}

}  // namespace
}  // namespace dram::catalog
