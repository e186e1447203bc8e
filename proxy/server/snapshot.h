// The immutable, versioned configuration every worker serves: listeners and clusters.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "proxy/config/listener.h"
#include "proxy/upstream/host.h"

namespace pilotfish::server {

struct Snapshot {
  uint64_t version = 0;
  std::vector<std::shared_ptr<const config::Listener>> listeners;
  absl::flat_hash_map<std::string, upstream::ClusterInfoSharedPtr> clusters;
};
using SnapshotSharedPtr = std::shared_ptr<const Snapshot>;

}  // namespace pilotfish::server
