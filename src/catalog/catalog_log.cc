#include "catalog/catalog_log.h"

#include <boost/json.hpp>

#include <algorithm>
#include <random>
#include <thread>

#include "common/failpoint.h"

namespace dram::catalog {

namespace {

constexpr std::string_view kPrefix = "_catalog/";
constexpr size_t kDigits = 20;

std::string NewCommitId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char text[40];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random()));
  return text;
}

// Parses "_catalog/00000000000000000042.json" → 42; -1 for anything else.
int64_t VersionOfKey(std::string_view key) {
  if (!key.starts_with(kPrefix)) return -1;
  key.remove_prefix(kPrefix.size());
  if (key.size() != kDigits + 5 || !key.ends_with(".json")) return -1;
  int64_t version = 0;
  for (char c : key.substr(0, kDigits)) {
    if (c < '0' || c > '9') return -1;
    version = version * 10 + (c - '0');
  }
  return version;
}

}  // namespace

std::string CatalogLog::KeyOf(int64_t version) {
  std::string digits = std::to_string(version);
  return std::string(kPrefix) + std::string(kDigits - digits.size(), '0') + digits + ".json";
}

Result<std::vector<int64_t>> CatalogLog::Versions() const {
  std::vector<int64_t> versions;
  std::string token;
  do {
    ASSIGN_OR_RETURN(store::ListResult page, store_.List(std::string(kPrefix), "", token, 1000));
    for (const auto& object : page.objects) {
      if (int64_t version = VersionOfKey(object.key); version > 0) versions.push_back(version);
    }
    token = page.continuation;
  } while (!token.empty());
  std::sort(versions.begin(), versions.end());
  return versions;
}

Result<int64_t> CatalogLog::Latest() const {
  ASSIGN_OR_RETURN(std::vector<int64_t> versions, Versions());
  return versions.empty() ? 0 : versions.back();
}

Result<std::string> CatalogLog::Read(int64_t version) const {
  ASSIGN_OR_RETURN(std::string bytes, store_.Get(KeyOf(version)));
  boost::system::error_code ec;
  boost::json::value envelope = boost::json::parse(bytes, ec);
  const boost::json::value* catalog = !ec && envelope.is_object() ? envelope.as_object().if_contains("catalog") : nullptr;
  if (!catalog) return DataLoss("catalog version is not a catalog envelope", KeyOf(version));
  return boost::json::serialize(*catalog);
}

Result<int64_t> CatalogLog::Commit(const Mutation& mutate) {
  const std::string commit_id = NewCommitId();
  ASSIGN_OR_RETURN(int64_t current, Latest());
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    std::string document;
    if (current > 0) {
      auto read = Read(current);
      // A newer version may exist than a stale listing said; a missing one means the listing
      // raced a retention delete: list again.
      if (!read.ok() && read.status().code() != StatusCode::kNotFound) return read.status();
      if (!read.ok()) {
        ASSIGN_OR_RETURN(current, Latest());
        continue;
      }
      document = std::move(read).value();
    }
    ASSIGN_OR_RETURN(std::string next, mutate(document, current));
    boost::system::error_code ec;
    boost::json::value catalog = boost::json::parse(next, ec);
    if (ec) return InvalidArgument("the new catalog is not JSON");
    const int64_t version = current + 1;
    std::string bytes = boost::json::serialize(boost::json::object{
        {"version", version}, {"parent", current}, {"commit_id", commit_id}, {"catalog", std::move(catalog)}});
    common::Failpoint("catalog.commit.before_put");
    auto put = store_.Put(KeyOf(version), bytes, {.if_absent = true});
    if (put.ok()) common::Failpoint("catalog.commit.after_put");
    if (put.ok()) return version;
    if (put.status().code() != StatusCode::kFailedPrecondition) return put.status();
    // Taken: by another writer (a lost race), or by our own earlier attempt whose reply was lost.
    auto landed = store_.Get(KeyOf(version));
    if (landed.ok() && landed->find("\"commit_id\":\"" + commit_id + "\"") != std::string::npos) return version;
    // Lost: wait a little (full jitter, so the losers spread out), then re-apply on top of the
    // newest version, which may be well past the one that beat us.
    std::this_thread::sleep_for(store::BackoffDelay(options_.backoff, attempt));
    ASSIGN_OR_RETURN(int64_t newest, Latest());
    current = std::max(version, newest);
  }
  return Aborted("catalog commit lost too many races; try again");
}

}  // namespace dram::catalog
