#pragma once

#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "database/dataset_manager.h"
#include "http/server.h"

namespace dram::api {

// The database-management half of the admin port (what `dram db`, `dram alias` and `dram query`
// call; the caller has passed the admin token check):
//   GET    /databases                      every database with its stats
//   POST   /databases                      {"name","uri","tables":[…],"refresh":"5m","resolver":…} add
//   GET    /databases/{name}               stats (with download progress while loading)
//   DELETE /databases/{name}[?force=true]  remove from disk
//   GET    /databases/{name}/versions      versions on disk and recent load attempts
//   POST   /databases/{name}/refresh[?force=true] | /rollback
//   GET    /aliases, GET|PUT|DELETE /aliases/{alias}   PUT body {"target":"db[@snapshot]"}
//   POST   /query                          {"database","sql","format":"json|csv"} read-only
// Slow operations run on their own threads, never on the IO thread. Thread-safe.
// The dataset manager serving now (a catalog reload replaces it), kept alive while in use.
using ManagerSource = std::function<std::shared_ptr<database::DatasetManager>()>;

class DatabaseAdmin {
 public:
  // `read_only`: a reader member, which never changes the catalog: only reads and /query.
  DatabaseAdmin(ManagerSource datasets, std::chrono::milliseconds query_timeout, bool read_only = false);
  ~DatabaseAdmin();
  // Waits for the jobs posted so far (none may be posted after).
  void Drain() { background_.join(); }
  // True when the request is one of the routes above (and has been answered).
  bool Handle(http::Request& request, http::Responder& responder);

 private:
  void Add(const http::Request& request, http::Responder responder);
  void Query(const http::Request& request, http::Responder responder);
  http::Response Aliases(const http::Request& request, const std::string& alias);

  ManagerSource datasets_;
  const std::chrono::milliseconds query_timeout_;
  const bool read_only_;
  boost::asio::thread_pool background_{2};
};

// A failed operation as the admin port reports it: unknown names and refused requests keep
// their own status; a load that failed is 502 load_failed with its whole (operator-facing) message.
http::Response OperationFailedResponse(const Status& status);
http::Response JsonBodyResponse(int status, const std::string& body);
// Runs one read-only statement an admin wrote on `snapshot`, on a connection of its own (every file
// of a lazy database fetched), and answers as POST /query does: JSON {"columns","data","rows"}
// with `extra_json` (members, without braces) appended, or CSV. Errors as AdminSqlFailure.
http::Response ReadOnlyQueryResponse(const database::Snapshot& snapshot, const std::string& sql, bool csv,
                                     std::chrono::milliseconds timeout, std::string_view extra_json = {});
// An admin's SQL failed: DuckDB's message is theirs (InvalidArgument), a statement that is not
// read-only stays PermissionDenied, an interrupted one is DeadlineExceeded.
Status AdminSqlFailure(const Status& failed);
// [{"name","type"},…]
std::string ColumnsJson(const std::vector<engine::ColumnInfo>& columns);
// The running (or last) download of a dataset: bytes, rate and ETA (for /status and stats).
boost::json::object DownloadJson(const database::DatasetStatus& status);

}  // namespace dram::api
