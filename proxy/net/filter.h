// Network-level extension point: a listener's filter chain ends in a terminal factory (HCM,
// tcp_proxy) that takes over each accepted connection on a worker.
#pragma once

#include <memory>
#include <string>

#include "proxy/config/types.h"
#include "proxy/net/connection.h"

namespace pilotfish::server {
class Worker;
}
namespace pilotfish::stats {
class Store;
}

namespace pilotfish::net {

// What the listener knows about a connection when it hands it over.
struct ListenerInfo {
  std::string listener_name;
  std::string filter_chain_name;
  // The listener's stats scope, "listener.<address>." (server::ListenerStatPrefix), and the
  // process's stats store; null: no stats.
  std::string stat_prefix;
  stats::Store* stats = nullptr;
  uint32_t per_connection_buffer_limit_bytes = 1024 * 1024;
  config::TrafficDirection traffic_direction = config::TrafficDirection::kUnspecified;
  // DEFAULT: also drain (Connection: close) while the server fails health checks
  // (/healthcheck/fail); MODIFY_ONLY: only when the listener is changed or removed.
  config::DrainType drain_type = config::DrainType::kDefault;
};

class NetworkFilterFactory {
 public:
  virtual ~NetworkFilterFactory() = default;
  // Takes ownership of a freshly accepted downstream connection on `worker`'s thread.
  virtual void OnNewConnection(server::Worker& worker, ConnectionPtr connection,
                               const ListenerInfo& info) const = 0;
};
using NetworkFilterFactorySharedPtr = std::shared_ptr<const NetworkFilterFactory>;

}  // namespace pilotfish::net
