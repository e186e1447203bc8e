// Envoy's listener.<address>.* stats, counted by the terminal filter that owns each connection.
#pragma once

#include <string>
#include <string_view>

#include "proxy/config/listener.h"
#include "proxy/stats/store.h"

namespace pilotfish::server {

struct ListenerStats {
  // `prefix` is "listener.<address>." (ListenerStatPrefix); `store` may be null.
  ListenerStats(stats::Store* store, std::string_view prefix)
      : scope(store == nullptr ? stats::Scope() : store->CreateScope(prefix)),
        downstream_cx_total(scope.CounterFor("downstream_cx_total")),
        downstream_cx_active(scope.GaugeFor("downstream_cx_active")) {}

  stats::Scope scope;
  stats::Counter downstream_cx_total;
  stats::Gauge downstream_cx_active;
};

// "listener.0.0.0.0_15001.": Envoy names a listener's stats by its address (ip_port, IPv6 in
// brackets), or by the listener's stat_prefix when one is configured.
inline std::string ListenerStatPrefix(const config::SocketAddress& address) {
  if (!address.pipe_path.empty())
    return stats::SanitizeStatName("listener." + address.pipe_path + ".");
  std::string ip = address.address;
  if (ip.find(':') != std::string::npos) ip = "[" + ip + "]";
  return stats::SanitizeStatName("listener." + ip + "_" + std::to_string(address.port) + ".");
}

}  // namespace pilotfish::server
