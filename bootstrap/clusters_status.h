// Admin /clusters: Envoy's per-cluster and per-host status, as text lines
// (`cluster::host:port::stat::value`) or as envoy.admin.v3.Clusters JSON (?format=json).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/config/types.h"
#include "proxy/upstream/host.h"

namespace pilotfish::bootstrap {

// One cluster as the main thread sees it.
struct ClusterStatus {
  upstream::ClusterInfoSharedPtr info;
  upstream::HostSetSharedPtr hosts;  // current membership (null: none yet)
  bool added_via_api = false;
  // The configured endpoints (inline or EDS), for each host's locality, priority and EDS health.
  std::vector<config::Endpoint> endpoints;
};

std::string RenderClustersText(const std::vector<ClusterStatus>& clusters);
std::string RenderClustersJson(const std::vector<ClusterStatus>& clusters);

}  // namespace pilotfish::bootstrap
