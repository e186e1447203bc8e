// tcp_proxy: relays a downstream connection's bytes to an upstream host of a cluster, both
// ways, with flow control and an idle timeout.
#pragma once

#include <memory>

#include "proxy/access_log/access_logger.h"
#include "proxy/access_log/stream_observer.h"
#include "proxy/config/hcm.h"
#include "proxy/server/listener_stats.h"
#include "proxy/server/worker.h"
#include "proxy/stats/store.h"

namespace pilotfish::filters::tcp_proxy {

class TcpProxySession;

// Envoy's tcp.<stat_prefix>.* stats.
struct TcpProxyStats {
  TcpProxyStats(stats::Store* store, std::string_view prefix)
      : scope(store == nullptr ? stats::Scope() : store->CreateScope(prefix)),
        downstream_cx_total(scope.CounterFor("downstream_cx_total")),
        downstream_cx_no_route(scope.CounterFor("downstream_cx_no_route")),
        downstream_cx_rx_bytes_total(scope.CounterFor("downstream_cx_rx_bytes_total")),
        downstream_cx_tx_bytes_total(scope.CounterFor("downstream_cx_tx_bytes_total")),
        upstream_flush_total(scope.CounterFor("upstream_flush_total")) {}

  stats::Scope scope;
  stats::Counter downstream_cx_total, downstream_cx_no_route, downstream_cx_rx_bytes_total,
      downstream_cx_tx_bytes_total, upstream_flush_total;
};

class TcpProxyFactory : public net::NetworkFilterFactory,
                        public std::enable_shared_from_this<TcpProxyFactory> {
 public:
  explicit TcpProxyFactory(config::TcpProxy config, access_log::AccessLoggerList access_logs = {},
                           access_log::StreamObserverList observers = {})
      : config_(std::move(config)),
        access_logs_(std::move(access_logs)),
        observers_(std::move(observers)),
        stat_prefix_("tcp." + stats::SanitizeStatName(config_.stat_prefix) + ".") {}
  void OnNewConnection(server::Worker& worker, net::ConnectionPtr connection,
                       const net::ListenerInfo& info) const override;
  const config::TcpProxy& config() const { return config_; }
  const access_log::AccessLoggerList& access_logs() const { return access_logs_; }
  // Istio's stats filter placed before tcp_proxy in the chain.
  const access_log::StreamObserverList& observers() const { return observers_; }

 private:
  config::TcpProxy config_;
  access_log::AccessLoggerList access_logs_;
  access_log::StreamObserverList observers_;
  std::string stat_prefix_;  // "tcp.<stat_prefix>."
  stats::LazyStats<TcpProxyStats> stats_;
  stats::LazyStats<server::ListenerStats> listener_stats_;
};

}  // namespace pilotfish::filters::tcp_proxy
