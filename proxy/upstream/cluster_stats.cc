// ClusterStats: Envoy's cluster stat names, and the lazily created per-status-code counters.
#include "proxy/upstream/cluster_stats.h"

#include <mutex>

#include "absl/container/flat_hash_map.h"

namespace pilotfish::upstream {
namespace {

// Creating a status-code counter is rare (once per cluster and code): one lock for all.
std::mutex& CodeMutex() {
  static std::mutex mu;
  return mu;
}

}  // namespace

struct ClusterStats::Overflow {
  absl::flat_hash_map<int, stats::Counter> counters;
};

ClusterStats::ClusterStats(stats::Store* store, const std::string& stat_name,
                           bool track_remaining) {
  if (store == nullptr) return;
  scope = store->CreateScope("cluster." + stats::SanitizeStatName(stat_name) + ".");
  upstream_rq_total = scope.CounterFor("upstream_rq_total");
  upstream_rq_pending_total = scope.CounterFor("upstream_rq_pending_total");
  upstream_rq_pending_overflow = scope.CounterFor("upstream_rq_pending_overflow");
  upstream_rq_retry = scope.CounterFor("upstream_rq_retry");
  upstream_rq_retry_overflow = scope.CounterFor("upstream_rq_retry_overflow");
  upstream_rq_timeout = scope.CounterFor("upstream_rq_timeout");
  upstream_rq_per_try_timeout = scope.CounterFor("upstream_rq_per_try_timeout");
  upstream_rq_per_try_idle_timeout = scope.CounterFor("upstream_rq_per_try_idle_timeout");
  upstream_cx_total = scope.CounterFor("upstream_cx_total");
  upstream_cx_connect_fail = scope.CounterFor("upstream_cx_connect_fail");
  upstream_cx_connect_timeout = scope.CounterFor("upstream_cx_connect_timeout");
  upstream_cx_overflow = scope.CounterFor("upstream_cx_overflow");
  for (int i = 0; i < 5; ++i) {
    upstream_rq_class[i] = scope.CounterFor("upstream_rq_" + std::to_string(i + 1) + "xx");
  }
  upstream_cx_active = scope.GaugeFor("upstream_cx_active");
  membership_total = scope.GaugeFor("membership_total");
  membership_healthy = scope.GaugeFor("membership_healthy");
  upstream_rq_active = scope.GaugeFor("upstream_rq_active");
  upstream_rq_pending_active = scope.GaugeFor("upstream_rq_pending_active");
  cx_open = scope.GaugeFor("circuit_breakers.default.cx_open");
  rq_pending_open = scope.GaugeFor("circuit_breakers.default.rq_pending_open");
  rq_open = scope.GaugeFor("circuit_breakers.default.rq_open");
  rq_retry_open = scope.GaugeFor("circuit_breakers.default.rq_retry_open");
  if (track_remaining) {
    remaining_cx = scope.GaugeFor("circuit_breakers.default.remaining_cx");
    remaining_pending = scope.GaugeFor("circuit_breakers.default.remaining_pending");
    remaining_rq = scope.GaugeFor("circuit_breakers.default.remaining_rq");
    remaining_retries = scope.GaugeFor("circuit_breakers.default.remaining_retries");
  }
}

ClusterStats::~ClusterStats() = default;

void ClusterStats::ChargeResponseCode(int code) const {
  if (scope.store() == nullptr || code < 100 || code > 999) return;
  if (code < 600) Inc(upstream_rq_class[code / 100 - 1]);
  Inc(CodeCounter(code));
}

stats::Counter ClusterStats::CodeCounter(int code) const {
  for (const auto& slot : codes_) {
    const uint32_t v = slot.load(std::memory_order_acquire);
    if (v == 0) break;
    if (static_cast<int>(v >> kIndexBits) == code) {
      return stats::Counter{v & ((1u << kIndexBits) - 1)};
    }
  }
  return CodeCounterSlow(code);
}

stats::Counter ClusterStats::CodeCounterSlow(int code) const {
  std::lock_guard<std::mutex> lock(CodeMutex());
  for (auto& slot : codes_) {
    const uint32_t v = slot.load(std::memory_order_relaxed);
    if (v != 0 && static_cast<int>(v >> kIndexBits) == code) {
      return stats::Counter{v & ((1u << kIndexBits) - 1)};
    }
    if (v == 0) {
      const stats::Counter c = scope.CounterFor("upstream_rq_" + std::to_string(code));
      // Readers that see the slot see the counter's registration before it.
      slot.store(static_cast<uint32_t>(code) << kIndexBits | c.index, std::memory_order_release);
      return c;
    }
  }
  if (overflow_ == nullptr) overflow_ = std::make_unique<Overflow>();
  auto it = overflow_->counters.find(code);
  if (it != overflow_->counters.end()) return it->second;
  const stats::Counter c = scope.CounterFor("upstream_rq_" + std::to_string(code));
  overflow_->counters.emplace(code, c);
  return c;
}

}  // namespace pilotfish::upstream
