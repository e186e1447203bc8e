// The worker's view of the clusters: per-cluster host set, load balancer and connection pools.
// Touched only on its worker's thread; the main thread sends updates through Post().
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "proxy/event/dispatcher.h"
#include "proxy/upstream/http1_pool.h"
#include "proxy/upstream/load_balancer.h"

namespace pilotfish::upstream {

class WorkerClusterManager {
 public:
  struct Cluster {
    ClusterInfoSharedPtr info;
    HostSetSharedPtr hosts;
    LoadBalancerPtr lb;
  };

  WorkerClusterManager(event::Dispatcher& dispatcher, uint64_t seed)
      : dispatcher_(dispatcher), seed_(seed) {}
  ~WorkerClusterManager();

  // nullptr when the cluster does not exist (yet).
  Cluster* Get(std::string_view name);
  // Adds or replaces a cluster. A replaced cluster's pools drain; a cluster whose ClusterInfo
  // is the same object is left alone.
  void AddOrUpdateCluster(ClusterInfoSharedPtr info, HostSetSharedPtr hosts);
  void RemoveCluster(const std::string& name);
  // New membership for an existing cluster; pools of hosts that left are drained.
  void UpdateHosts(const std::string& name, HostSetSharedPtr hosts);
  // The pool for (cluster, host), created on first use.
  Http1ConnPool& PoolFor(const Cluster& cluster, const HostSharedPtr& host);
  // Drains every pool (shutdown).
  void DrainAll();

 private:
  void DrainPoolsOf(const ClusterInfo* info, const HostSet* keep);
  void ReapDrainedPools();
  // ORIGINAL_DST clusters: every cleanup_interval, hosts not picked since the last sweep are
  // forgotten and their pools drained (Envoy's cleanup of original destination hosts).
  void ArmOriginalDstSweep(std::chrono::milliseconds interval);
  void SweepOriginalDstHosts();

  event::Dispatcher& dispatcher_;
  uint64_t seed_;
  // Nodes: a flat map's 72-byte slots, about twice as many as clusters, cost more per worker in
  // a mesh of thousands of clusters; and a Cluster* from Get() stays valid across inserts.
  absl::node_hash_map<std::string, Cluster> clusters_;
  struct PoolKey {
    const ClusterInfo* cluster;
    const Host* host;
    bool operator==(const PoolKey& o) const { return cluster == o.cluster && host == o.host; }
    template <typename H>
    friend H AbslHashValue(H h, const PoolKey& k) {
      return H::combine(std::move(h), k.cluster, k.host);
    }
  };
  using PoolMap = absl::flat_hash_map<PoolKey, std::unique_ptr<Http1ConnPool>>;
  // Drains the pool and keeps it in draining_ until its last connection is gone.
  void RetirePool(PoolMap::iterator it);
  PoolMap pools_;
  std::vector<std::unique_ptr<Http1ConnPool>> draining_;
  event::TimerPtr reap_timer_;
  event::TimerPtr original_dst_timer_;
  std::chrono::milliseconds original_dst_interval_{0};
};

}  // namespace pilotfish::upstream
