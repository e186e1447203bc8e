// Consistent-hashing load balancers: RING_HASH (a ketama-style ring, minimum_ring_size entries
// spread by host weight) and MAGLEV (a lookup table of maglev_table_size, a prime). A request's
// hash (from the route's hash_policy) picks the host; without one the pick is random.
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/upstream/load_balancer.h"

namespace pilotfish::upstream {

// A stable 64-bit hash (FNV-1a, then a splitmix64 finalizer for spread). Stable across workers
// and restarts, so a key maps to the same host everywhere.
uint64_t StableHash(std::string_view data);

LoadBalancerPtr CreateRingHashLoadBalancer(const config::Cluster& cluster, HostSetSharedPtr hosts,
                                           uint64_t seed);
LoadBalancerPtr CreateMaglevLoadBalancer(const config::Cluster& cluster, HostSetSharedPtr hosts,
                                         uint64_t seed);

}  // namespace pilotfish::upstream
