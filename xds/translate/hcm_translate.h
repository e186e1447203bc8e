// http_connection_manager network filter -> config::HttpConnectionManager: codec and
// timeouts, HTTP filter chain (fault + router), access logs, upgrades, route config or RDS.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "proxy/config/hcm.h"

namespace pilotfish::xds {

// `path` is where the HttpConnectionManager message sits (a filter's "...typed_config").
absl::StatusOr<config::HttpConnectionManager> TranslateHcm(
    const envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager&
        hcm,
    const std::string& path, std::vector<std::string>* warnings);

}  // namespace pilotfish::xds
