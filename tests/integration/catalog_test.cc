// The durable catalog end to end with the real binary: apply (diff, dry run, refusal of a bad
// project), stateless boot of two servers from one root, hot reload under load, restore, a
// failed reload that keeps serving, roles, runtime changes committed by a writer and followed by
// a reader, crash safety at every failpoint of an apply, and no lost update across processes.
// The same root logic runs against radosgw in s3_catalog_test.cc.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <atomic>
#include <filesystem>
#include <thread>

#include "catalog/catalog.h"
#include "common/sha256.h"
#include "integration/catalog_fixture.h"
#include "store/local_object_store.h"
#include "testutil/http_client.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace json = boost::json;

class CatalogServingTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = catalog_dir_.path() + "/root"; }
  CommandResult Dram(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), DramBinary());
    return RunCommand(args, env);
  }
  CommandResult Apply(const std::string& project, const std::map<std::string, std::string>& env = {}) {
    return Dram({"apply", project, "--catalog", root_}, env);
  }
  std::unique_ptr<ServerProcess> Serve(const std::string& cache, const std::string& role = "reader",
                                       const std::map<std::string, std::string>& env = {}) {
    return ServerProcess::Launch({DramBinary(), "serve", "--catalog", root_, "--role", role, "--cache-dir", cache,
                                  "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--poll-interval", "100",
                                  "--ready-file", "{READY}"},
                                 env);
  }
  TempDir catalog_dir_, v1_, v2_, cache_a_, cache_b_;
  std::string root_;
};

TEST_F(CatalogServingTest, ApplyDiffsValidatesAndTwoStatelessServersServeTheSame) {
  WriteCatalogProject(v1_, 1, false);
  CommandResult dry = Dram({"apply", v1_.path(), "--catalog", root_, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_NE(dry.output.find("+ endpoints/sales.yml"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("+ data/sales.csv"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("dry run"), std::string::npos);
  EXPECT_NE(Dram({"catalog", "log", "--catalog", root_}).output.find("no versions yet"), std::string::npos);

  CommandResult applied = Apply(v1_.path());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_NE(applied.output.find("committed version 1"), std::string::npos) << applied.output;
  EXPECT_NE(Apply(v1_.path()).output.find("no changes"), std::string::npos);

  // A project with errors is refused whole, every problem listed with file:line, nothing committed.
  v2_.Write("dram.yml", "engine: {threads: 1, pool_size: nope}\n");
  v2_.Write("datasets/shop.yml", "name: shop\ntables:\n  sales: {path: data/missing.csv}\n");
  v2_.Write("endpoints/bad.yml", "name: bad\nversion: 1\ndataset: nowhere\ntable: t\n");
  CommandResult refused = Apply(v2_.path());
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("dram.yml:1:"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("endpoints/bad.yml:1:"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("nothing applied"), std::string::npos) << refused.output;
  EXPECT_NE(Dram({"catalog", "log", "--catalog", root_}).output.find("1 "), std::string::npos);
  EXPECT_EQ(Dram({"catalog", "log", "--catalog", root_}).output.find("2 "), std::string::npos);

  // Only the root is given: the project is gone from here, both servers build from the store.
  std::filesystem::remove_all(v1_.path() + "/data");
  auto a = Serve(cache_a_.path());
  auto b = Serve(cache_b_.path());
  ASSERT_TRUE(a && b);
  HttpClient client_a("127.0.0.1", a->api_port()), client_b("127.0.0.1", b->api_port());
  auto from_a = client_a.Get("/v1/sales?limit=5");
  auto from_b = client_b.Get("/v1/sales?limit=5");
  ASSERT_EQ(from_a.status, 200) << from_a.body << a->log();
  EXPECT_EQ(Amounts(from_a.body), (std::vector<int64_t>{10, 20, 30, 40, 50}));
  EXPECT_EQ(Amounts(from_b.body), Amounts(from_a.body));
  HttpClient admin("127.0.0.1", a->admin_port());
  auto status = json::parse(admin.Get("/status").body);
  EXPECT_EQ(status.at("catalog").at("serving_version").as_int64(), 1);
  EXPECT_EQ(status.at("catalog").at("role").as_string(), "reader");
}

TEST_F(CatalogServingTest, HotReloadUnderLoadSwitchesOnceAndRestoreBringsBackV1) {
  WriteCatalogProject(v1_, 1, false);
  WriteCatalogProject(v2_, 2, true);  // amounts doubled, and a /v2/sales endpoint
  ASSERT_EQ(Apply(v1_.path()).exit_code, 0);
  auto server = Serve(cache_a_.path());
  ASSERT_TRUE(server);

  // Bounded load: 4 clients, at most 20 s or 200,000 requests each, while v2 is applied.
  constexpr int kClients = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, flips_back{0}, saw_new{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      HttpClient client("127.0.0.1", server->api_port());
      bool is_new = false;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      for (int i = 0; i < 200'000 && !stop && std::chrono::steady_clock::now() < deadline; ++i) {
        auto response = client.Get("/v1/sales?limit=1");
        if (response.status != 200) {
          failures++;
          continue;
        }
        auto amounts = Amounts(response.body);
        bool now_new = !amounts.empty() && amounts[0] == 20;
        if (is_new && !now_new) flips_back++;
        if (now_new && !is_new) saw_new++;
        is_new = now_new;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CommandResult applied = Apply(v2_.path());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_NE(applied.output.find("~ data/sales.csv"), std::string::npos) << applied.output;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (saw_new < kClients && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (auto& client : clients) client.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(flips_back, 0);
  EXPECT_EQ(saw_new, kClients) << server->log();

  HttpClient api("127.0.0.1", server->api_port()), admin("127.0.0.1", server->admin_port());
  EXPECT_EQ(api.Get("/v2/sales?limit=1").status, 200);
  auto status = json::parse(admin.Get("/status").body).at("catalog");
  EXPECT_EQ(status.at("serving_version").as_int64(), 2);
  EXPECT_EQ(status.at("reloads_ok").as_int64(), 1);
  std::printf("reload: %.3f s from seeing version 2 to serving it\n", status.at("last_reload_seconds").to_number<double>());

  // Restore v1: a new version 3 equal to 1; v2's endpoint is gone and v1's data is back.
  CommandResult restored = Dram({"catalog", "restore", "1", "--catalog", root_});
  ASSERT_EQ(restored.exit_code, 0) << restored.output;
  EXPECT_NE(restored.output.find("committed version 3"), std::string::npos);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (api.Get("/v2/sales?limit=1").status != 404 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(api.Get("/v2/sales?limit=1").status, 404);
  EXPECT_EQ(Amounts(api.Get("/v1/sales?limit=1").body), (std::vector<int64_t>{10}));
  CommandResult diff = Dram({"catalog", "diff", "2", "3", "--catalog", root_});
  EXPECT_NE(diff.output.find("- endpoints/sales_v2.yml"), std::string::npos) << diff.output;
  EXPECT_NE(Dram({"catalog", "log", "--catalog", root_}).output.find("restore 1"), std::string::npos);
}

TEST_F(CatalogServingTest, AFailedReloadKeepsTheOldVersionServingAndSaysSo) {
  WriteCatalogProject(v1_, 1, false);
  ASSERT_EQ(Apply(v1_.path()).exit_code, 0);
  auto server = Serve(cache_a_.path());
  ASSERT_TRUE(server);
  // A version whose data object is not in the store (as if someone wrote the catalog by hand).
  store::LocalObjectStore store(root_);
  catalog::Catalog catalog(store);
  ASSERT_TRUE(catalog
                  .Update(
                      [](catalog::CatalogDocument& document) {
                        document.data["data/sales.csv"] = {std::string(64, 'f'), 123};
                        return Status::Ok();
                      },
                      "broken by hand")
                  .ok());
  HttpClient api("127.0.0.1", server->api_port()), admin("127.0.0.1", server->admin_port());
  json::value status;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    status = json::parse(admin.Get("/status").body).at("catalog");
  } while (status.at("reloads_failed").as_int64() == 0 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(status.at("reloads_failed").as_int64(), 1);
  EXPECT_EQ(status.at("serving_version").as_int64(), 1);
  EXPECT_EQ(status.at("latest_seen").as_int64(), 2);
  EXPECT_NE(std::string(status.at("last_error").as_string()).find("NOT_FOUND"), std::string::npos) << status;
  std::string metrics = admin.Get("/metrics").body;
  EXPECT_NE(metrics.find("dram_catalog_reloads_total{result=\"error\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("dram_catalog_reload_failing 1"), std::string::npos);
  EXPECT_EQ(Amounts(api.Get("/v1/sales?limit=1").body), (std::vector<int64_t>{10}));
  // The tree the old version serves from is intact: its data file is still there.
  EXPECT_TRUE(std::filesystem::exists(cache_a_.path() + "/.catalog/project/data/sales.csv"));
}

// A dataset's schema change goes live together with the endpoints written for it, or not at all.
TEST_F(CatalogServingTest, ASchemaChangeSwitchesWithItsEndpointsOrNotAtAll) {
  WriteCatalogProject(v1_, 1, false);
  ASSERT_EQ(Apply(v1_.path()).exit_code, 0);
  auto server = Serve(cache_a_.path());
  ASSERT_TRUE(server);
  HttpClient api("127.0.0.1", server->api_port()), admin("127.0.0.1", server->admin_port());
  auto wait_for_version = [&](int64_t version, const char* counter) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    json::value status;
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      status = json::parse(admin.Get("/status").body).at("catalog");
    } while ((status.at("latest_seen").as_int64() < version || status.at(counter).as_int64() == 0 ||
              (std::string(counter) == "reloads_ok" && status.at("serving_version").as_int64() < version)) &&
             std::chrono::steady_clock::now() < deadline);
    return status;
  };
  // Unsafe: new data without the `amount` column under the same endpoints (written by hand; an
  // apply would have refused it). The endpoints do not compile against it: nothing switches.
  store::LocalObjectStore store(root_);
  catalog::Catalog catalog(store);
  std::string csv = "id,total\n1,5\n";
  catalog::DataRef ref{common::Sha256Hex(csv), static_cast<int64_t>(csv.size())};
  ASSERT_TRUE(store.Put(catalog::DataKey(ref.sha256), csv, {}).ok());
  ASSERT_TRUE(catalog.Update([&](catalog::CatalogDocument& d) { d.data["data/sales.csv"] = ref; return Status::Ok(); }, "bad schema").ok());
  json::value status = wait_for_version(2, "reloads_failed");
  EXPECT_NE(std::string(status.at("last_error").as_string()).find("do not fit"), std::string::npos) << status;
  EXPECT_EQ(Amounts(api.Get("/v1/sales?limit=1").body), (std::vector<int64_t>{10}));
  // Safe: the column renamed and the endpoint changed with it, in one version. (Its dram.yml also
  // changes a setting bound at start: the version still switches, with a warning naming it.)
  v2_.Write("dram.yml", "engine: {threads: 1, pool_size: 2}\nserver: {gzip_min_bytes: 2KB}\n");
  v2_.Write("data/sales.csv", "id,total\n1,7\n2,8\n");
  v2_.Write("datasets/shop.yml", "name: shop\ntables:\n  sales: {path: data/sales.csv}\n");
  v2_.Write("endpoints/sales.yml", "name: sales\nversion: 1\ndataset: shop\ntable: sales\ncolumns: [id, total]\norder_by: [id]\n");
  CommandResult applied = Apply(v2_.path());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  status = wait_for_version(3, "reloads_ok");
  EXPECT_EQ(status.at("serving_version").as_int64(), 3) << status << server->log();
  auto body = api.Get("/v1/sales?limit=1").body;
  EXPECT_NE(body.find("\"total\":7"), std::string::npos) << body;
  std::string log = server->log();
  EXPECT_NE(log.find("take effect on restart only"), std::string::npos) << log;
  EXPECT_NE(log.find("gzip_min_bytes"), std::string::npos) << log;
}

TEST_F(CatalogServingTest, AWriterCommitsRuntimeChangesAReaderFollowsAndRefusesWrites) {
  WriteCatalogProject(v1_, 1, false);
  ASSERT_EQ(Apply(v1_.path()).exit_code, 0);
  const std::map<std::string, std::string> env = {{"DRAM_ADMIN_TOKEN", "catalog-admin-token-0123456789"}};
  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer catalog-admin-token-0123456789"}};
  auto writer = Serve(cache_a_.path(), "writer", env);
  auto reader = Serve(cache_b_.path(), "reader", env);
  ASSERT_TRUE(writer && reader);
  HttpClient writer_admin("127.0.0.1", writer->admin_port()), reader_admin("127.0.0.1", reader->admin_port());
  auto refused = reader_admin.Request("PUT", "/aliases/current", auth, R"({"target":"shop"})");
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("\"forbidden\""), std::string::npos);
  EXPECT_EQ(reader_admin.Request("POST", "/catalog/restore", auth, R"({"version":1})").status, 403);

  EXPECT_EQ(writer_admin.Request("PUT", "/aliases/not-a-name", auth, R"({"target":"shop"})").status, 422);
  auto set = writer_admin.Request("PUT", "/aliases/current", auth, R"({"target":"shop"})");
  ASSERT_EQ(set.status, 200) << set.body << writer->log();
  CommandResult log = Dram({"catalog", "log", "--catalog", root_});
  EXPECT_NE(log.output.find("runtime change"), std::string::npos) << log.output;
  // The reader picks the alias up from the catalog; the writer does not rebuild for its own change.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  std::string aliases;
  while (std::chrono::steady_clock::now() < deadline) {
    aliases = reader_admin.Get("/aliases", auth).body;
    if (aliases.find("\"current\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(aliases.find("\"current\""), std::string::npos) << aliases << reader->log();
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  json::value writer_status;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    writer_status = json::parse(writer_admin.Get("/status", auth).body).at("catalog");
  } while (writer_status.at("serving_version").as_int64() != 2 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(writer_status.at("serving_version").as_int64(), 2);
  EXPECT_EQ(writer_status.at("reloads_ok").as_int64(), 0);
  // Restore over HTTP needs the token and a writer.
  EXPECT_EQ(writer_admin.Request("POST", "/catalog/restore", {}, R"({"version":1})").status, 401);
  auto restored = writer_admin.Request("POST", "/catalog/restore", auth, R"({"version":1})");
  EXPECT_EQ(restored.status, 200) << restored.body;
  EXPECT_NE(writer_admin.Get("/catalog", auth).body.find("restore 1"), std::string::npos);
  // Off-site backup over HTTP: a reader may export (it writes elsewhere); importing is a write.
  TempDir backup;
  auto exported = reader_admin.Request("POST", "/catalog/export", auth, R"({"destination":")" + backup.path() + R"("})");
  EXPECT_EQ(exported.status, 200) << exported.body;
  EXPECT_EQ(Dram({"catalog", "verify", "--catalog", backup.path()}).exit_code, 0);
  EXPECT_EQ(reader_admin.Request("POST", "/catalog/import", auth, R"({"source":")" + backup.path() + R"("})").status, 403);
  auto imported = writer_admin.Request("POST", "/catalog/import", auth, R"({"source":")" + backup.path() + R"("})");
  EXPECT_EQ(imported.status, 200) << imported.body;
  EXPECT_NE(imported.body.find("\"imported\":3"), std::string::npos) << imported.body;
  auto diff = json::parse(writer_admin.Get("/catalog/diff?from=1&to=2", auth).body);
  EXPECT_NE(std::string(diff.at("diff").as_string()).find("aliases.current"), std::string::npos) << diff;
  auto version = json::parse(writer_admin.Get("/catalog/versions/1", auth).body);
  EXPECT_TRUE(version.at("files").as_object().contains("endpoints/sales.yml"));
}

// Kills `dram apply` at every failpoint of a commit (data uploads, the catalog put, and the
// store's write/rename/fsync steps of each), then checks the catalog: readable, exactly the old
// or the new version, every referenced object present; a re-run completes the apply.
TEST_F(CatalogServingTest, ACrashAtAnyPointOfAnApplyLeavesTheOldOrTheNewVersion) {
  WriteCatalogProject(v1_, 1, false);
  WriteCatalogProject(v2_, 2, true);
  const std::vector<std::string> failpoints = {
      "apply.before_upload",       "store.put.before_write",   "store.put.after_write",   "apply.after_upload",
      "apply.before_commit",       "catalog.commit.before_put", "store.put.before_write@2", "store.put.after_write@2",
      "store.put.after_rename@2",  "store.put.after_sync@2",   "catalog.commit.after_put", "apply.after_commit"};
  store::LocalObjectStore store(root_);
  catalog::Catalog catalog(store);
  for (const auto& failpoint : failpoints) {
    SCOPED_TRACE(failpoint);
    std::filesystem::remove_all(root_);
    ASSERT_EQ(Apply(v1_.path()).exit_code, 0);
    auto v1 = catalog.Read(1);
    ASSERT_TRUE(v1.ok());
    CommandResult crashed = Apply(v2_.path(), {{"DRAM_FAILPOINT", failpoint}});
    EXPECT_EQ(crashed.exit_code, 128 + SIGKILL) << "the failpoint was not reached: " << crashed.output;
    auto latest = catalog.Latest();
    ASSERT_TRUE(latest.ok()) << latest.status().ToString();
    ASSERT_TRUE(*latest == 1 || *latest == 2) << *latest;
    auto document = catalog.Read(*latest);
    ASSERT_TRUE(document.ok()) << document.status().ToString();
    EXPECT_TRUE(document->SameContent(*v1) || document->files.contains("endpoints/sales_v2.yml"));
    EXPECT_TRUE(catalog.Verify(*latest).ok()) << catalog.Verify(*latest).ToString();
    CommandResult verified = Dram({"catalog", "verify", "--catalog", root_});
    EXPECT_EQ(verified.exit_code, 0) << verified.output;
    // The interrupted apply, run again, finishes the job.
    CommandResult again = Apply(v2_.path());
    ASSERT_EQ(again.exit_code, 0) << again.output;
    EXPECT_TRUE(catalog.Read(*catalog.Latest())->files.contains("endpoints/sales_v2.yml"));
  }
  // A crash while collecting old versions leaves a consistent, shorter history.
  CommandResult collecting = Dram({"catalog", "gc", "--keep", "1", "--grace", "0s", "--catalog", root_},
                                  {{"DRAM_FAILPOINT", "gc.after_delete_version"}});
  EXPECT_EQ(collecting.exit_code, 128 + SIGKILL) << collecting.output;
  EXPECT_EQ(Dram({"catalog", "verify", "--catalog", root_}).exit_code, 0);
  CommandResult collected = Dram({"catalog", "gc", "--keep", "1", "--grace", "0s", "--catalog", root_});
  ASSERT_EQ(collected.exit_code, 0) << collected.output;
  EXPECT_EQ(catalog.History()->size(), 1u);
  EXPECT_EQ(Dram({"catalog", "verify", "--catalog", root_}).exit_code, 0);
  // And the survivor serves.
  auto server = Serve(cache_a_.path());
  ASSERT_TRUE(server);
  HttpClient api("127.0.0.1", server->api_port());
  EXPECT_EQ(Amounts(api.Get("/v2/sales?limit=1").body), (std::vector<int64_t>{20}));
}

TEST_F(CatalogServingTest, ConcurrentWriterProcessesLoseNoUpdate) {
  ExpectNoLostUpdate(root_, {}, 4, 10);
}

TEST_F(CatalogServingTest, ExportImportAndCheckout) {
  WriteCatalogProject(v1_, 1, false);
  WriteCatalogProject(v2_, 2, true);
  ASSERT_EQ(Apply(v1_.path()).exit_code, 0);
  ASSERT_EQ(Apply(v2_.path()).exit_code, 0);
  TempDir backup, elsewhere, checkout;
  CommandResult exported = Dram({"catalog", "export", backup.path(), "--catalog", root_});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_NE(exported.output.find("exported 2 versions"), std::string::npos) << exported.output;
  EXPECT_EQ(Dram({"catalog", "verify", "--catalog", backup.path()}).exit_code, 0);
  CommandResult imported = Dram({"catalog", "import", backup.path(), "--catalog", elsewhere.path() + "/root"});
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_NE(imported.output.find("imported version 2"), std::string::npos);
  // The import is one new version (here the first) with the content of the source's newest.
  CommandResult out = Dram({"catalog", "checkout", "1", checkout.path() + "/imported", "--catalog", elsewhere.path() + "/root"});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_TRUE(std::filesystem::exists(checkout.path() + "/imported/endpoints/sales_v2.yml"));
  // The backup keeps the whole history: version 1 written out is a project that validates.
  out = Dram({"catalog", "checkout", "1", checkout.path() + "/p", "--catalog", backup.path()});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_FALSE(std::filesystem::exists(checkout.path() + "/p/endpoints/sales_v2.yml"));
  CommandResult validated = Dram({"validate", checkout.path() + "/p"});
  EXPECT_EQ(validated.exit_code, 0) << validated.output;
}

}  // namespace
}  // namespace dram::testing
