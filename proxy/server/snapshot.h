// The immutable, versioned configuration every worker serves: listeners, clusters, RDS routes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "proxy/config/listener.h"
#include "proxy/router/route_table.h"
#include "proxy/upstream/host.h"

namespace pilotfish::server {

struct Snapshot {
  uint64_t version = 0;
  std::vector<std::shared_ptr<const config::Listener>> listeners;
  absl::flat_hash_map<std::string, upstream::ClusterInfoSharedPtr> clusters;
  // RDS route tables by route_config_name; an HCM with `rds` looks its table up here for each
  // request, so a route update never touches listeners or their connections.
  absl::flat_hash_map<std::string, router::RouteTableSharedPtr> routes;
};
using SnapshotSharedPtr = std::shared_ptr<const Snapshot>;

}  // namespace pilotfish::server
