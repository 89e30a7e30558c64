#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/shared_slot.h"
#include "auth/principal.h"
#include "dram/status.h"

namespace dram::auth {

// One API key as stored: the secret itself is never stored, only the SHA-256 of the whole token.
struct ApiKeyRecord {
  std::string id;                       // 12 hex digits; the token's lookup prefix
  std::string hash;                     // hex SHA-256 of the whole token
  std::string name;
  std::string tenant;
  std::vector<std::string> endpoints;   // names or globs
  int64_t expires_at_ms = 0;            // 0: never
  int64_t quota_per_minute = 0;         // 0: the server default
  bool revoked = false;
  int64_t created_at_ms = 0;
};

// A new key: the token to hand out once, and the record to store.
struct NewApiKey {
  std::string token;  // "dram_<id>_<secret>"
  ApiKeyRecord record;
};

// The API keys of a deployment, read from a JSON file (keys.json) and re-read when it changes.
// Authenticate() reads a snapshot of an id → record map (a pointer copy under a short lock) and
// is constant-time in the secret. Thread-safe.
class ApiKeyStore {
 public:
  explicit ApiKeyStore(std::string path) : path_(std::move(path)) {}

  // Reads the file when its modification time changed (or on the first call). A missing file
  // means no keys. On a malformed or unreadable file (e.g. no file descriptor free) the previous
  // keys stay, the error is returned, and the next call reads the file again.
  Status Reload();
  // Unauthenticated (one message for every case: unknown, malformed, revoked, expired).
  Result<Principal> Authenticate(std::string_view token, int64_t now_ms) const;
  size_t size() const;

  // File helpers for `dram keys …` (atomic write: temp file, fsync, rename).
  static Result<std::vector<ApiKeyRecord>> ReadFile(const std::string& path);
  static Status WriteFile(const std::string& path, const std::vector<ApiKeyRecord>& records);
  static NewApiKey Generate(std::string name, std::string tenant, std::vector<std::string> endpoints,
                            int64_t expires_at_ms, int64_t quota_per_minute, int64_t now_ms);
  // A new secret for an existing key id (rotation): the old token stops working.
  static NewApiKey Rotate(const ApiKeyRecord& record);

 private:
  using Index = std::unordered_map<std::string, ApiKeyRecord>;
  std::string path_;
  common::SharedSlot<const Index> index_{std::make_shared<const Index>()};
  int64_t loaded_mtime_ns_ = -1;  // only touched by Reload (one caller thread)
};

}  // namespace dram::auth
