// Drives every cluster's outlier detection interval on the main thread: one timer per cluster
// that configures outlier_detection, re-armed after each sweep over the cluster's current
// membership.
#pragma once

#include <functional>
#include <memory>
#include <random>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "proxy/event/dispatcher.h"
#include "proxy/upstream/host.h"

namespace pilotfish::upstream {

class OutlierSweeper {
 public:
  // `hosts` returns a cluster's current membership (null when it has none yet).
  using HostsFn = std::function<HostSetSharedPtr(const std::string& cluster)>;
  OutlierSweeper(event::Dispatcher& main, HostsFn hosts);

  // Follows a new set of clusters: starts a timer for each new cluster with outlier detection,
  // restarts it for a replaced ClusterInfo (new config), stops it for removed clusters.
  void Sync(const absl::flat_hash_map<std::string, ClusterInfoSharedPtr>& clusters);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    ClusterInfoSharedPtr info;
    event::TimerPtr timer;
  };
  void Sweep(const std::string& name);
  int64_t NowMs() const;

  event::Dispatcher& main_;
  HostsFn hosts_;
  std::mt19937_64 rng_;  // enforcement draws
  absl::flat_hash_map<std::string, Entry> entries_;
};

}  // namespace pilotfish::upstream
