// The resolvers and table discovery over a real local store (the S3 path is covered by the
// integration tests against radosgw).
#include "database/source_files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/local_object_store.h"

namespace dram::database {
namespace {

class SourceFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("dram-sources-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    store_ = std::make_unique<store::LocalObjectStore>(root_.string());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Put(const std::string& key, const std::string& bytes = "x") { ASSERT_TRUE(store_->Put(key, bytes).ok()); }
  std::vector<std::string> Chosen(Resolver resolver, std::string* base = nullptr) {
    auto listing = store_->List("", "", "", 1000);
    EXPECT_TRUE(listing.ok());
    std::string chosen_base;
    auto chosen = Resolve(resolver, *store_, listing->objects, chosen_base);
    if (base) *base = chosen_base;
    std::vector<std::string> keys;
    if (!chosen.ok()) return {"error: " + chosen.status().message()};
    for (const auto& object : *chosen) keys.push_back(object.key);
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  std::filesystem::path root_;
  std::unique_ptr<store::ObjectStore> store_;
};

TEST_F(SourceFilesTest, LatestPartitionTakesTheNewestSnapshotDirectory) {
  Put("snapshot=9/t/a.parquet");
  Put("snapshot=10/t/a.parquet");  // numerically newest, though "10" < "9" as text
  Put("snapshot=10/t/b.parquet");
  std::string base;
  EXPECT_EQ(Chosen(Resolver::kLatestPartition, &base), (std::vector<std::string>{"snapshot=10/t/a.parquet", "snapshot=10/t/b.parquet"}));
  EXPECT_EQ(base, "snapshot=10/");
}

TEST_F(SourceFilesTest, SuccessMarkerSkipsTheIncompleteNewestVersion) {
  Put("dt=2026-11-20/t/a.parquet");
  Put("dt=2026-11-20/_SUCCESS", "");
  Put("dt=2026-11-21/t/a.parquet");  // still being written: no marker
  EXPECT_EQ(Chosen(Resolver::kSuccessMarker), (std::vector<std::string>{"dt=2026-11-20/_SUCCESS", "dt=2026-11-20/t/a.parquet"}));
  Put("dt=2026-11-21/_SUCCESS", "");
  EXPECT_EQ(Chosen(Resolver::kSuccessMarker).back(), "dt=2026-11-21/t/a.parquet");
}

TEST_F(SourceFilesTest, SuccessMarkerWithoutPartitionsNeedsTheRootMarker) {
  Put("t/a.parquet");
  EXPECT_EQ(Chosen(Resolver::kSuccessMarker).front().rfind("error: no complete version", 0), 0u);
  Put("_SUCCESS", "");
  EXPECT_EQ(Chosen(Resolver::kSuccessMarker).size(), 2u);
}

TEST_F(SourceFilesTest, DatabricksTakesTheLatestCommittedTransaction) {
  Put("t/part-00000-tid-111-a.parquet");
  Put("t/_started_111", "");
  Put("t/_committed_111", R"({"added":["part-00000-tid-111-a.parquet"],"removed":[]})");
  // tid 222 committed later and replaced the data; tid 333 started but never committed.
  Put("t/part-00000-tid-222-b.parquet");
  Put("t/part-00001-tid-222-c.parquet");
  Put("t/_started_222", "");
  Put("t/_committed_222", R"({"added":["part-00000-tid-222-b.parquet","part-00001-tid-222-c.parquet"],"removed":["part-00000-tid-111-a.parquet"]})");
  Put("t/part-00000-tid-333-d.parquet");
  Put("t/_started_333", "");
  // Another directory without markers contributes every file.
  Put("u/plain.parquet");
  EXPECT_EQ(Chosen(Resolver::kDatabricks),
            (std::vector<std::string>{"t/part-00000-tid-222-b.parquet", "t/part-00001-tid-222-c.parquet", "u/plain.parquet"}));
  Put("t/_committed_333", "not json");
  EXPECT_EQ(Chosen(Resolver::kDatabricks).front().rfind("error: commit marker", 0), 0u);
}

TEST_F(SourceFilesTest, DiscoversATablePerFileAndPerDirectory) {
  Put("orders/region=north/part-0.parquet");
  Put("orders/region=south/part-0.parquet");
  Put("shops.csv", "a\n1\n");
  Put("2024-report.csv", "a\n1\n");
  Put("README.md");
  Put("_SUCCESS", "");
  Put(".hidden/x.parquet");
  DatasetSpec spec{.name = "d", .source = root_.string()};
  auto tables = ListSources(spec, "");
  ASSERT_TRUE(tables.ok()) << tables.status().ToString();
  std::vector<std::string> names;
  for (const auto& table : *tables) names.push_back(table.spec.name + ":" + std::to_string(table.files.size()));
  EXPECT_EQ(names, (std::vector<std::string>{"orders:2", "shops:1", "t_2024_report:1"}));
  // Local files are read in place.
  EXPECT_EQ((*tables)[1].files[0].local_path, (root_ / "shops.csv").string());
  EXPECT_EQ((*tables)[1].store, nullptr);
  // Naming tables selects them; naming a missing one is an error.
  spec.tables = {{.name = "shops"}};
  tables = ListSources(spec, "");
  ASSERT_TRUE(tables.ok());
  ASSERT_EQ(tables->size(), 1u);
  EXPECT_EQ(tables->front().spec.name, "shops");
  spec.tables = {{.name = "nope"}};
  EXPECT_EQ(ListSources(spec, "").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace dram::database
