// OutlierDetector: consecutive-failure counting and ejection arithmetic.
#include "proxy/upstream/outlier_detector.h"

#include <algorithm>

namespace pilotfish::upstream {

bool OutlierDetector::ReportStatus(Host& host, int status, const HostSet& hosts, int64_t now_ms,
                                   uint64_t random) {
  HostOutlierState& s = host.outlier;
  const bool is_5xx = status >= 500 && status < 600;
  const bool gateway = status == 502 || status == 503 || status == 504;
  if (!is_5xx) {
    s.consecutive_5xx.store(0, std::memory_order_relaxed);
    s.consecutive_gateway.store(0, std::memory_order_relaxed);
    // A response from the upstream is a local-origin success when errors are split.
    if (config_.split_external_local_origin_errors) {
      s.consecutive_local.store(0, std::memory_order_relaxed);
    }
    return false;
  }
  bool ejected = false;
  if (gateway && config_.consecutive_gateway_failure > 0 &&
      s.consecutive_gateway.fetch_add(1, std::memory_order_relaxed) + 1 ==
          config_.consecutive_gateway_failure) {
    ejected = MaybeEject(host, s.consecutive_gateway, hosts, now_ms,
                         config_.enforcing_consecutive_gateway_failure, random);
  } else if (!gateway) {
    s.consecutive_gateway.store(0, std::memory_order_relaxed);
  }
  if (!ejected && config_.consecutive_5xx > 0 &&
      s.consecutive_5xx.fetch_add(1, std::memory_order_relaxed) + 1 == config_.consecutive_5xx) {
    ejected = MaybeEject(host, s.consecutive_5xx, hosts, now_ms, config_.enforcing_consecutive_5xx,
                         random);
  }
  return ejected;
}

bool OutlierDetector::ReportLocalFailure(Host& host, const HostSet& hosts, int64_t now_ms,
                                         uint64_t random) {
  HostOutlierState& s = host.outlier;
  if (config_.split_external_local_origin_errors) {
    if (config_.consecutive_local_origin_failure > 0 &&
        s.consecutive_local.fetch_add(1, std::memory_order_relaxed) + 1 ==
            config_.consecutive_local_origin_failure) {
      return MaybeEject(host, s.consecutive_local, hosts, now_ms,
                        config_.enforcing_consecutive_local_origin_failure, random);
    }
    return false;
  }
  // Not split: a local-origin failure counts as a 503 from the upstream (Envoy's mapping).
  return ReportStatus(host, 503, hosts, now_ms, random);
}

bool OutlierDetector::MaybeEject(Host& host, std::atomic<uint32_t>& counter, const HostSet& hosts,
                                 int64_t now_ms, uint32_t enforcing, uint64_t random) {
  HostOutlierState& s = host.outlier;
  counter.store(0, std::memory_order_relaxed);
  if (enforcing == 0 || random % 100 >= enforcing) return false;
  if (IsEjected(host, now_ms)) return false;
  // max_ejection_percent, but at least one host may always be ejected.
  size_t ejected = 0;
  for (const auto& h : hosts.hosts) ejected += IsEjected(*h, now_ms) ? 1 : 0;
  if (ejected > 0 && !hosts.hosts.empty() &&
      (ejected + 1) * 100.0 / static_cast<double>(hosts.hosts.size()) >
          config_.max_ejection_percent) {
    if (stats_ != nullptr) stats_->Inc(stats_->ejections_overflow);
    return false;
  }
  // The ejection multiplier decays by one for every interval the host spent un-ejected.
  const int64_t interval = std::max<int64_t>(1, config_.interval.count());
  const int64_t healthy_since = s.ejected_until_ms.load(std::memory_order_relaxed);
  int64_t times = s.times_ejected.load(std::memory_order_relaxed);
  if (healthy_since > 0) times = std::max<int64_t>(0, times - (now_ms - healthy_since) / interval);
  ++times;
  s.times_ejected.store(times, std::memory_order_relaxed);
  const int64_t base = config_.base_ejection_time.count();
  const int64_t cap = std::max(base, static_cast<int64_t>(config_.max_ejection_time.count()));
  const int64_t until = now_ms + std::min(base * times, cap);
  s.ejected_until_ms.store(until, std::memory_order_relaxed);
  // An ejected host starts every count afresh when it comes back.
  s.consecutive_5xx.store(0, std::memory_order_relaxed);
  s.consecutive_gateway.store(0, std::memory_order_relaxed);
  s.consecutive_local.store(0, std::memory_order_relaxed);
  int64_t latest = latest_ejection_end_ms_.load(std::memory_order_relaxed);
  while (latest < until &&
         !latest_ejection_end_ms_.compare_exchange_weak(latest, until, std::memory_order_relaxed)) {
  }
  if (stats_ != nullptr) {
    stats_->Inc(stats_->ejections_enforced_total);
    std::lock_guard<std::mutex> lock(ejections_mu_);
    std::erase_if(ejection_ends_ms_, [now_ms](int64_t end) { return end <= now_ms; });
    ejection_ends_ms_.push_back(until);
  }
  return true;
}

uint64_t OutlierDetector::ActiveEjections(int64_t now_ms) const {
  std::lock_guard<std::mutex> lock(ejections_mu_);
  std::erase_if(ejection_ends_ms_, [now_ms](int64_t end) { return end <= now_ms; });
  return ejection_ends_ms_.size();
}

}  // namespace pilotfish::upstream
