// Catalog documents, the write coalescer, restore, verify, retention and the project tree, over a
// real local store.
#include "catalog/catalog.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "catalog/project_tree.h"
#include "common/sha256.h"
#include "store/local_object_store.h"

namespace dram::catalog {
namespace {

namespace fs = std::filesystem;

// A local store whose puts take a while, so concurrent edits in one process overlap a commit.
class SlowPutStore : public store::LocalObjectStore {
 public:
  using LocalObjectStore::LocalObjectStore;
  Result<store::ObjectInfo> Put(const std::string& key, const std::string& bytes, const store::PutOptions& options) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    return LocalObjectStore::Put(key, bytes, options);
  }
};

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dram-catalog-doc-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "root");
    store_ = std::make_unique<store::LocalObjectStore>((dir_ / "root").string());
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Puts a data object and returns its reference.
  DataRef PutData(const std::string& bytes) {
    DataRef ref{common::Sha256Hex(bytes), static_cast<int64_t>(bytes.size())};
    EXPECT_TRUE(store_->Put(DataKey(ref.sha256), bytes).ok());
    return ref;
  }
  fs::path dir_;
  std::unique_ptr<store::ObjectStore> store_;
};

TEST(CatalogDocumentTest, RoundTripsAndDiffsReadably) {
  CatalogDocument a;
  a.files["dram.yml"] = "server:\n  listen: 127.0.0.1:8080\n";
  a.files["endpoints/old.yml"] = "name: old\n";
  a.data["data/x.csv"] = {std::string(64, 'a'), 10};
  a.runtime = R"({"databases":[],"aliases":{"cur":{"database":"x","pinned":""}}})";
  a.message = "apply demo";
  auto parsed = CatalogDocument::Parse(a.Serialize());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->SameContent(a));
  EXPECT_EQ(parsed->message, "apply demo");

  CatalogDocument b = a;
  b.files["dram.yml"] = "server:\n  listen: 127.0.0.1:9090\n";
  b.files.erase("endpoints/old.yml");
  b.files["endpoints/new.yml"] = "name: new\n";
  b.data["data/x.csv"] = {std::string(64, 'b'), 2048};
  b.runtime = R"({"databases":[],"aliases":{"cur":{"database":"y","pinned":""}}})";
  EXPECT_FALSE(b.SameContent(a));
  std::string diff = Diff(a, b);
  EXPECT_NE(diff.find("~ dram.yml\n    2 -   listen: 127.0.0.1:8080\n    2 +   listen: 127.0.0.1:9090\n"), std::string::npos)
      << diff;
  EXPECT_NE(diff.find("+ endpoints/new.yml"), std::string::npos) << diff;
  EXPECT_NE(diff.find("- endpoints/old.yml"), std::string::npos) << diff;
  EXPECT_NE(diff.find("~ data/x.csv  10 B sha256:aaaaaaaaaaaa → 2.0 KiB sha256:bbbbbbbbbbbb"), std::string::npos) << diff;
  EXPECT_NE(diff.find("aliases.cur = {\"database\":\"y\""), std::string::npos) << diff;
  EXPECT_EQ(Diff(a, a), "");

  EXPECT_FALSE(CatalogDocument::Parse("[1]").ok());
  EXPECT_FALSE(CatalogDocument::Parse(R"({"data":{"x":{"sha256":"../../etc","size":1}}})").ok());
  EXPECT_EQ(CatalogDocument::Parse(R"({"format":99})").status().code(), StatusCode::kFailedPrecondition);
}

TEST(CatalogDocumentTest, RuntimeMergeKeepsBothMembersChanges) {
  std::string base = R"({"databases":[{"name":"a","source":"s3://x/a"}],"aliases":{"cur":{"database":"a"}}})";
  // Mine adds database b and repoints nothing; theirs (committed meanwhile) adds alias old.
  std::string mine = R"({"databases":[{"name":"a","source":"s3://x/a"},{"name":"b","source":"s3://x/b"}],"aliases":{"cur":{"database":"a"}}})";
  std::string theirs = R"({"databases":[{"name":"a","source":"s3://x/a"}],"aliases":{"cur":{"database":"a"},"old":{"database":"a"}}})";
  std::string merged = MergeRuntime(base, mine, theirs);
  EXPECT_NE(merged.find(R"("name":"b")"), std::string::npos) << merged;
  EXPECT_NE(merged.find(R"("old":{"database":"a"})"), std::string::npos) << merged;
  // A delete in mine removes the entry from theirs.
  std::string without_a = R"({"databases":[],"aliases":{"cur":{"database":"a"}}})";
  EXPECT_EQ(MergeRuntime(base, without_a, theirs).find(R"("name":"a")"), std::string::npos);
}

TEST_F(CatalogTest, ConcurrentEditsInOneProcessShareCommitsAndAllLand) {
  SlowPutStore slow((dir_ / "root").string());
  Catalog catalog(slow);
  constexpr int kEdits = 16;
  std::vector<std::thread> threads;
  std::vector<int64_t> versions(kEdits);
  for (int i = 0; i < kEdits; ++i) {
    threads.emplace_back([&, i] {
      auto version = catalog.Update(
          [i](CatalogDocument& document) {
            document.files["edits/" + std::to_string(i)] = "x";
            return Status::Ok();
          },
          "edit " + std::to_string(i));
      versions[i] = version.ok() ? *version : -1;
    });
  }
  for (auto& thread : threads) thread.join();
  auto latest = catalog.Latest();
  ASSERT_TRUE(latest.ok());
  auto document = catalog.Read(*latest);
  ASSERT_TRUE(document.ok());
  for (int i = 0; i < kEdits; ++i) {
    EXPECT_TRUE(document->files.contains("edits/" + std::to_string(i))) << i;
    EXPECT_GE(versions[i], 1);
  }
  // The first edit commits alone while the other 15 queue behind it: far fewer commits than edits.
  EXPECT_LE(*latest, 4) << "edits were not batched";
  // An edit that fails alone does not stop the others, and commits nothing of its own.
  auto failed = catalog.Update([](CatalogDocument&) { return InvalidArgument("refused"); }, "bad");
  EXPECT_EQ(failed.status().code(), StatusCode::kInvalidArgument);
  // An edit that changes nothing commits nothing.
  auto same = catalog.Update([](CatalogDocument&) { return Status::Ok(); }, "noop");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, *latest);
}

TEST_F(CatalogTest, RestoreVerifyAndRetention) {
  Catalog catalog(*store_);
  DataRef one = PutData("one,1\n"), two = PutData("two,2\n"), three = PutData("three,3\n");
  auto with = [](DataRef ref, std::string endpoint) {
    return [ref, endpoint](CatalogDocument& d) {
      d.data = {{"data/t.csv", ref}};
      d.files = {{"endpoints/e.yml", endpoint}};
      return Status::Ok();
    };
  };
  ASSERT_EQ(*catalog.Update(with(one, "v1"), "v1"), 1);
  ASSERT_EQ(*catalog.Update(with(two, "v2"), "v2"), 2);
  ASSERT_EQ(*catalog.Update(with(three, "v3"), "v3"), 3);
  auto restored = catalog.Restore(1);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(*restored, 4);
  EXPECT_TRUE(catalog.Read(4)->SameContent(*catalog.Read(1)));
  EXPECT_EQ(catalog.Read(4)->message, "restore 1");
  auto history = catalog.History();
  ASSERT_EQ(history->size(), 4u);
  EXPECT_EQ(history->front().version, 4);

  // Keep 2 (v3, v4): v1 and v2 go; `two` is referenced by neither and goes; `one` (v4) and
  // `three` (v3) stay.
  auto report = catalog.Collect(2, std::chrono::milliseconds(0));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->versions_deleted, 2);
  EXPECT_TRUE(store_->Head(DataKey(one.sha256)).ok());
  EXPECT_TRUE(store_->Head(DataKey(three.sha256)).ok());
  EXPECT_FALSE(store_->Head(DataKey(two.sha256)).ok());
  EXPECT_TRUE(catalog.Verify(3).ok());
  EXPECT_TRUE(catalog.Verify(4).ok());
  EXPECT_EQ(catalog.Read(1).status().code(), StatusCode::kNotFound);
  // An unreferenced object younger than the grace period (an apply's upload before its commit)
  // stays; past it, it goes.
  DataRef fresh = PutData("uploaded by an apply that has not committed yet\n");
  ASSERT_TRUE(catalog.Collect(2, std::chrono::hours(1)).ok());
  EXPECT_TRUE(store_->Head(DataKey(fresh.sha256)).ok());
  ASSERT_TRUE(catalog.Collect(2, std::chrono::milliseconds(0)).ok());
  EXPECT_FALSE(store_->Head(DataKey(fresh.sha256)).ok());

  // A version whose object is missing fails verification, and cannot be restored.
  ASSERT_TRUE(store_->Delete(DataKey(three.sha256)).ok());
  EXPECT_EQ(catalog.Verify(3).code(), StatusCode::kDataLoss);
  EXPECT_EQ(catalog.Restore(3).status().code(), StatusCode::kDataLoss);
}

// An apply read version 1 (which holds its data object X, so it skipped the upload); meanwhile
// version 2 dropped X and a collection deleted it. The apply's edit, applied on version 2, must
// write X again, or its version would reference a missing object.
TEST_F(CatalogTest, AnApplyRacingACollectionNeverCommitsAMissingObject) {
  Catalog catalog(*store_);
  const std::string bytes = "id\n1\n";
  DataRef x = PutData(bytes);
  ASSERT_TRUE(catalog.Update([&](CatalogDocument& d) { d.data = {{"data/x.csv", x}}; return Status::Ok(); }, "v1").ok());
  CatalogDocument ours = *catalog.Read(1);  // what the apply read, and will commit again
  ours.files["endpoints/new.yml"] = "name: new\n";
  ASSERT_TRUE(catalog.Update([&](CatalogDocument& d) { d.data.clear(); return Status::Ok(); }, "v2 drops x").ok());
  ASSERT_EQ(catalog.Collect(1, std::chrono::milliseconds(0))->objects_deleted, 1);
  ASSERT_FALSE(store_->Head(DataKey(x.sha256)).ok());
  int reads = 0;
  auto version = catalog.Update(
      [&](CatalogDocument& current) {
        RETURN_IF_ERROR(RenewUnpinned(*store_, ours, current, {}, [&](const std::string&, const DataRef&) -> Result<std::string> {
          ++reads;
          return bytes;
        }));
        current.files = ours.files;
        current.data = ours.data;
        return Status::Ok();
      },
      "apply");
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(reads, 1);
  EXPECT_TRUE(catalog.Verify(*version).ok());
  // Restore of a version whose objects the newest does not hold renews them the same way.
  ASSERT_TRUE(catalog.Update([&](CatalogDocument& d) { d.data.clear(); return Status::Ok(); }, "drop again").ok());
  auto restored = catalog.Restore(*version);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_TRUE(catalog.Verify(*restored).ok());
}

TEST_F(CatalogTest, AnApplyNeverRevertsAProjectChangeItDidNotShow) {
  Catalog catalog(*store_);
  // A failing edit on an empty catalog commits nothing (not even the empty first version).
  auto failed = catalog.Update([](CatalogDocument&) { return InvalidArgument("no"); }, "fails");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(*catalog.Latest(), 0);

  ASSERT_TRUE(catalog.Update([](CatalogDocument& d) { d.files = {{"dram.yml", "a: 1\n"}}; return Status::Ok(); }, "v1").ok());
  const CatalogDocument base = *catalog.Read(1);  // the version whose diff the user of apply A saw
  CatalogDocument project = base;
  project.files["endpoints/b.yml"] = "name: b\n";
  // Apply B lands first and changes the project.
  CatalogDocument other = base;
  other.files["dram.yml"] = "a: 2\n";
  ASSERT_EQ(*catalog.Update([&](CatalogDocument& d) { return ApplyProject(d, base, other); }, "apply B"), 2);
  auto refused = catalog.Update([&](CatalogDocument& d) { return ApplyProject(d, base, project); }, "apply A");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kAborted);
  EXPECT_NE(refused.status().ToString().find("apply B"), std::string::npos) << refused.status().ToString();
  EXPECT_EQ(*catalog.Latest(), 2);
  EXPECT_EQ(catalog.Read(2)->files.at("dram.yml"), "a: 2\n");

  // Runtime changes in between (a database added through the admin API) do not conflict, and are kept.
  const CatalogDocument base2 = *catalog.Read(2);
  const std::string runtime = R"({"aliases":{"x":{"database":"y"}}})";
  ASSERT_EQ(*catalog.Update([&](CatalogDocument& d) { d.runtime = runtime; return Status::Ok(); }, "alias"), 3);
  CatalogDocument project2 = base2;
  project2.files["endpoints/b.yml"] = "name: b\n";
  ASSERT_EQ(*catalog.Update([&](CatalogDocument& d) { return ApplyProject(d, base2, project2); }, "apply A again"), 4);
  CatalogDocument applied = *catalog.Read(4);
  EXPECT_EQ(applied.files, project2.files);
  EXPECT_EQ(applied.runtime, runtime);
  // The same apply run twice (its commit's reply lost, say) is no conflict and commits nothing new.
  EXPECT_EQ(*catalog.Update([&](CatalogDocument& d) { return ApplyProject(d, base2, project2); }, "apply A twice"), 4);
}

TEST_F(CatalogTest, ProjectTreeRoundTripKeepsUnchangedFilesInPlace) {
  fs::path project = dir_ / "project";
  fs::create_directories(project / "datasets");
  fs::create_directories(project / "data");
  std::ofstream(project / "dram.yml") << "cache_dir: .dram/cache\n";
  std::ofstream(project / "datasets" / "d.yml") << "name: d\n";
  std::ofstream(project / "data" / "a.csv") << "x\n1\n";
  std::ofstream(project / "data" / "b.csv") << "x\n2\n";
  auto document = ReadProject(project.string(), {}, {(project / "data" / "a.csv").string(), (project / "data" / "b.csv").string()});
  ASSERT_TRUE(document.ok()) << document.status().ToString();
  EXPECT_EQ(document->files.size(), 2u);
  EXPECT_EQ(document->data.size(), 2u);
  EXPECT_EQ(ReadProject(project.string(), {}, {"/etc/hostname"}).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(UploadData(*store_, project.string(), *document, {}).ok());

  fs::path tree = dir_ / "tree", objects = dir_ / "objects";
  std::ofstream((fs::create_directories(tree / "data"), tree / "data" / "stale.csv")) << "old\n";
  ASSERT_TRUE(SyncTree(*store_, *document, tree.string(), objects.string()).ok());
  EXPECT_FALSE(fs::exists(tree / "data" / "stale.csv"));  // a glob must not see it
  struct stat before {};
  ASSERT_EQ(::stat((tree / "data" / "a.csv").c_str(), &before), 0);
  CatalogDocument changed = *document;
  changed.files["datasets/d.yml"] = "name: d\ndescription: changed\n";
  changed.data.erase("data/b.csv");
  ASSERT_TRUE(SyncTree(*store_, changed, tree.string(), objects.string()).ok());
  struct stat after {};
  ASSERT_EQ(::stat((tree / "data" / "a.csv").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // untouched: a dataset over it keeps its snapshot
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
  EXPECT_FALSE(fs::exists(tree / "data" / "b.csv"));
  std::ifstream in(tree / "datasets" / "d.yml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "name: d\ndescription: changed\n");

  // A tampered object is refused, and a catalog cannot write outside its tree.
  CatalogDocument tampered = changed;
  tampered.data["data/c.csv"] = {common::Sha256Hex("not what is stored"), 4};
  ASSERT_TRUE(store_->Put(DataKey(tampered.data["data/c.csv"].sha256), "evil").ok());
  EXPECT_EQ(SyncTree(*store_, tampered, tree.string(), objects.string()).code(), StatusCode::kDataLoss);
  CatalogDocument escaping;
  escaping.files["../outside.yml"] = "x";
  EXPECT_FALSE(SyncTree(*store_, escaping, tree.string(), objects.string()).ok());
  EXPECT_FALSE(fs::exists(dir_ / "outside.yml"));
}

}  // namespace
}  // namespace dram::catalog
