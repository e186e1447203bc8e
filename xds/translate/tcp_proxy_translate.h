// tcp_proxy network filter -> config::TcpProxy.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "proxy/config/hcm.h"

namespace pilotfish::xds {

// `path` is where the TcpProxy message sits (a filter's "...typed_config").
absl::StatusOr<config::TcpProxy> TranslateTcpProxy(
    const envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& tcp_proxy,
    const std::string& path, std::vector<std::string>* warnings);

}  // namespace pilotfish::xds
