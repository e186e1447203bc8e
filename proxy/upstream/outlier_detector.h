// Outlier detection for one cluster (Envoy's consecutive 5xx / gateway failure / local-origin
// failure ejection). Shared by all workers: its state lives in atomics on each Host, so an
// ejection made on one worker is honoured by every worker's load balancer at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "proxy/config/types.h"
#include "proxy/upstream/host.h"

namespace pilotfish::upstream {

class OutlierDetector {
 public:
  // `stats` (optional) counts ejections (outlier_detection.*) of the owning cluster.
  explicit OutlierDetector(const config::OutlierDetection& config,
                           const ClusterStats* stats = nullptr)
      : config_(config), stats_(stats) {}

  // What one attempt on `host` came to: an upstream HTTP status, or a local-origin failure
  // (connect failure, timeout, reset before a response).
  enum class Result { kLocalOriginFailure };
  // `hosts` is the cluster's current host set (for max_ejection_percent); `now_ms` a monotonic
  // clock in ms; `random` decides enforcement percentages. Returns true if `host` was ejected.
  bool ReportStatus(Host& host, int status, const HostSet& hosts, int64_t now_ms, uint64_t random);
  bool ReportLocalFailure(Host& host, const HostSet& hosts, int64_t now_ms, uint64_t random);

  bool IsEjected(const Host& host, int64_t now_ms) const {
    return host.outlier.ejected_until_ms.load(std::memory_order_relaxed) > now_ms;
  }
  // False when no host can be ejected now: lets the load balancer skip all checks.
  bool AnyEjected(int64_t now_ms) const {
    return latest_ejection_end_ms_.load(std::memory_order_relaxed) > now_ms;
  }
  const config::OutlierDetection& config() const { return config_; }
  // Ejections still in force at `now_ms` (the ejections_active gauge; read off the hot path).
  uint64_t ActiveEjections(int64_t now_ms) const;

 private:
  // `counter` is the consecutive-failure count that reached its threshold: it starts again
  // whether or not the ejection is enforced (the other detectors' counts are untouched).
  bool MaybeEject(Host& host, std::atomic<uint32_t>& counter, const HostSet& hosts, int64_t now_ms,
                  uint32_t enforcing, uint64_t random);

  config::OutlierDetection config_;
  const ClusterStats* stats_;
  std::atomic<int64_t> latest_ejection_end_ms_{0};
  // End times of the enforced ejections not yet seen to expire (ejections are rare).
  mutable std::mutex ejections_mu_;
  mutable std::vector<int64_t> ejection_ends_ms_;
};

// The load balancer's view: skip ejected hosts unless fewer than healthy_panic_threshold
// percent of the hosts are available (then every host is used, as Envoy's panic mode does).
struct OutlierFilter {
  const OutlierDetector* detector = nullptr;
  int64_t now_ms = 0;
  uint32_t panic_threshold_percent = 50;
  bool Excludes(const Host& host) const {
    return detector != nullptr && detector->IsEjected(host, now_ms);
  }
};

}  // namespace pilotfish::upstream
