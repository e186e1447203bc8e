// tcp_proxy: relays a downstream connection's bytes to an upstream host of a cluster, both
// ways, with flow control and an idle timeout.
#pragma once

#include <memory>

#include "proxy/config/hcm.h"
#include "proxy/server/worker.h"

namespace pilotfish::filters::tcp_proxy {

class TcpProxySession;

class TcpProxyFactory : public net::NetworkFilterFactory {
 public:
  explicit TcpProxyFactory(config::TcpProxy config) : config_(std::move(config)) {}
  void OnNewConnection(server::Worker& worker, net::ConnectionPtr connection,
                       const net::ListenerInfo& info) const override;
  const config::TcpProxy& config() const { return config_; }

 private:
  config::TcpProxy config_;
};

}  // namespace pilotfish::filters::tcp_proxy
