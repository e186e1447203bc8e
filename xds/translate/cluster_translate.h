// Cluster (static or CDS) -> config::Cluster: discovery type, load balancing, endpoints,
// circuit breakers, outlier detection and upstream HTTP protocol options.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "proxy/config/types.h"
#include "xds/translate/endpoint_translate.h"  // ApplyClusterLoadAssignment (EDS)

namespace pilotfish::xds {

// `path` is where the Cluster sits, e.g. "static_resources.clusters[2]". Ignored-but-accepted
// fields (and "upstream HTTP/2 requested but HTTP/1.1 used") add to `warnings` (may be null).
absl::StatusOr<config::Cluster> TranslateCluster(const envoy::config::cluster::v3::Cluster& cluster,
                                                 const std::string& path,
                                                 std::vector<std::string>* warnings = nullptr);

}  // namespace pilotfish::xds
