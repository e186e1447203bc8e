// OutlierDetector: consecutive-failure counting, the interval sweep (un-ejection, success rate,
// failure percentage, multiplier decay) and Envoy's ejection arithmetic.
#include "proxy/upstream/outlier_detector.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace pilotfish::upstream {
namespace {

// Envoy's stat suffix of each EjectionType (ejections_detected_<x>, ejections_enforced_<x>).
constexpr std::array<const char*, kEjectionTypeCount> kTypeNames = {
    "consecutive_5xx",
    "consecutive_gateway_failure",
    "consecutive_local_origin_failure",
    "success_rate",
    "local_origin_success_rate",
    "failure_percentage",
    "local_origin_failure_percentage",
};

size_t Index(EjectionType type) { return static_cast<size_t>(type); }

}  // namespace

OutlierStats::OutlierStats(const stats::Scope& cluster_scope) : scope(cluster_scope) {
  const std::string p = "outlier_detection.";
  ejections_total = scope.CounterFor(p + "ejections_total");
  ejections_consecutive_5xx = scope.CounterFor(p + "ejections_consecutive_5xx");
  ejections_success_rate = scope.CounterFor(p + "ejections_success_rate");
  ejections_enforced_total = scope.CounterFor(p + "ejections_enforced_total");
  ejections_overflow = scope.CounterFor(p + "ejections_overflow");
  for (size_t i = 0; i < kEjectionTypeCount; ++i) {
    detected[i] = scope.CounterFor(p + "ejections_detected_" + kTypeNames[i]);
    enforced[i] = scope.CounterFor(p + "ejections_enforced_" + kTypeNames[i]);
  }
  ejections_active = scope.GaugeFor(p + "ejections_active");
}

OutlierDetector::OutlierDetector(const config::OutlierDetection& config,
                                 const stats::Scope& cluster_scope)
    : config_(config), stats_(cluster_scope) {}

bool OutlierDetector::ReportStatus(Host& host, int status, const HostSet& hosts, int64_t now_ms,
                                   uint64_t random) {
  HostOutlierState& s = host.outlier();
  if (config_.split_external_local_origin_errors) {
    // A response means the connection worked: a local-origin success.
    s.local_success.fetch_add(1, std::memory_order_relaxed);
    s.local_total.fetch_add(1, std::memory_order_relaxed);
    s.consecutive_local.store(0, std::memory_order_relaxed);
  }
  const bool is_5xx = status >= 500 && status < 600;
  if (!is_5xx) {
    s.success.fetch_add(1, std::memory_order_relaxed);
    s.total.fetch_add(1, std::memory_order_relaxed);
    s.consecutive_5xx.store(0, std::memory_order_relaxed);
    s.consecutive_gateway.store(0, std::memory_order_relaxed);
    return false;
  }
  s.total.fetch_add(1, std::memory_order_relaxed);
  bool ejected = false;
  const bool gateway = status == 502 || status == 503 || status == 504;
  if (!gateway) {
    s.consecutive_gateway.store(0, std::memory_order_relaxed);
  } else if (config_.consecutive_gateway_failure > 0 &&
             s.consecutive_gateway.fetch_add(1, std::memory_order_relaxed) + 1 ==
                 config_.consecutive_gateway_failure) {
    ejected = ConsecutiveFailure(host, s.consecutive_gateway,
                                 EjectionType::kConsecutiveGatewayFailure, hosts, now_ms, random);
  }
  if (config_.consecutive_5xx > 0 &&
      s.consecutive_5xx.fetch_add(1, std::memory_order_relaxed) + 1 == config_.consecutive_5xx) {
    ejected = ConsecutiveFailure(host, s.consecutive_5xx, EjectionType::kConsecutive5xx, hosts,
                                 now_ms, random) ||
              ejected;
  }
  return ejected;
}

bool OutlierDetector::ReportLocalFailure(Host& host, const HostSet& hosts, int64_t now_ms,
                                         uint64_t random) {
  HostOutlierState& s = host.outlier();
  if (!config_.split_external_local_origin_errors) {
    // Not split: a local-origin failure counts as a 503 from the upstream (Envoy's mapping).
    return ReportStatus(host, 503, hosts, now_ms, random);
  }
  s.local_total.fetch_add(1, std::memory_order_relaxed);
  if (config_.consecutive_local_origin_failure > 0 &&
      s.consecutive_local.fetch_add(1, std::memory_order_relaxed) + 1 ==
          config_.consecutive_local_origin_failure) {
    return ConsecutiveFailure(host, s.consecutive_local,
                              EjectionType::kConsecutiveLocalOriginFailure, hosts, now_ms, random);
  }
  return false;
}

bool OutlierDetector::ConsecutiveFailure(Host& host, std::atomic<uint32_t>& counter,
                                         EjectionType type, const HostSet& hosts, int64_t now_ms,
                                         uint64_t random) {
  std::lock_guard<std::mutex> lock(mu_);
  counter.store(0, std::memory_order_relaxed);
  if (IsEjected(host)) return false;
  stats_.Inc(stats_.detected[Index(type)]);
  const bool ejected = Eject(host, type, hosts.hosts.size(), now_ms, random);
  if (type == EjectionType::kConsecutive5xx) stats_.Inc(stats_.ejections_consecutive_5xx);
  return ejected;
}

uint32_t OutlierDetector::Enforcing(EjectionType type) const {
  switch (type) {
    case EjectionType::kConsecutive5xx:
      return config_.enforcing_consecutive_5xx;
    case EjectionType::kConsecutiveGatewayFailure:
      return config_.enforcing_consecutive_gateway_failure;
    case EjectionType::kConsecutiveLocalOriginFailure:
      return config_.enforcing_consecutive_local_origin_failure;
    case EjectionType::kSuccessRate:
      return config_.enforcing_success_rate;
    case EjectionType::kSuccessRateLocalOrigin:
      return config_.enforcing_local_origin_success_rate;
    case EjectionType::kFailurePercentage:
      return config_.enforcing_failure_percentage;
    case EjectionType::kFailurePercentageLocalOrigin:
      return config_.enforcing_failure_percentage_local_origin;
  }
  return 0;
}

bool OutlierDetector::Eject(Host& host, EjectionType type, size_t host_count, int64_t now_ms,
                            uint64_t random) {
  // Current Envoy: the ejection may not take the ejected share past max_ejection_percent;
  // always_eject_one_host lets the first one through regardless.
  const uint32_t active = active_.load(std::memory_order_relaxed);
  bool allowed = host_count > 0 && 100.0 * (active + 1) / static_cast<double>(host_count) <=
                                       static_cast<double>(config_.max_ejection_percent);
  if (config_.always_eject_one_host && active == 0) allowed = true;
  if (!allowed) {
    stats_.Inc(stats_.ejections_overflow);
    return false;
  }
  if (type == EjectionType::kConsecutive5xx || type == EjectionType::kSuccessRate) {
    stats_.Inc(stats_.ejections_total);
  }
  const uint32_t enforcing = Enforcing(type);
  if (enforcing == 0 || random % 100 >= enforcing) return false;
  HostOutlierState& s = host.outlier();
  s.ejected.store(true, std::memory_order_relaxed);
  s.last_ejection_ms.store(now_ms, std::memory_order_relaxed);
  // The multiplier grows by one per ejection, until base x multiplier passes max_ejection_time.
  const int64_t base = config_.base_ejection_time.count();
  const uint32_t backoff = s.backoff.load(std::memory_order_relaxed);
  if (static_cast<int64_t>(backoff) * base < config_.max_ejection_time.count() + base) {
    s.backoff.store(backoff + 1, std::memory_order_relaxed);
  }
  active_.store(active + 1, std::memory_order_relaxed);
  stats_.ejections_active.Set(active + 1);
  stats_.Inc(stats_.ejections_enforced_total);
  stats_.Inc(stats_.enforced[Index(type)]);
  return true;
}

void OutlierDetector::Uneject(Host& host, int64_t now_ms) {
  HostOutlierState& s = host.outlier();
  s.ejected.store(false, std::memory_order_relaxed);
  // Counts start afresh, so a count left near its threshold does not re-eject at once.
  s.consecutive_5xx.store(0, std::memory_order_relaxed);
  s.consecutive_gateway.store(0, std::memory_order_relaxed);
  s.consecutive_local.store(0, std::memory_order_relaxed);
  s.last_unejection_ms.store(now_ms, std::memory_order_relaxed);
}

void OutlierDetector::Adopt(const HostSet& hosts) {
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t active = 0;
  for (const auto& h : hosts.hosts) active += IsEjected(*h) ? 1 : 0;
  active_.store(active, std::memory_order_relaxed);
  stats_.ejections_active.Set(active);
}

void OutlierDetector::RunInterval(const HostSet& hosts, int64_t now_ms,
                                  absl::FunctionRef<uint64_t()> random) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t base = config_.base_ejection_time.count();
  const int64_t max = config_.max_ejection_time.count();
  std::vector<Bucket> buckets(hosts.hosts.size());
  uint32_t active = 0;
  for (size_t i = 0; i < hosts.hosts.size(); ++i) {
    Host& host = *hosts.hosts[i];
    HostOutlierState& s = host.outlier();
    if (IsEjected(host)) {
      const int64_t backoff = s.backoff.load(std::memory_order_relaxed);
      if (now_ms - s.last_ejection_ms.load(std::memory_order_relaxed) >=
          std::min(base * backoff, max)) {
        Uneject(host, now_ms);
      }
    }
    active += IsEjected(host) ? 1 : 0;
    // Take this interval's counts; workers count into the next one from here.
    Bucket& b = buckets[i];
    b.total = s.total.exchange(0, std::memory_order_relaxed);
    b.success = std::min(b.total, s.success.exchange(0, std::memory_order_relaxed));
    b.local_total = s.local_total.exchange(0, std::memory_order_relaxed);
    b.local_success =
        std::min(b.local_total, s.local_success.exchange(0, std::memory_order_relaxed));
    s.success_rate.store(-1.0, std::memory_order_relaxed);
    s.local_success_rate.store(-1.0, std::memory_order_relaxed);
  }
  // Recounted over the current membership: a host that left while ejected no longer counts.
  active_.store(active, std::memory_order_relaxed);
  stats_.ejections_active.Set(active);

  ProcessSuccessRates(false, hosts, buckets, now_ms, random);
  if (config_.split_external_local_origin_errors) {
    ProcessSuccessRates(true, hosts, buckets, now_ms, random);
  }

  // A host healthy for at least an interval since its last un-ejection: the multiplier decays.
  const int64_t interval = config_.interval.count();
  for (const auto& h : hosts.hosts) {
    HostOutlierState& s = h->outlier();
    const int64_t unejected = s.last_unejection_ms.load(std::memory_order_relaxed);
    const uint32_t backoff = s.backoff.load(std::memory_order_relaxed);
    if (!IsEjected(*h) && unejected >= 0 && now_ms - unejected >= interval && backoff > 0) {
      s.backoff.store(backoff - 1, std::memory_order_relaxed);
    }
  }
}

void OutlierDetector::ProcessSuccessRates(bool local_origin, const HostSet& hosts,
                                          const std::vector<Bucket>& buckets, int64_t now_ms,
                                          absl::FunctionRef<uint64_t()> random) {
  const size_t origin = local_origin ? 1 : 0;
  sr_average_[origin].store(-1.0, std::memory_order_relaxed);
  sr_threshold_[origin].store(-1.0, std::memory_order_relaxed);
  const size_t n = hosts.hosts.size();
  const uint64_t sr_hosts = config_.success_rate_minimum_hosts;
  const uint64_t sr_volume = config_.success_rate_request_volume;
  const uint64_t fp_hosts = config_.failure_percentage_minimum_hosts;
  const uint64_t fp_volume = config_.failure_percentage_request_volume;
  if (n < sr_hosts && n < fp_hosts) return;

  struct Rate {
    size_t index;
    double rate;  // percent
  };
  std::vector<Rate> sr_valid, fp_valid;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    if (IsEjected(*hosts.hosts[i])) continue;
    const uint32_t total = local_origin ? buckets[i].local_total : buckets[i].total;
    const uint32_t success = local_origin ? buckets[i].local_success : buckets[i].success;
    if (total == 0) continue;
    const double rate = success * 100.0 / total;
    if (total >= std::min(sr_volume, fp_volume)) {
      HostOutlierState& s = hosts.hosts[i]->outlier();
      (local_origin ? s.local_success_rate : s.success_rate).store(rate, std::memory_order_relaxed);
    }
    if (total >= sr_volume) {
      sr_valid.push_back({i, rate});
      sum += rate;
    }
    if (total >= fp_volume) fp_valid.push_back({i, rate});
  }

  if (!sr_valid.empty() && sr_valid.size() >= sr_hosts) {
    // Hosts more than stdev_factor standard deviations (population) below the mean.
    const double mean = sum / static_cast<double>(sr_valid.size());
    double variance = 0;
    for (const Rate& r : sr_valid) variance += (r.rate - mean) * (r.rate - mean);
    variance /= static_cast<double>(sr_valid.size());
    const double threshold =
        mean - config_.success_rate_stdev_factor / 1000.0 * std::sqrt(variance);
    sr_average_[origin].store(mean, std::memory_order_relaxed);
    sr_threshold_[origin].store(threshold, std::memory_order_relaxed);
    const EjectionType type =
        local_origin ? EjectionType::kSuccessRateLocalOrigin : EjectionType::kSuccessRate;
    for (const Rate& r : sr_valid) {
      if (r.rate >= threshold) continue;
      stats_.Inc(stats_.ejections_success_rate);
      stats_.Inc(stats_.detected[Index(type)]);
      Eject(*hosts.hosts[r.index], type, n, now_ms, random());
    }
  }

  if (!fp_valid.empty() && fp_valid.size() >= fp_hosts) {
    const EjectionType type = local_origin ? EjectionType::kFailurePercentageLocalOrigin
                                           : EjectionType::kFailurePercentage;
    for (const Rate& r : fp_valid) {
      Host& host = *hosts.hosts[r.index];
      // Just ejected by success rate: once is enough.
      if (IsEjected(host) || 100.0 - r.rate < config_.failure_percentage_threshold) continue;
      stats_.Inc(stats_.detected[Index(type)]);
      Eject(host, type, n, now_ms, random());
    }
  }
}

OutlierDetector::SuccessRateNums OutlierDetector::success_rate_nums(bool local_origin) const {
  const size_t origin = local_origin ? 1 : 0;
  return {sr_average_[origin].load(std::memory_order_relaxed),
          sr_threshold_[origin].load(std::memory_order_relaxed)};
}

}  // namespace pilotfish::upstream
