// Upstream hosts and clusters as the workers see them: immutable config plus shared counters.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/config/types.h"
#include "proxy/net/address.h"
#include "proxy/upstream/cluster_stats.h"

namespace pilotfish::upstream {

class OutlierDetector;

// A host's request and connection counters, as admin /clusters prints them (Envoy's per-host
// cx_total, cx_connect_fail, rq_total, rq_success, rq_error, rq_timeout).
struct HostCounters {
  std::atomic<uint64_t> cx_total{0}, cx_connect_fail{0};
  std::atomic<uint64_t> rq_total{0}, rq_success{0}, rq_error{0}, rq_timeout{0};
};

// The state of one host that is created on its first use (so an endpoint nobody dials costs
// nothing): outlier detection, updated by whichever worker saw the result (ejection state is
// written under the cluster detector's lock, see OutlierDetector), and the host's counters.
struct HostOutlierState {
  HostCounters counters;
  std::atomic<uint32_t> consecutive_5xx{0};
  std::atomic<uint32_t> consecutive_gateway{0};
  std::atomic<uint32_t> consecutive_local{0};
  // Requests of the current interval (external origin, and local origin when split).
  std::atomic<uint32_t> total{0}, success{0}, local_total{0}, local_success{0};
  std::atomic<uint32_t> backoff{0};  // the ejection-time multiplier
  std::atomic<bool> ejected{false};
  std::atomic<int64_t> last_ejection_ms{0};     // monotonic ms
  std::atomic<int64_t> last_unejection_ms{-1};  // -1: never un-ejected
  // The last interval's success rates in percent, -1 when not computed (admin /clusters).
  std::atomic<double> success_rate{-1.0}, local_success_rate{-1.0};
};

// One endpoint. Shared by every worker; counters are atomics (read off the hot path). A mesh
// holds tens of thousands, so it is kept small (56 bytes): the hostname, usually absent, and the
// outlier state, used only by clusters with outlier detection, are behind pointers, and the
// active counts are 32-bit.
class Host {
 public:
  Host(net::Address address, std::string hostname, uint32_t weight)
      : address_(address),
        weight_(weight == 0 ? 1 : weight),
        hostname_(hostname.empty() ? nullptr
                                   : std::make_unique<const std::string>(std::move(hostname))) {}
  ~Host() { delete outlier_.load(std::memory_order_relaxed); }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const net::Address& address() const { return address_; }
  const std::string& hostname() const { return hostname_ != nullptr ? *hostname_ : kNoHostname; }
  uint32_t weight() const { return weight_; }
  std::string ToString() const { return address_.ToString(); }

  // The outlier state, created on first use by any thread (an OutlierDetector's).
  HostOutlierState& outlier() const;
  // For readers: the state, or a never-ejected one when nothing created it yet.
  const HostOutlierState& outlier_state() const {
    const HostOutlierState* s = outlier_.load(std::memory_order_acquire);
    return s != nullptr ? *s : kNoOutlierState;
  }
  // Counting: creates the state on first use. `Inc(&HostCounters::rq_total)`.
  void Inc(std::atomic<uint64_t> HostCounters::*counter) const {
    (outlier().counters.*counter).fetch_add(1, std::memory_order_relaxed);
  }
  const HostCounters& counters() const { return outlier_state().counters; }

  std::atomic<uint32_t> rq_active{0};
  std::atomic<uint32_t> cx_active{0};

 private:
  static const std::string kNoHostname;
  static const HostOutlierState kNoOutlierState;
  net::Address address_;
  uint32_t weight_;
  std::unique_ptr<const std::string> hostname_;
  mutable std::atomic<HostOutlierState*> outlier_{nullptr};
};
using HostSharedPtr = std::shared_ptr<Host>;
using HostVector = std::vector<HostSharedPtr>;

// A cluster's current membership: replaced wholesale on DNS/EDS changes, never mutated.
struct HostSet {
  HostVector hosts;
};
using HostSetSharedPtr = std::shared_ptr<const HostSet>;

// Cluster-wide resource counters for circuit breaking, shared across workers.
struct ClusterResources {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> pending_requests{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> retries{0};
};

// How many retries may be in progress at once on a cluster: max_retries or, when a retry budget
// is configured (it replaces max_retries, as in Envoy), budget_percent of the cluster's
// outstanding requests (active and pending), but never fewer than min_retry_concurrency.
uint64_t MaxConcurrentRetries(const config::CircuitBreakerThresholds& cb,
                              uint64_t outstanding_requests);

// A cluster: immutable config plus counters shared across workers. Membership is not here:
// the main thread owns it and posts each new HostSet to every worker.
class ClusterInfo {
 public:
  // With a store, the cluster's stats (cluster.<alt_stat_name or name>.*) are created now (on
  // the calling thread, normally main); the store must outlive the ClusterInfo. A cluster
  // re-created under the same name (a CDS update) continues the same stats.
  explicit ClusterInfo(config::Cluster config, stats::Store* store = nullptr);
  ~ClusterInfo();
  const config::Cluster& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  ClusterResources& resources() const { return resources_; }
  // MaxConcurrentRetries with this cluster's current load. Its `requests` counter already holds
  // the requests still waiting in a pool, so it is the outstanding count on its own.
  uint64_t RetryLimit() const {
    return MaxConcurrentRetries(config_.circuit_breakers,
                                resources_.requests.load(std::memory_order_relaxed));
  }
  // nullptr unless the cluster configures outlier_detection.
  OutlierDetector* outlier_detector() const { return outlier_.get(); }
  // upstream_bind_config's source address for upstream connections (Istio's 127.0.0.6 for
  // inbound passthrough); nullptr when unset.
  const net::Address* bind_address() const { return bind_.get(); }
  const ClusterStats& stats() const { return stats_; }
  // membership_total / membership_healthy (main thread, when a new HostSet is published).
  void SetMembership(const HostSet& hosts) const;

 private:
  // Sets the gauges derived from shared state (circuit breakers, active requests).
  void RefreshGauges() const;

  config::Cluster config_;
  mutable ClusterResources resources_;
  ClusterStats stats_;
  std::unique_ptr<OutlierDetector> outlier_;
  std::unique_ptr<const net::Address> bind_;  // rarely set: a pointer, not 28 bytes inline
  uint64_t refresher_ = 0;
};
using ClusterInfoSharedPtr = std::shared_ptr<ClusterInfo>;

}  // namespace pilotfish::upstream
