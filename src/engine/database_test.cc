#include "engine/database.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/interrupt_after.h"
#include "engine/result_encoder.h"

namespace dram::engine {
namespace {

class SealedDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("dram-seal-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "allowed");
    std::ofstream(dir_ / "allowed" / "ok.csv") << "x\n1\n2\n";
    std::ofstream(dir_ / "secret.csv") << "x\n42\n";
    auto database = Database::Open("", {.read_only = false, .threads = 1});
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(database).value();
    ASSERT_TRUE(database_->Seal({(dir_ / "allowed").string()}).ok());
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok());
    connection_ = std::move(connection).value();
  }
  void TearDown() override {
    connection_.reset();
    database_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<Connection> connection_;
};

TEST_F(SealedDatabaseTest, ReachesNothingOutsideItsDirectories) {
  EXPECT_TRUE(connection_->Query("SELECT sum(x) FROM read_csv('" + (dir_ / "allowed" / "ok.csv").string() + "')").ok());
  const std::string escapes[] = {
      "SELECT * FROM read_csv('" + (dir_ / "secret.csv").string() + "')",
      "SELECT * FROM read_csv('/etc/passwd')",
      "COPY (SELECT 1) TO '" + (dir_ / "out.csv").string() + "'",
      "COPY (SELECT 1) TO '" + (dir_ / "allowed" / ".." / "out2.csv").string() + "'",
      "ATTACH '" + (dir_ / "side.duckdb").string() + "' AS side",
      "SET memory_limit = '1MB'",
      "SET enable_external_access = true",
      "SET allowed_directories = ['/']",
      "SET TimeZone = 'America/New_York'",
      "LOAD httpfs",
      "INSTALL httpfs FROM 'http://127.0.0.1:9/'",
  };
  for (const auto& sql : escapes) EXPECT_FALSE(connection_->Execute(sql).ok()) << sql;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out2.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "side.duckdb"));
  auto zone = connection_->Query("SELECT current_setting('TimeZone')");
  ASSERT_TRUE(zone.ok());
  auto text = ColumnText(*zone, 0);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->at(0), "UTC");
}

TEST_F(SealedDatabaseTest, ReadOnlyQueriesRunOneSelectOnly) {
  EXPECT_TRUE(connection_->QueryReadOnly("SELECT 42 AS answer").ok());
  EXPECT_TRUE(connection_->QueryReadOnly("EXPLAIN SELECT 42").ok());
  for (const char* sql : {"CREATE TEMP VIEW v AS SELECT 1", "CREATE TABLE t (x INT)", "SELECT 1; CREATE TEMP TABLE u (x INT)",
                          "DROP VIEW IF EXISTS v", "PRAGMA threads=1", "SET search_path = 'temp'"}) {
    auto result = connection_->QueryReadOnly(sql);
    ASSERT_FALSE(result.ok()) << sql;
    EXPECT_EQ(result.status().code(), StatusCode::kPermissionDenied) << sql << ": " << result.status().ToString();
  }
  EXPECT_EQ(connection_->QueryReadOnly("SELEC 1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(connection_->HoldsSessionState({}));
  for (const char* sql : {"CREATE TEMP VIEW v AS SELECT 1", "SET search_path = 'temp'", "PRAGMA enable_profiling",
                          "CREATE TEMP MACRO m(x) AS x + 1", "CREATE TEMP SEQUENCE s"}) {
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok());
    ASSERT_TRUE((*connection)->Execute(sql).ok()) << sql;
    EXPECT_TRUE((*connection)->HoldsSessionState({})) << sql;
  }
  auto scoped = database_->Connect();
  ASSERT_TRUE((*scoped)->Execute("CREATE TEMP VIEW events AS SELECT 1").ok());
  EXPECT_FALSE((*scoped)->HoldsSessionState({"events"}));  // a lazy scope's view is expected
  auto views = connection_->Query("SELECT count(*) FROM duckdb_views() WHERE NOT internal");
  ASSERT_TRUE(views.ok());
  EXPECT_EQ(ColumnText(*views, 0)->at(0), "0");
}

TEST_F(SealedDatabaseTest, InterruptAfterStopsALongQuery) {
  auto started = std::chrono::steady_clock::now();
  Result<QueryResult> result = Internal("not run");
  {
    InterruptAfter deadline(*connection_, std::chrono::milliseconds(100));
    result = connection_->QueryReadOnly("SELECT count(*) FROM range(100000000000) t(i) WHERE hash(i) % 7 = 0");
  }
  EXPECT_EQ(result.status().code(), StatusCode::kCancelled) << result.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
  EXPECT_TRUE(connection_->QueryReadOnly("SELECT 1").ok());  // the connection still works
}

}  // namespace
}  // namespace dram::engine
