#include "integration/catalog_fixture.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "catalog/catalog.h"
#include "store/store_uri.h"

namespace dram::testing {

void WriteCatalogProject(const TempDir& dir, int version, bool with_v2) {
  dir.Write("dram.yml", "engine: {threads: 1, pool_size: 2}\ncache_dir: .dram/cache\n");
  std::string csv = "id,amount\n";
  for (int id = 1; id <= 50; ++id) csv += std::to_string(id) + "," + std::to_string(id * 10 * version) + "\n";
  dir.Write("data/sales.csv", csv);
  dir.Write("datasets/shop.yml", "name: shop\ntables:\n  sales: {path: data/sales.csv}\n");
  dir.Write("endpoints/sales.yml", "name: sales\nversion: 1\ndataset: shop\ntable: sales\ncolumns: [id, amount]\norder_by: [id]\n");
  if (with_v2) {
    dir.Write("endpoints/sales_v2.yml", "name: sales\nversion: 2\ndataset: shop\ntable: sales\ncolumns: [id, amount]\norder_by: [id]\n");
  }
}

std::vector<int64_t> Amounts(const std::string& body) {
  std::vector<int64_t> amounts;
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object() || !value.as_object().contains("data")) return amounts;
  for (const auto& row : value.at("data").as_array()) amounts.push_back(row.at("amount").to_number<int64_t>());
  return amounts;
}

void ExpectNoLostUpdate(const std::string& uri, const std::map<std::string, std::string>& env, int writers, int edits) {
  std::vector<pid_t> children;
  for (int w = 0; w < writers; ++w) {
    pid_t pid = ::fork();
    if (pid == 0) {
      for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
      std::string binary = CatalogWriterBinary(), id = "w" + std::to_string(w), count = std::to_string(edits);
      std::string root = uri;
      char* argv[] = {binary.data(), root.data(), id.data(), count.data(), nullptr};
      ::execv(argv[0], argv);
      ::_exit(127);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a writer failed";
  }
  auto opened = store::OpenStore(uri, [&](const std::string& name) -> std::optional<std::string> {
    if (auto it = env.find(name); it != env.end()) return it->second;
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  });
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  catalog::Catalog catalog(**opened);
  auto latest = catalog.Latest();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, writers * edits);
  catalog::CatalogDocument previous;
  for (int64_t version = 1; version <= *latest; ++version) {
    auto document = catalog.Read(version);
    ASSERT_TRUE(document.ok()) << version;
    size_t added = 0;
    for (const auto& [path, text] : document->files) added += previous.files.contains(path) ? 0 : 1;
    EXPECT_EQ(added, 1u) << "version " << version;
    EXPECT_EQ(document->files.size(), previous.files.size() + 1) << "version " << version << " dropped an edit";
    previous = std::move(document).value();
  }
  for (int w = 0; w < writers; ++w) {
    for (int i = 0; i < edits; ++i) EXPECT_TRUE(previous.files.contains("edits/w" + std::to_string(w) + "-" + std::to_string(i)));
  }
}

}  // namespace dram::testing
