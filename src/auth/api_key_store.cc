#include "auth/api_key_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "auth/crypto.h"

namespace dram::auth {

namespace json = boost::json;

namespace {

constexpr std::string_view kTokenPrefix = "dram_";
constexpr size_t kIdHexDigits = 12;
constexpr size_t kSecretBytes = 32;

using common::HexOf;

json::object ToJson(const ApiKeyRecord& r) {
  json::array endpoints;
  for (const auto& e : r.endpoints) endpoints.emplace_back(e);
  return {{"id", r.id},
          {"hash", r.hash},
          {"name", r.name},
          {"tenant", r.tenant},
          {"endpoints", std::move(endpoints)},
          {"expires_at_ms", r.expires_at_ms},
          {"quota_per_minute", r.quota_per_minute},
          {"revoked", r.revoked},
          {"created_at_ms", r.created_at_ms}};
}

Result<ApiKeyRecord> FromJson(const json::value& value) {
  if (!value.is_object()) return InvalidArgument("key entry must be an object");
  const json::object& o = value.as_object();
  ApiKeyRecord r;
  auto text = [&](const char* name) -> std::string {
    auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  auto number = [&](const char* name) -> int64_t {
    auto* v = o.if_contains(name);
    return v && v->is_int64() ? v->as_int64() : 0;
  };
  r.id = text("id");
  r.hash = text("hash");
  r.name = text("name");
  r.tenant = text("tenant");
  r.expires_at_ms = number("expires_at_ms");
  r.quota_per_minute = number("quota_per_minute");
  r.created_at_ms = number("created_at_ms");
  if (auto* revoked = o.if_contains("revoked"); revoked && revoked->is_bool()) r.revoked = revoked->as_bool();
  if (auto* endpoints = o.if_contains("endpoints"); endpoints && endpoints->is_array()) {
    for (const auto& e : endpoints->as_array()) {
      if (e.is_string()) r.endpoints.emplace_back(e.as_string());
    }
  }
  if (r.id.size() != kIdHexDigits || r.hash.size() != 64) return InvalidArgument("key entry needs a 12-digit id and a sha256 hash");
  return r;
}

// The whole file. NotFound only when it does not exist; any other failure (no file descriptor
// free, EACCES, EISDIR, a short read) is Unavailable, so it is never mistaken for "no keys".
Result<std::string> ReadKeysText(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no keys file", path);
    return Unavailable(std::string("cannot open keys file: ") + std::strerror(errno), path);
  }
  std::string text;
  char buffer[16 * 1024];
  ssize_t got = 0;
  while ((got = ::read(fd, buffer, sizeof(buffer))) > 0 || (got < 0 && errno == EINTR)) {
    if (got > 0) text.append(buffer, static_cast<size_t>(got));
  }
  const int read_errno = errno;
  ::close(fd);
  if (got < 0) return Unavailable(std::string("cannot read keys file: ") + std::strerror(read_errno), path);
  return text;
}

int64_t MtimeNs(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec;
}

}  // namespace

Result<std::vector<ApiKeyRecord>> ApiKeyStore::ReadFile(const std::string& path) {
  auto text = ReadKeysText(path);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) return std::vector<ApiKeyRecord>{};  // no file yet: no keys
  if (!text.ok()) return text.status();
  boost::system::error_code ec;
  json::value root = json::parse(*text, ec);
  if (ec || !root.is_object() || !root.as_object().contains("keys") || !root.at("keys").is_array()) {
    return InvalidArgument("keys file is not {\"keys\": [...]}", path);
  }
  std::vector<ApiKeyRecord> records;
  for (const auto& entry : root.at("keys").as_array()) {
    ASSIGN_OR_RETURN(ApiKeyRecord record, FromJson(entry));
    records.push_back(std::move(record));
  }
  return records;
}

Status ApiKeyStore::WriteFile(const std::string& path, const std::vector<ApiKeyRecord>& records) {
  json::array keys;
  for (const auto& r : records) keys.push_back(ToJson(r));
  std::string text = json::serialize(json::object{{"keys", std::move(keys)}}) + "\n";
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);  // hashes only, still private
  if (fd < 0) return Unavailable("cannot write keys file", path);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return Unavailable("cannot write keys file", path);
  }
  return Status::Ok();
}

NewApiKey ApiKeyStore::Generate(std::string name, std::string tenant, std::vector<std::string> endpoints,
                                int64_t expires_at_ms, int64_t quota_per_minute, int64_t now_ms) {
  ApiKeyRecord record;
  record.id = HexOf(RandomBytes(kIdHexDigits / 2));
  record.name = std::move(name);
  record.tenant = std::move(tenant);
  record.endpoints = std::move(endpoints);
  record.expires_at_ms = expires_at_ms;
  record.quota_per_minute = quota_per_minute;
  record.created_at_ms = now_ms;
  return Rotate(record);
}

NewApiKey ApiKeyStore::Rotate(const ApiKeyRecord& record) {
  NewApiKey key;
  key.record = record;
  key.token = std::string(kTokenPrefix) + record.id + "_" + Base64UrlEncode(RandomBytes(kSecretBytes));
  key.record.hash = Sha256Hex(key.token);
  return key;
}

Status ApiKeyStore::Reload() {
  int64_t mtime = MtimeNs(path_);
  if (mtime == loaded_mtime_ns_) return Status::Ok();
  ASSIGN_OR_RETURN(auto records, ReadFile(path_));
  auto index = std::make_shared<Index>();
  for (auto& record : records) index->emplace(record.id, std::move(record));
  index_.store(std::move(index));
  loaded_mtime_ns_ = mtime;
  return Status::Ok();
}

size_t ApiKeyStore::size() const { return index_.load()->size(); }

Result<Principal> ApiKeyStore::Authenticate(std::string_view token, int64_t now_ms) const {
  const Status invalid = Unauthenticated("invalid API key");
  // dram_<12 hex id>_<secret>
  if (token.size() < kTokenPrefix.size() + kIdHexDigits + 2 || token.substr(0, kTokenPrefix.size()) != kTokenPrefix ||
      token[kTokenPrefix.size() + kIdHexDigits] != '_') {
    return invalid;
  }
  std::string id(token.substr(kTokenPrefix.size(), kIdHexDigits));
  std::shared_ptr<const Index> index = index_.load();
  auto found = index->find(id);
  // Hash even when the id is unknown, so response time does not tell which ids exist.
  std::string digest = Sha256Hex(token);
  if (found == index->end()) return invalid;
  const ApiKeyRecord& record = found->second;
  if (!ConstantTimeEquals(digest, record.hash)) return invalid;
  if (record.revoked || (record.expires_at_ms > 0 && now_ms >= record.expires_at_ms)) return invalid;
  Principal principal;
  principal.kind = Principal::Kind::kApiKey;
  principal.id = record.id;
  principal.limiter_id = "key:" + record.id;
  principal.tenant = record.tenant;
  principal.grants = record.endpoints;
  principal.quota_per_minute = record.quota_per_minute;
  return principal;
}

}  // namespace dram::auth
