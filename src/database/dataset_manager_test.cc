// DatasetManager against a local source: runtime state that is malformed, Remove racing a
// refresh, status read while a load runs.
#include "database/dataset_manager.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <thread>

namespace dram::database {
namespace {

namespace fs = std::filesystem;

class DatasetManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("dram-manager-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "source");
    fs::create_directories(root_ / "cache");
    std::ofstream(root_ / "source" / "events.csv") << "tenant_id,revenue\na,10\nb,5\n";
  }
  void TearDown() override { fs::remove_all(root_); }
  ManagerOptions Options() const {
    ManagerOptions options;
    options.cache_dir = (root_ / "cache").string();
    options.engine.threads = 1;
    options.pool_size = 1;
    return options;
  }
  DatasetSpec Spec() const {
    DatasetSpec spec;
    spec.name = "db";
    spec.source = (root_ / "source").string();
    spec.named_tables_only = false;
    return spec;
  }
  fs::path root_;
};

// The runtime state is read on whichever thread builds a manager (a catalog reload's is the
// follower): a malformed alias is skipped and logged, never an exception.
TEST_F(DatasetManagerTest, MalformedRuntimeAliasIsSkipped) {
  std::ofstream(root_ / "cache" / ".dram-state.json")
      << R"({"databases":[],"aliases":{"bad":{"database":5},"odd":"text","good":{"database":"db","pinned":"v1"}}})";
  std::unique_ptr<DatasetManager> manager;
  ASSERT_NO_THROW(manager = std::make_unique<DatasetManager>(Options(), std::vector<DatasetSpec>{}, nullptr, nullptr));
  auto aliases = manager->Aliases();
  ASSERT_EQ(aliases.size(), 1u);
  EXPECT_EQ(aliases[0].name, "good");
  EXPECT_EQ(aliases[0].database, "db");
  EXPECT_EQ(aliases[0].pinned_snapshot, "v1");
}

// A refresh that is building when the database is removed must not publish it again (nor leave
// its files behind): Remove wins.
TEST_F(DatasetManagerTest, RemoveWinsOverARefreshInFlight) {
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false, held = false, release = false;
  std::atomic<int> swaps{0};
  auto validator = [&](const DatasetSpec&, const Snapshot&) {
    std::unique_lock lock(mu);
    if (hold) {
      held = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    }
    return Status::Ok();
  };
  DatasetManager manager(Options(), {}, validator, [&](const std::string&) { swaps++; });
  ASSERT_TRUE(manager.Add(Spec()).ok());
  {
    std::lock_guard lock(mu);
    hold = true;
  }
  Status refreshed, removed;
  std::thread refresher([&] { refreshed = manager.Refresh("db", /*force=*/true); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return held; }));
  }
  swaps = 0;
  std::thread remover([&] { removed = manager.Remove("db", false); });
  // Remove unregisters the name at once, then waits for the build to end.
  for (int i = 0; i < 500 && manager.StatusOf("db").ok(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(manager.StatusOf("db").ok());
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  refresher.join();
  remover.join();
  EXPECT_EQ(refreshed.code(), StatusCode::kNotFound) << refreshed.ToString();
  EXPECT_TRUE(removed.ok()) << removed.ToString();
  EXPECT_EQ(swaps.load(), 1) << "only Remove's own notice; the refresh published nothing";
  EXPECT_EQ(manager.Current("db"), nullptr);
  EXPECT_FALSE(fs::exists(root_ / "cache" / "db"));
}

// Status (with download progress) is read while loads run; under TSan this catches an unlocked
// write of the progress (TransferProgress::started).
TEST_F(DatasetManagerTest, StatusWhileLoadsRun) {
  DatasetManager manager(Options(), {}, nullptr, nullptr);
  ASSERT_TRUE(manager.Add(Spec()).ok());
  std::atomic<bool> done{false};
  std::thread loads([&] {
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(manager.Refresh("db", /*force=*/true).ok());
    done = true;
  });
  int polls = 0;
  while (!done && polls < 100'000) {
    auto status = manager.StatusOf("db");
    ASSERT_TRUE(status.ok());
    EXPECT_GE(status->download_seconds, 0);
    ++polls;
  }
  loads.join();
}

}  // namespace
}  // namespace dram::database
