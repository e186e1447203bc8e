// RouteConfiguration (inline in an HCM or from RDS) -> config::RouteConfiguration: virtual
// hosts, route matches, actions and header mutations, validated field by field.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/route/v3/route.pb.h"
#include "proxy/config/types.h"

namespace pilotfish::xds {

// `path` is where the RouteConfiguration sits, e.g.
// "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config"; every
// error starts with a path below it. Ignored-but-accepted fields add to `warnings` (may be null).
absl::StatusOr<config::RouteConfiguration> TranslateRouteConfiguration(
    const envoy::config::route::v3::RouteConfiguration& route_config, const std::string& path,
    std::vector<std::string>* warnings = nullptr);

}  // namespace pilotfish::xds
