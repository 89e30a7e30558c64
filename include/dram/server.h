#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dram/endpoint.h"
#include "dram/status.h"

namespace dram {

// Command-line overrides of a project's dram.yml; empty fields keep the file's value.
struct ServerOverrides {
  std::string listen;        // HOST:PORT of the API port (port 0: any free port)
  std::string admin_listen;  // HOST:PORT of the admin port
  std::string cache_dir;     // where dataset snapshots are materialized
};

// A dram server for one project directory: datasets, endpoints, API and admin ports.
// Create() reads and checks the whole project; Start() materializes datasets, compiles
// endpoints and opens the ports. Thread-safe after Start().
class Server {
 public:
  virtual ~Server() = default;

  // Errors: InvalidArgument with every problem of the project, one per line as file:line:col.
  static Result<std::unique_ptr<Server>> Create(const std::string& project_dir, const ServerOverrides& overrides);

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
