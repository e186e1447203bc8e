// Envoy's process-wide gauges (server.*, listener_manager.*, cluster_manager.*), set by the main
// thread. pilot-agent's readiness check reads server.state and listener_manager.workers_started.
#pragma once

#include <cstdint>

#include "proxy/stats/store.h"

namespace pilotfish::server {

struct ServerStats {
  // Envoy's server.state values.
  enum State : uint64_t { kLive = 0, kDraining = 1, kPreInitializing = 2, kInitializing = 3 };

  explicit ServerStats(stats::Store& store)
      : live(store.GaugeFor("server.live")),
        state(store.GaugeFor("server.state")),
        uptime(store.GaugeFor("server.uptime")),
        concurrency(store.GaugeFor("server.concurrency")),
        workers_started(store.GaugeFor("listener_manager.workers_started")),
        total_listeners_active(store.GaugeFor("listener_manager.total_listeners_active")),
        active_clusters(store.GaugeFor("cluster_manager.active_clusters")),
        cds_update_success(store.CounterFor("cluster_manager.cds.update_success")),
        cds_update_rejected(store.CounterFor("cluster_manager.cds.update_rejected")),
        lds_update_success(store.CounterFor("listener_manager.lds.update_success")),
        lds_update_rejected(store.CounterFor("listener_manager.lds.update_rejected")) {}

  stats::Gauge live, state, uptime, concurrency;
  stats::Gauge workers_started, total_listeners_active, active_clusters;
  // Counted by the xDS client on every accepted / rejected CDS and LDS update.
  stats::Counter cds_update_success, cds_update_rejected, lds_update_success, lds_update_rejected;
};

}  // namespace pilotfish::server
