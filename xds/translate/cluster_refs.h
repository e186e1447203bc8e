// Finds the cluster names a listener refers to (inline route tables, tcp_proxy), so that the
// bootstrap can check they exist, as Envoy does for static configuration.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"

namespace pilotfish::xds {

struct ClusterRef {
  std::string cluster;
  std::string path;  // the field naming it, e.g. "...routes[1].route.cluster"
};

// Every cluster named by `route_config` (route clusters, weighted clusters, mirror policies at
// any level), unless validate_clusters is explicitly false (Envoy then skips the check too).
void CollectRouteClusterRefs(const envoy::config::route::v3::RouteConfiguration& route_config,
                             absl::string_view path, std::vector<ClusterRef>* out);

// Every cluster named by the listener's HCM inline route configs and tcp_proxy filters.
absl::Status CollectListenerClusterRefs(const envoy::config::listener::v3::Listener& listener,
                                        absl::string_view path, std::vector<ClusterRef>* out);

}  // namespace pilotfish::xds
