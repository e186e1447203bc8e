// WorkerClusterManager: cluster/host-set updates and pool lifetime on one worker.
#include "proxy/upstream/cluster_manager.h"

#include "absl/container/flat_hash_set.h"

namespace pilotfish::upstream {

WorkerClusterManager::~WorkerClusterManager() {
  pools_.clear();
  draining_.clear();
}

WorkerClusterManager::Cluster* WorkerClusterManager::Get(std::string_view name) {
  auto it = clusters_.find(absl::string_view(name.data(), name.size()));
  return it == clusters_.end() ? nullptr : &it->second;
}

void WorkerClusterManager::AddOrUpdateCluster(ClusterInfoSharedPtr info, HostSetSharedPtr hosts) {
  auto it = clusters_.find(info->name());
  if (it != clusters_.end()) {
    if (it->second.info == info) return;
    DrainPoolsOf(it->second.info.get(), nullptr);
  }
  Cluster c;
  info->SetMembership(*hosts);  // every worker sets the same value: no owner needed
  c.lb = CreateLoadBalancer(info->config(), hosts, seed_++);
  c.hosts = std::move(hosts);
  c.info = std::move(info);
  std::string name = c.info->name();
  const config::Cluster& cfg = c.info->config();
  if (cfg.type == config::ClusterType::kOriginalDst) ArmOriginalDstSweep(cfg.cleanup_interval);
  clusters_[name] = std::move(c);
}

void WorkerClusterManager::RemoveCluster(const std::string& name) {
  auto it = clusters_.find(name);
  if (it == clusters_.end()) return;
  DrainPoolsOf(it->second.info.get(), nullptr);
  clusters_.erase(it);
}

void WorkerClusterManager::UpdateHosts(const std::string& name, HostSetSharedPtr hosts) {
  Cluster* c = Get(name);
  if (c == nullptr) return;
  DrainPoolsOf(c->info.get(), hosts.get());
  c->info->SetMembership(*hosts);
  c->lb = CreateLoadBalancer(c->info->config(), hosts, seed_++);
  c->hosts = std::move(hosts);
}

Http1ConnPool& WorkerClusterManager::PoolFor(const Cluster& cluster, const HostSharedPtr& host) {
  PoolKey key{cluster.info.get(), host.get()};
  auto it = pools_.find(key);
  if (it != pools_.end()) return *it->second;
  auto pool = std::make_unique<Http1ConnPool>(dispatcher_, host, cluster.info);
  Http1ConnPool& ref = *pool;
  pools_.emplace(key, std::move(pool));
  return ref;
}

void WorkerClusterManager::DrainPoolsOf(const ClusterInfo* info, const HostSet* keep) {
  // A set of the hosts kept, so an EDS update of n hosts costs O(pools + n), not O(pools * n);
  // built only when this worker has a pool of the cluster at all.
  absl::flat_hash_set<const Host*> kept;
  bool indexed = false;
  for (auto it = pools_.begin(); it != pools_.end();) {
    if (it->first.cluster != info) {
      ++it;
      continue;
    }
    if (keep != nullptr && !indexed) {
      kept.reserve(keep->hosts.size());
      for (const auto& h : keep->hosts) kept.insert(h.get());
      indexed = true;
    }
    if (kept.contains(it->first.host)) {
      ++it;
    } else {
      RetirePool(it++);
    }
  }
  ReapDrainedPools();
}

void WorkerClusterManager::RetirePool(PoolMap::iterator it) {
  it->second->Drain();
  draining_.push_back(std::move(it->second));
  pools_.erase(it);
}

void WorkerClusterManager::ReapDrainedPools() {
  for (auto it = draining_.begin(); it != draining_.end();) {
    if ((*it)->Empty()) {
      it = draining_.erase(it);
    } else {
      ++it;
    }
  }
  // Busy connections finish on their own; look again later.
  if (!draining_.empty()) {
    if (!reap_timer_) {
      reap_timer_ = std::make_unique<event::Timer>(dispatcher_, [this] { ReapDrainedPools(); });
    }
    reap_timer_->Enable(std::chrono::milliseconds(1000));
  }
}

void WorkerClusterManager::ArmOriginalDstSweep(std::chrono::milliseconds interval) {
  if (original_dst_timer_ == nullptr) {
    original_dst_timer_ =
        std::make_unique<event::Timer>(dispatcher_, [this] { SweepOriginalDstHosts(); });
  } else if (original_dst_interval_.count() != 0 && original_dst_interval_ <= interval) {
    return;  // already sweeping at least this often
  }
  original_dst_interval_ = interval;
  original_dst_timer_->Enable(interval);
}

void WorkerClusterManager::SweepOriginalDstHosts() {
  std::chrono::milliseconds next{0};
  for (auto& [name, c] : clusters_) {
    const config::Cluster& cfg = c.info->config();
    if (cfg.type != config::ClusterType::kOriginalDst) continue;
    if (next.count() == 0 || cfg.cleanup_interval < next) next = cfg.cleanup_interval;
    for (const HostSharedPtr& host : c.lb->ForgetUnusedHosts()) {
      auto it = pools_.find(PoolKey{c.info.get(), host.get()});
      if (it != pools_.end()) RetirePool(it);
    }
  }
  ReapDrainedPools();
  original_dst_interval_ = next;
  if (next.count() != 0) original_dst_timer_->Enable(next);  // (re-armed in its own callback)
}

void WorkerClusterManager::DrainAll() {
  while (!pools_.empty()) RetirePool(pools_.begin());
  ReapDrainedPools();
}

}  // namespace pilotfish::upstream
