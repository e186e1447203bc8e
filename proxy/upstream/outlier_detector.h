// Outlier detection for one cluster, as Envoy does it: consecutive 5xx / gateway failure /
// local-origin failure ejection inline, on the worker that sees the result; and at every
// `interval` (RunInterval, driven by the main thread's OutlierSweeper) un-ejection, the decay of
// the ejection-time multiplier, and success-rate and failure-percentage ejection over the
// interval's request counts. State lives in atomics on each shared Host, so an ejection made on
// one worker is honoured by every worker's load balancer at once.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

#include "absl/functional/function_ref.h"
#include "proxy/config/types.h"
#include "proxy/stats/store.h"
#include "proxy/upstream/host.h"

namespace pilotfish::upstream {

// Envoy's OutlierEjectionType values that pilotfish detects.
enum class EjectionType : uint8_t {
  kConsecutive5xx,
  kConsecutiveGatewayFailure,
  kConsecutiveLocalOriginFailure,
  kSuccessRate,
  kSuccessRateLocalOrigin,
  kFailurePercentage,
  kFailurePercentageLocalOrigin,
};
inline constexpr size_t kEjectionTypeCount = 7;

// cluster.<name>.outlier_detection.*, with Envoy's names. Only clusters that configure outlier
// detection have them (a few dozen bytes of handles).
struct OutlierStats {
  explicit OutlierStats(const stats::Scope& cluster_scope);
  void Inc(stats::Counter c) const { scope.Inc(c); }

  stats::Scope scope;
  stats::Counter ejections_total;            // deprecated in Envoy: 5xx and success rate only
  stats::Counter ejections_consecutive_5xx;  // deprecated in Envoy
  stats::Counter ejections_success_rate;     // deprecated in Envoy
  stats::Counter ejections_enforced_total, ejections_overflow;
  std::array<stats::Counter, kEjectionTypeCount> detected, enforced;  // by EjectionType
  stats::Gauge ejections_active;
};

class OutlierDetector {
 public:
  // `cluster_scope` is the owning cluster's "cluster.<name>." scope (a default one: no stats).
  explicit OutlierDetector(const config::OutlierDetection& config,
                           const stats::Scope& cluster_scope = {});

  // --- any worker: what one attempt on `host` came to ---
  // An upstream HTTP status. `hosts` is the worker's host set (for max_ejection_percent);
  // `now_ms` a monotonic clock in ms; `random` decides enforcement. True if `host` was ejected.
  bool ReportStatus(Host& host, int status, const HostSet& hosts, int64_t now_ms, uint64_t random);
  // A local-origin failure: connect failure or timeout, reset before a response.
  bool ReportLocalFailure(Host& host, const HostSet& hosts, int64_t now_ms, uint64_t random);

  bool IsEjected(const Host& host) const {
    return host.outlier_state().ejected.load(std::memory_order_relaxed);
  }
  // False when no host is ejected: lets the load balancer skip every check.
  bool AnyEjected() const { return active_.load(std::memory_order_relaxed) > 0; }
  uint32_t ActiveEjections() const { return active_.load(std::memory_order_relaxed); }

  // --- main thread, every `interval` over the cluster's current membership ---
  // Un-ejects hosts whose ejection time (base_ejection_time x multiplier, capped at
  // max_ejection_time) has passed, runs success-rate and failure-percentage ejection over the
  // request counts since the last call (then starts new counts), and decrements the multiplier
  // of hosts healthy for at least an interval. `random` draws enforcement percentages.
  void RunInterval(const HostSet& hosts, int64_t now_ms, absl::FunctionRef<uint64_t()> random);
  // Counts the ejected hosts of `hosts` (a new detector for hosts that kept their state).
  void Adopt(const HostSet& hosts);

  // The last interval's success-rate mean and ejection threshold, -1 when not computed.
  struct SuccessRateNums {
    double average = -1;
    double ejection_threshold = -1;
  };
  SuccessRateNums success_rate_nums(bool local_origin) const;

  const config::OutlierDetection& config() const { return config_; }
  const OutlierStats& stats() const { return stats_; }

 private:
  // One host's counts for the interval that just ended.
  struct Bucket {
    uint32_t total = 0, success = 0, local_total = 0, local_success = 0;
  };
  // `counter` reached its threshold: ejects unless the host already is (the count starts again
  // either way).
  bool ConsecutiveFailure(Host& host, std::atomic<uint32_t>& counter, EjectionType type,
                          const HostSet& hosts, int64_t now_ms, uint64_t random);
  // Envoy's ejectHost: max_ejection_percent, then the enforcement draw. Requires mu_.
  bool Eject(Host& host, EjectionType type, size_t host_count, int64_t now_ms, uint64_t random);
  void Uneject(Host& host, int64_t now_ms);
  // Success-rate and failure-percentage ejection of one origin. Requires mu_.
  void ProcessSuccessRates(bool local_origin, const HostSet& hosts,
                           const std::vector<Bucket>& buckets, int64_t now_ms,
                           absl::FunctionRef<uint64_t()> random);
  uint32_t Enforcing(EjectionType type) const;

  const config::OutlierDetection config_;
  OutlierStats stats_;
  // Ejection decisions (rare) are serialized, so max_ejection_percent counts exactly.
  std::mutex mu_;
  std::atomic<uint32_t> active_{0};
  std::array<std::atomic<double>, 2> sr_average_{-1.0, -1.0};    // external, local origin
  std::array<std::atomic<double>, 2> sr_threshold_{-1.0, -1.0};  // external, local origin
};

// The load balancer's view: skip ejected hosts unless fewer than healthy_panic_threshold
// percent of the hosts are available (then every host is used, as Envoy's panic mode does).
struct OutlierFilter {
  const OutlierDetector* detector = nullptr;
  uint32_t panic_threshold_percent = 50;
  bool Excludes(const Host& host) const { return detector != nullptr && detector->IsEjected(host); }
};

}  // namespace pilotfish::upstream
