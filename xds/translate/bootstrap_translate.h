// Envoy v3 Bootstrap -> config::Bootstrap: node, admin, static listeners and clusters (with
// the cross-checks Envoy makes: unique names, referenced clusters exist) and dynamic_resources.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "proxy/config/bootstrap.h"
#include "xds/translate/listener_translate.h"

namespace pilotfish::xds {

// Errors start with the field path from the bootstrap root, e.g.
// "static_resources.listeners[0].filter_chains[0].filters[0]: ...". Accepted-but-ignored
// settings (stats_config, layered_runtime, overload_manager, ...) add named `warnings`.
absl::StatusOr<config::Bootstrap> TranslateBootstrap(
    const envoy::config::bootstrap::v3::Bootstrap& bootstrap, const NetworkFilterLookup& lookup,
    std::vector<std::string>* warnings);

}  // namespace pilotfish::xds
