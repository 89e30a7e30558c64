#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dram/endpoint.h"
#include "dram/status.h"

namespace dram {

// This member's part in a cluster (dram serve --catalog URI --cluster NAME ...). An empty name:
// no cluster, every database is loaded here.
struct ClusterFlags {
  std::string name;            // --cluster
  std::string etcd;            // --etcd URL[,URL...]
  std::string advertise;       // --advertise HOST:PORT: this member's API port as others reach it
  std::string member_id;       // --member-id (default: the advertise address)
  std::string zone;            // --zone: copies of a shard go to different zones first
  int64_t capacity_bytes = 0;  // --capacity: placement weight (0: 1)
  int64_t lease_ttl_s = 10;    // a member silent this long is gone
  int64_t rereplicate_after_ms = 45'000;  // a lost member's copies are re-made after this
};

// Command-line overrides of a project's dram.yml; empty fields keep the file's value.
struct ServerOverrides {
  std::string listen;        // HOST:PORT of the API port (port 0: any free port)
  std::string admin_listen;  // HOST:PORT of the admin port
  std::string cache_dir;     // where dataset snapshots are materialized
  int64_t poll_interval_ms = 0;  // following a catalog: how often to look for a newer version (0: dram.yml's)
  ClusterFlags cluster;          // following a catalog as a member of a cluster
};

// What a server following a catalog may do to it.
enum class CatalogRole {
  kReader,  // never writes to the store: runtime changes and catalog writes are refused
  kWriter,  // commits runtime changes (databases, aliases) and restores through the admin API
};

// A dram server for one project directory: datasets, endpoints, API and admin ports.
// Create() reads and checks the whole project; Start() materializes datasets, compiles
// endpoints and opens the ports. Thread-safe after Start().
class Server {
 public:
  virtual ~Server() = default;

  // Errors: InvalidArgument with every problem of the project, one per line as file:line:col.
  static Result<std::unique_ptr<Server>> Create(const std::string& project_dir, const ServerOverrides& overrides);
  // A server whose whole state comes from the catalog at `uri` (a directory, s3://bucket/prefix,
  // gs://bucket/prefix; credentials from the environment): it serves the newest version, polls for
  // newer ones and switches to each once it is loaded (blue-green), keeping the old on failure.
  // Errors: Unavailable when the catalog cannot be read, InvalidArgument when its newest version
  // has errors (every one listed).
  static Result<std::unique_ptr<Server>> CreateFromCatalog(const std::string& uri, const ServerOverrides& overrides,
                                                           CatalogRole role);

  // Adds an endpoint implemented in C++. Call before Start().
  // Errors: InvalidArgument for a bad declaration, AlreadyExists for a taken route.
  virtual Status AddEndpoint(CodeEndpoint endpoint) = 0;
  // Adds an endpoint written in the endpoint YAML format (e.g. a SQL template). Before Start().
  virtual Status AddEndpointYaml(const std::string& yaml) = 0;

  // Errors: the first dataset or endpoint that failed, or Unavailable if a port cannot be bound.
  virtual Status Start() = 0;
  // Closes the ports and waits for in-flight work.
  virtual void Stop() = 0;

  virtual uint16_t api_port() const = 0;
  virtual uint16_t admin_port() const = 0;
};

}  // namespace dram
