// The S3 store against a real radosgw on 127.0.0.1 (started by the ctest fixture), SigV4 enforced.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "catalog/catalog_log.h"
#include "store/downloader.h"
#include "store/store_uri.h"
#include "testutil/fault_proxy.h"
#include "testutil/s3_env.h"
#include "testutil/server_process.h"

namespace dram {
namespace {

using store::ByteRange;
using store::ObjectStore;

std::string UniquePrefix(const std::string& name) {
  return name + "-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
}

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::OpenStore(testing::S3TestUri(UniquePrefix(
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name())),
                                   testing::S3TestLookup());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(S3StoreTest, PutGetRangesHeadDelete) {
  std::string bytes(300'000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 % 251);
  auto put = store_->Put("db/a b+c.bin", bytes);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_FALSE(put->etag.empty());
  EXPECT_EQ(*store_->Get("db/a b+c.bin"), bytes);
  EXPECT_EQ(*store_->Get("db/a b+c.bin", ByteRange{1000, 10}), bytes.substr(1000, 10));
  EXPECT_EQ(*store_->Get("db/a b+c.bin", ByteRange{299'990, -1}), bytes.substr(299'990));
  EXPECT_EQ(*store_->Get("db/a b+c.bin", ByteRange{299'990, 100}), bytes.substr(299'990));
  EXPECT_EQ(store_->Get("db/a b+c.bin", ByteRange{400'000, 10}).status().code(), StatusCode::kOutOfRange);
  auto head = store_->Head("db/a b+c.bin");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, 300'000);
  EXPECT_EQ(head->etag, put->etag);
  EXPECT_GT(head->modified_ms, 1'700'000'000'000);
  EXPECT_EQ(store_->Head("db/missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("db/missing").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->Delete("db/a b+c.bin").ok());
  EXPECT_EQ(store_->Head("db/a b+c.bin").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->Delete("db/a b+c.bin").ok());  // deleting a missing key is fine
}

TEST_F(S3StoreTest, ReadIfMatchRefusesAChangedObject) {
  auto first = store_->Put("k", "one");
  ASSERT_TRUE(first.ok());
  std::string got;
  store::ByteSink sink = [&](std::string_view chunk) {
    got.append(chunk);
    return true;
  };
  ASSERT_TRUE(store_->Read("k", std::nullopt, sink, {.if_match_etag = first->etag}).ok());
  EXPECT_EQ(got, "one");
  ASSERT_TRUE(store_->Put("k", "two").ok());
  EXPECT_EQ(store_->Read("k", ByteRange{0, 2}, sink, {.if_match_etag = first->etag}).code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(S3StoreTest, ListPagesWithDelimiterAndContinuation) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(store_->Put("t/part-" + std::to_string(i) + ".parquet", "x").ok());
  ASSERT_TRUE(store_->Put("t/year=2024/a.parquet", "y").ok());
  ASSERT_TRUE(store_->Put("t/year=2025/a.parquet", "z").ok());
  ASSERT_TRUE(store_->Put("u/other", "z").ok());
  std::vector<std::string> keys;
  std::vector<std::string> prefixes;
  std::string token;
  int pages = 0;
  do {
    auto page = store_->List("t/", "/", token, 3);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (auto& object : page->objects) keys.push_back(object.key);
    for (auto& prefix : page->prefixes) prefixes.push_back(prefix);
    token = page->continuation;
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_GE(pages, 3);
  ASSERT_EQ(keys.size(), 7u);
  EXPECT_EQ(keys.front(), "t/part-0.parquet");  // relative to the store's prefix
  EXPECT_EQ(prefixes, (std::vector<std::string>{"t/year=2024/", "t/year=2025/"}));
  auto all = store_->List("", "", "", 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->objects.size(), 10u);
}

TEST_F(S3StoreTest, CreateOnlyPutHasExactlyOneWinnerAmongRacers) {
  constexpr int kRacers = 16;
  std::atomic<int> won{0}, lost{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      auto put = store_->Put("_catalog/00000000000000000001.json", "writer " + std::to_string(i), {.if_absent = true});
      if (put.ok()) {
        ++won;
      } else if (put.status().code() == StatusCode::kFailedPrecondition) {
        ++lost;
      } else {
        ++other;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), kRacers - 1);
  EXPECT_EQ(other.load(), 0);
}

TEST_F(S3StoreTest, IfMatchPutRejectsAStaleEtag) {
  auto first = store_->Put("_latest", "1");
  ASSERT_TRUE(first.ok());
  auto second = store_->Put("_latest", "2", {.if_match_etag = first->etag});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(store_->Put("_latest", "3", {.if_match_etag = first->etag}).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(*store_->Get("_latest"), "2");
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST_F(S3StoreTest, DownloadAllFetchesPartsInParallelAndVerifies) {
  std::string big(5'000'000, '\0');
  std::mt19937 random(7);
  for (auto& c : big) c = static_cast<char>(random());
  ASSERT_TRUE(store_->Put("d/big.bin", big).ok());
  ASSERT_TRUE(store_->Put("d/small.bin", "hello").ok());
  ASSERT_TRUE(store_->Put("d/empty.bin", "").ok());
  auto listing = store_->List("d/", "", "", 1000);
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->objects.size(), 3u);
  auto dir = std::filesystem::temp_directory_path() / UniquePrefix("download");
  std::filesystem::create_directories(dir);
  std::vector<store::DownloadItem> items;
  for (const auto& object : listing->objects) {
    EXPECT_TRUE(store::EtagIsMd5(object.etag)) << object.etag;  // single-part uploads: MD5 checked
    items.push_back({object, (dir / std::filesystem::path(object.key).filename()).string()});
  }
  store::TransferProgress progress;
  Status status = store::DownloadAll(*store_, items, {.parallelism = 4, .part_bytes = 1 << 20}, &progress);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(ReadFile(dir / "big.bin"), big);
  EXPECT_EQ(ReadFile(dir / "small.bin"), "hello");
  EXPECT_TRUE(std::filesystem::exists(dir / "empty.bin"));
  EXPECT_EQ(progress.done_bytes.load(), 5'000'005);
  EXPECT_EQ(progress.files_done.load(), 3);

  // The object changed since it was listed: refused, and nothing appears under the final name.
  ASSERT_TRUE(store_->Put("d/small.bin", "changed").ok());
  std::filesystem::remove(dir / "small.bin");
  std::vector<store::DownloadItem> stale;
  for (const auto& item : items) {
    if (item.object.key == "d/small.bin") stale.push_back(item);
  }
  status = store::DownloadAll(*store_, stale, {});
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status.ToString();
  EXPECT_FALSE(std::filesystem::exists(dir / "small.bin"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 2);
  std::filesystem::remove_all(dir);
}

std::string RandomBytes(size_t size, uint32_t seed) {
  std::string bytes(size, '\0');
  std::mt19937 random(seed);
  for (auto& c : bytes) c = static_cast<char>(random());
  return bytes;
}

size_t PartFilesIn(const std::filesystem::path& dir) {
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    count += entry.path().filename().string().find(".part.") != std::string::npos;
  }
  return count;
}

// More objects than hash lanes, with sizes around the hasher's chunk (256 KiB) and MD5 block
// (64 B) edges, some cut into ranged parts that land out of order: every file is hashed while it
// arrives and verified; the bytes are exact.
TEST_F(S3StoreTest, DownloadAllHashesManyFilesSideBySide) {
  const size_t sizes[] = {0, 1, 63, 64, 65, 262'143, 262'144, 262'145, 1'000'003, 3'333'333, 2'097'152, 700'000};
  auto dir = std::filesystem::temp_directory_path() / UniquePrefix("lanes");
  std::filesystem::create_directories(dir);
  std::vector<store::DownloadItem> items;
  std::map<std::string, std::string> expected;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    const std::string name = "f" + std::to_string(i) + ".bin";
    expected[name] = RandomBytes(sizes[i], static_cast<uint32_t>(i));
    auto put = store_->Put("m/" + name, expected[name]);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    ASSERT_TRUE(store::EtagIsMd5(put->etag)) << put->etag;
    items.push_back({{"m/" + name, static_cast<int64_t>(sizes[i]), put->etag}, (dir / name).string()});
  }
  for (int parallelism : {16, 3}) {  // 16: one part per object; 3 with 256 KiB parts: ranges
    SCOPED_TRACE(parallelism);
    Status status = store::DownloadAll(*store_, items, {.parallelism = parallelism, .part_bytes = 256 << 10});
    ASSERT_TRUE(status.ok()) << status.ToString();
    for (const auto& [name, bytes] : expected) EXPECT_EQ(ReadFile(dir / name), bytes) << name;
    EXPECT_EQ(PartFilesIn(dir), 0u);
    for (const auto& [name, bytes] : expected) std::filesystem::remove(dir / name);
  }
  std::filesystem::remove_all(dir);
}

// One flipped byte in one object's bytes (a proxy between us and radosgw) is DataLoss on every
// path the hasher takes: whole objects hashed in lanes beside others, and an object fetched in
// ranged parts. The corrupt object never appears under its name; no temp file is left.
TEST_F(S3StoreTest, DownloadAllDetectsACorruptByteOnEveryPath) {
  const auto& env = testing::S3TestEnvironment();
  const std::string endpoint = env.at("AWS_ENDPOINT_URL");
  testing::FaultProxy proxy("127.0.0.1", std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  const std::string prefix = UniquePrefix("corrupt");
  auto opened = store::OpenStore(testing::S3TestUri(prefix), testing::S3TestLookup({{"AWS_ENDPOINT_URL", proxy.url()}, {"AWS_ENDPOINT_URL_S3", proxy.url()}}));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ObjectStore& through_proxy = **opened;
  auto dir = std::filesystem::temp_directory_path() / prefix;
  std::filesystem::create_directories(dir);
  std::vector<store::DownloadItem> items;
  for (int i = 0; i < 6; ++i) {
    const std::string name = "o" + std::to_string(i) + ".bin";
    auto put = through_proxy.Put(name, RandomBytes(1'500'000 + static_cast<size_t>(i) * 1000, 100 + i));
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    items.push_back({{name, 1'500'000 + i * 1000, put->etag}, (dir / name).string()});
  }
  struct Case {
    const char* path;
    store::DownloadOptions options;
    int corrupt_gets;  // of the target object's GETs
  };
  for (const Case& c : {Case{"whole objects in lanes", {.parallelism = 6}, 1},
                        Case{"ranged parts", {.parallelism = 12, .part_bytes = 256 << 10}, 1},
                        Case{"ranged parts, every one corrupt", {.parallelism = 12, .part_bytes = 256 << 10}, -1}}) {
    SCOPED_TRACE(c.path);
    proxy.Set(testing::Fault::kCorrupt, c.corrupt_gets, "GET", "o3.bin");
    const int injected_before = proxy.faults_injected();
    Status status = store::DownloadAll(through_proxy, items, c.options);
    proxy.Clear();
    EXPECT_GT(proxy.faults_injected(), injected_before);
    EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status.ToString();
    EXPECT_NE(status.ToString().find("MD5"), std::string::npos) << status.ToString();
    EXPECT_FALSE(std::filesystem::exists(dir / "o3.bin"));
    EXPECT_EQ(PartFilesIn(dir), 0u);
    for (const auto& item : items) std::filesystem::remove(item.path);
  }
  std::filesystem::remove_all(dir);
}

// The read-only HTTPS store, against the same server: an object made public-read is fetched
// anonymously by URL, whole, by range and by HEAD; writes and listings are refused.
TEST(HttpsStore, ReadsPublicObjectsByUrlAndRefusesWrites) {
  const auto& env = testing::S3TestEnvironment();
  const std::string key = UniquePrefix("public") + "/data.csv";
  const std::string url = env.at("AWS_ENDPOINT_URL") + "/" + env.at("DRAM_TEST_BUCKET");
  testing::CommandResult put = testing::RunCommand(
      {"/usr/bin/curl", "-sf", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
       env.at("AWS_ACCESS_KEY_ID") + ":" + env.at("AWS_SECRET_ACCESS_KEY"), "-H", "x-amz-acl: public-read", "-H",
       "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-X", "PUT", "--data-binary", "a,b\n1,2\n", url + "/" + key});
  ASSERT_EQ(put.exit_code, 0) << put.output;
  auto opened = store::OpenStore(url, testing::S3TestLookup());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ObjectStore& https = **opened;
  EXPECT_EQ(*https.Get(key), "a,b\n1,2\n");
  EXPECT_EQ(*https.Get(key, ByteRange{4, 3}), "1,2");
  auto head = https.Head(key);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, 8);
  EXPECT_FALSE(head->etag.empty());
  // S3 answers an anonymous GET of a missing key in a private bucket with 403 (it does not say
  // whether the key exists): that is what the store reports.
  EXPECT_EQ(https.Get(UniquePrefix("missing") + "/x").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(https.Put("x", "y").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(https.Delete("x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(https.List("", "", "", 10).status().code(), StatusCode::kUnimplemented);
}

// No lost update through S3's create-only puts: 4 writers x 10 commits on radosgw.
TEST_F(S3StoreTest, CatalogCommitsFromConcurrentWritersAllLand) {
  constexpr int kWriters = 4;
  constexpr int kEach = 10;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      catalog::CatalogLog log(*store_);
      for (int m = 0; m < kEach; ++m) {
        std::string item = "\"w" + std::to_string(w) + "-" + std::to_string(m) + "\"";
        auto committed = log.Commit([&](const std::string& current, int64_t) -> Result<std::string> {
          std::string items = current.empty() ? "" : current.substr(1, current.size() - 2);  // [a,b] -> a,b
          return "[" + items + (items.empty() ? "" : ",") + item + "]";
        });
        if (!committed.ok()) ++failures;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  catalog::CatalogLog log(*store_);
  ASSERT_EQ(*log.Latest(), kWriters * kEach);
  std::string last = *log.Read(kWriters * kEach);
  for (int w = 0; w < kWriters; ++w) {
    for (int m = 0; m < kEach; ++m) {
      std::string item = "\"w" + std::to_string(w) + "-" + std::to_string(m) + "\"";
      size_t at = last.find(item);
      EXPECT_NE(at, std::string::npos) << item;
      EXPECT_EQ(last.find(item, at + 1), std::string::npos) << item << " twice";
    }
  }
}

TEST(S3StoreAuth, WrongSecretIsPermissionDeniedAndNeverEchoed) {
  const std::string secret = "definitely-not-the-secret-0123456789";
  auto opened = store::OpenStore(testing::S3TestUri("auth"), testing::S3TestLookup({{"AWS_SECRET_ACCESS_KEY", secret}}));
  ASSERT_TRUE(opened.ok());
  auto get = (*opened)->Get("anything");
  EXPECT_EQ(get.status().code(), StatusCode::kPermissionDenied) << get.status().ToString();
  EXPECT_EQ(get.status().message().find(secret), std::string::npos);
  EXPECT_EQ((*opened)->Put("x", "y").status().code(), StatusCode::kPermissionDenied);
}

TEST(S3StoreAuth, UnreachableEndpointIsUnavailableAfterBoundedRetries) {
  auto config = store::S3ConfigFromUri("s3://b/p", testing::S3TestLookup({{"AWS_ENDPOINT_URL", "http://127.0.0.1:1"}}));
  ASSERT_TRUE(config.ok());
  config->retry = {.max_attempts = 3, .base_delay = std::chrono::milliseconds(10)};
  store::S3ObjectStore store(*config);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(store.Head("k").status().code(), StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace dram
