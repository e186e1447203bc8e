// Envoy's per-cluster stats (cluster.<name>.*): handles created once per ClusterInfo on the
// thread that builds it; values live in each worker's shard (counters) or in shared atomics
// (gauges). A cluster's memory here is its handles (a few hundred bytes) plus 8 bytes per
// counter per worker that touches it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/stats/store.h"

namespace pilotfish::upstream {

struct ClusterStats {
  // `store` may be null (no stats); the name is alt_stat_name when set, as in Envoy.
  ClusterStats(stats::Store* store, const std::string& stat_name, bool track_remaining);
  ~ClusterStats();

  void Inc(stats::Counter c, uint64_t n = 1) const { scope.Inc(c, n); }
  // upstream_rq_<code> and upstream_rq_<N>xx for one upstream response (or local abort).
  void ChargeResponseCode(int code) const;

  stats::Scope scope;  // "cluster.<name>."
  stats::Counter upstream_rq_total, upstream_rq_pending_total, upstream_rq_pending_overflow,
      upstream_rq_retry, upstream_rq_retry_overflow, upstream_rq_timeout,
      upstream_rq_per_try_timeout, upstream_rq_per_try_idle_timeout, upstream_cx_total,
      upstream_cx_connect_fail, upstream_cx_connect_timeout, upstream_cx_overflow;
  std::array<stats::Counter, 5> upstream_rq_class;  // upstream_rq_1xx .. upstream_rq_5xx
  // Maintained on the data path.
  stats::Gauge upstream_cx_active;
  // Set by the main thread when membership changes.
  stats::Gauge membership_total, membership_healthy;
  // Derived when stats are read (see ClusterInfo): cheaper than keeping them current.
  stats::Gauge upstream_rq_active, upstream_rq_pending_active;
  stats::Gauge cx_open, rq_pending_open, rq_open, rq_retry_open;  // circuit_breakers.default.*
  stats::Gauge remaining_cx, remaining_pending, remaining_rq, remaining_retries;  // if tracked

 private:
  stats::Counter CodeCounter(int code) const;
  stats::Counter CodeCounterSlow(int code) const;
  // upstream_rq_<code> counters created on first use: (code << 22 | index), 0 = free slot.
  static constexpr uint32_t kIndexBits = 22;
  mutable std::array<std::atomic<uint32_t>, 8> codes_{};
  struct Overflow;
  mutable std::unique_ptr<Overflow> overflow_;  // more than 8 distinct codes
};

}  // namespace pilotfish::upstream
