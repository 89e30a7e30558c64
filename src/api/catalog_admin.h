#pragma once

#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

#include "catalog/catalog.h"
#include "http/server.h"

namespace dram::api {

// What a server following a catalog knows about it (for /status, /catalog and metrics).
struct CatalogFollowStatus {
  std::string root;              // the URI it follows
  bool writer = false;           // --role writer: may commit
  int64_t serving_version = 0;   // the version whose state is serving
  int64_t latest_seen = 0;       // the newest version the last poll found
  int64_t reloads_ok = 0;
  int64_t reloads_failed = 0;
  std::string last_error;        // of the last failed reload or poll; "" after a success
  std::string last_reload_at;    // ISO time of the last successful switch
  double last_reload_seconds = 0;  // commit seen → new state serving
};

// The catalog half of the admin port (what `dram catalog` does locally, over HTTP):
//   GET  /catalog                          follow status and the history of versions
//   GET  /catalog/versions/{v}             one version's document
//   GET  /catalog/diff?from=V1&to=V2       what changes from V1 to V2
//   POST /catalog/restore   {"version":V}  commit a new version equal to V     (writer + token)
//   POST /catalog/gc        {"keep":N}     retention                           (writer + token)
//   POST /catalog/export    {"destination":URI}  back up every version and object   (token)
//   POST /catalog/import    {"source":URI}  commit a backup's newest content        (writer + token)
//   POST /catalog/reload                   look for a newer version now
// Reads need the admin token when one is set; writes need a configured token (never open) and
// a writer member. Slow work runs on its own thread. Thread-safe.
class CatalogAdmin {
 public:
  CatalogAdmin(catalog::Catalog& catalog, bool writer, bool token_configured,
               std::function<CatalogFollowStatus()> status, std::function<void()> poll_now);
  ~CatalogAdmin();
  // Waits for the jobs posted so far (none may be posted after).
  void Drain() { background_.join(); }
  // True when the request is one of the routes above (and has been answered).
  bool Handle(const http::Request& request, http::Responder& responder);
  boost::json::object StatusJson() const;
  void AppendMetrics(std::string& out) const;

 private:
  catalog::Catalog& catalog_;
  const bool writer_;
  const bool token_configured_;
  std::function<CatalogFollowStatus()> status_;
  std::function<void()> poll_now_;
  boost::asio::thread_pool background_{1};
};

}  // namespace dram::api
