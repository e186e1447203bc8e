// The load-balancing and resilience parts of a Cluster: lb_policy and its configs,
// common_lb_config, circuit breakers and outlier detection (used by cluster_translate.cc).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "proxy/config/types.h"

namespace pilotfish::xds {

// lb_policy plus ring_hash / maglev / least_request / round_robin / original_dst lb configs
// and common_lb_config. `path` is the Cluster's path.
absl::Status TranslateLoadBalancing(const envoy::config::cluster::v3::Cluster& cluster,
                                    absl::string_view path, config::Cluster* out,
                                    std::vector<std::string>* warnings);

absl::Status TranslateCircuitBreakers(const envoy::config::cluster::v3::CircuitBreakers& breakers,
                                      absl::string_view path, config::Cluster* out,
                                      std::vector<std::string>* warnings);

absl::StatusOr<config::OutlierDetection> TranslateOutlierDetection(
    const envoy::config::cluster::v3::OutlierDetection& detection, absl::string_view path,
    std::vector<std::string>* warnings);

}  // namespace pilotfish::xds
