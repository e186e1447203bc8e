// ClusterInfo construction (it owns the cluster's outlier detector and stats).
#include "proxy/upstream/host.h"

#include <algorithm>

#include "proxy/upstream/outlier_detector.h"

namespace pilotfish::upstream {

uint64_t MaxConcurrentRetries(const config::CircuitBreakerThresholds& cb,
                              uint64_t outstanding_requests) {
  if (!cb.retry_budget_percent) return cb.max_retries;
  // Envoy's RetryBudgetImpl::max(): the product is truncated, then raised to the minimum.
  const auto budget = static_cast<uint64_t>(*cb.retry_budget_percent / 100.0 *
                                            static_cast<double>(outstanding_requests));
  return std::max<uint64_t>(budget, cb.retry_budget_min_concurrency);
}

const std::string Host::kNoHostname;
const HostOutlierState Host::kNoOutlierState;
static_assert(sizeof(Host) <= 56, "a Host is per endpoint: keep it small");

HostOutlierState& Host::outlier() const {
  HostOutlierState* s = outlier_.load(std::memory_order_acquire);
  if (s != nullptr) [[likely]]
    return *s;
  auto fresh = std::make_unique<HostOutlierState>();
  if (outlier_.compare_exchange_strong(s, fresh.get(), std::memory_order_acq_rel)) {
    return *fresh.release();
  }
  return *s;  // another thread created it first
}

ClusterInfo::ClusterInfo(config::Cluster config, stats::Store* store)
    : config_(std::move(config)),
      stats_(store, config_.alt_stat_name->empty() ? config_.name : *config_.alt_stat_name,
             config_.circuit_breakers.track_remaining) {
  if (config_.upstream_bind_address) {
    if (auto a = net::Address::FromIpPort(config_.upstream_bind_address->address,
                                          config_.upstream_bind_address->port)) {
      bind_ = std::make_unique<const net::Address>(*a);
    }
  }
  if (config_.outlier_detection) {
    // outlier_detection.* stats exist only for clusters that configure it, as in Envoy.
    outlier_ = std::make_unique<OutlierDetector>(*config_.outlier_detection, stats_.scope);
  }
  if (store != nullptr) refresher_ = store->AddRefresher([this] { RefreshGauges(); });
}

ClusterInfo::~ClusterInfo() {
  // Waits for a read in progress on the main thread: the refresher reads this object.
  if (refresher_ != 0) stats_.scope.store()->RemoveRefresher(refresher_);
}

void ClusterInfo::SetMembership(const HostSet& hosts) const {
  stats_.membership_total.Set(hosts.hosts.size());
  stats_.membership_healthy.Set(hosts.hosts.size());  // no health checking: all are healthy
}

void ClusterInfo::RefreshGauges() const {
  const config::CircuitBreakerThresholds& cb = config_.circuit_breakers;
  const uint64_t cx = resources_.connections.load(std::memory_order_relaxed);
  const uint64_t pending = resources_.pending_requests.load(std::memory_order_relaxed);
  const uint64_t rq = resources_.requests.load(std::memory_order_relaxed);
  const uint64_t retries = resources_.retries.load(std::memory_order_relaxed);
  stats_.upstream_rq_active.Set(rq);
  stats_.upstream_rq_pending_active.Set(pending);
  stats_.cx_open.Set(cx >= cb.max_connections ? 1 : 0);
  stats_.rq_pending_open.Set(pending >= cb.max_pending_requests ? 1 : 0);
  stats_.rq_open.Set(rq >= cb.max_requests ? 1 : 0);
  stats_.rq_retry_open.Set(retries >= MaxConcurrentRetries(cb, rq) ? 1 : 0);
  if (cb.track_remaining) {
    auto remaining = [](uint64_t max, uint64_t used) { return used >= max ? 0 : max - used; };
    stats_.remaining_cx.Set(remaining(cb.max_connections, cx));
    stats_.remaining_pending.Set(remaining(cb.max_pending_requests, pending));
    stats_.remaining_rq.Set(remaining(cb.max_requests, rq));
    // Under a retry budget the limit moves with the load, so Envoy keeps this gauge at 0.
    stats_.remaining_retries.Set(cb.retry_budget_percent ? 0 : remaining(cb.max_retries, retries));
  }
}

}  // namespace pilotfish::upstream
