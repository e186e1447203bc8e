// OutlierSweeper: per-cluster interval timers on the main loop.
#include "proxy/upstream/outlier_sweeper.h"

#include <vector>

#include "proxy/upstream/outlier_detector.h"

namespace pilotfish::upstream {

OutlierSweeper::OutlierSweeper(event::Dispatcher& main, HostsFn hosts)
    : main_(main), hosts_(std::move(hosts)), rng_(std::random_device{}()) {}

int64_t OutlierSweeper::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             main_.time().Now().time_since_epoch())
      .count();
}

void OutlierSweeper::Sync(const absl::flat_hash_map<std::string, ClusterInfoSharedPtr>& clusters) {
  std::vector<std::string> gone;
  for (const auto& [name, entry] : entries_) {
    auto it = clusters.find(name);
    if (it == clusters.end() || it->second->outlier_detector() == nullptr) gone.push_back(name);
  }
  for (const auto& name : gone) entries_.erase(name);
  for (const auto& [name, info] : clusters) {
    OutlierDetector* detector = info->outlier_detector();
    if (detector == nullptr) continue;
    Entry& entry = entries_[name];
    if (entry.info == info) continue;
    // Hosts keep their outlier state across a cluster update: the new detector counts them.
    if (HostSetSharedPtr hosts = hosts_(name)) detector->Adopt(*hosts);
    entry.info = info;
    entry.timer = std::make_unique<event::Timer>(main_, [this, name = name] { Sweep(name); });
    entry.timer->Enable(detector->config().interval);
  }
}

void OutlierSweeper::Sweep(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return;
  OutlierDetector& detector = *it->second.info->outlier_detector();
  if (HostSetSharedPtr hosts = hosts_(name)) {
    detector.RunInterval(*hosts, NowMs(), [this] { return rng_(); });
  }
  it->second.timer->Enable(detector.config().interval);
}

}  // namespace pilotfish::upstream
