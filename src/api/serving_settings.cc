#include "api/serving_settings.h"

#include <cstdlib>
#include <filesystem>

namespace dram::api {

// "host:port" → host and port; port 0 picks a free one.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("expected HOST:PORT", text);
  std::string host = text.substr(0, colon);
  int port = std::atoi(text.c_str() + colon + 1);
  if (port < 0 || port > 65535 || (port == 0 && text.substr(colon + 1) != "0")) return InvalidArgument("bad port", text);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::make_pair(host, static_cast<uint16_t>(port));
}

void ApplyServingOverrides(ServerSettings& settings, const ServerOverrides& overrides) {
  if (!overrides.listen.empty()) settings.listen = overrides.listen;
  if (!overrides.admin_listen.empty()) settings.admin_listen = overrides.admin_listen;
  if (!overrides.cache_dir.empty()) {
    // Also runs on the catalog follower at every reload: without a working directory (removed
    // under us) a relative path stays relative rather than throwing.
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(overrides.cache_dir, ec);
    settings.cache_dir = ec ? overrides.cache_dir : absolute.string();
  }
  if (overrides.poll_interval_ms > 0) settings.catalog_poll_ms = overrides.poll_interval_ms;
}

std::string StartBoundSettingsChanged(const ServerSettings& running, const ServerSettings& next) {
  std::string changed;
  auto check = [&](bool differs, const char* name) {
    if (differs) changed += (changed.empty() ? "" : ", ") + std::string(name);
  };
  check(running.listen != next.listen, "listen");
  check(running.admin_listen != next.admin_listen, "admin_listen");
  check(running.io_threads != next.io_threads, "io_threads");
  check(running.max_header_bytes != next.max_header_bytes || running.max_body_bytes != next.max_body_bytes,
        "max_header_bytes/max_body_bytes");
  check(running.read_timeout_ms != next.read_timeout_ms || running.idle_timeout_ms != next.idle_timeout_ms, "timeouts");
  check(running.gzip_min_bytes != next.gzip_min_bytes, "gzip_min_bytes");
  check(running.max_connections != next.max_connections, "max_connections");
  check(running.cors_origins != next.cors_origins, "cors_origins");
  check(running.public_docs != next.public_docs, "public_docs");
  check(running.tls_cert_file != next.tls_cert_file || running.tls_key_file != next.tls_key_file, "tls");
  check(running.cache_max_bytes != next.cache_max_bytes, "cache_max_bytes");
  check(running.admin_token_env != next.admin_token_env, "admin_token_env");
  check(running.rate_per_key != next.rate_per_key || running.rate_per_tenant != next.rate_per_tenant ||
            running.rate_burst != next.rate_burst || running.max_in_flight != next.max_in_flight ||
            running.max_in_flight_per_tenant != next.max_in_flight_per_tenant ||
            running.tenant_pool_share != next.tenant_pool_share ||
            running.queue_timeout_ms != next.queue_timeout_ms || running.query_timeout_ms != next.query_timeout_ms,
        "limits");
  check(running.catalog_poll_ms != next.catalog_poll_ms, "catalog.poll_interval");
  return changed;
}

}  // namespace dram::api
