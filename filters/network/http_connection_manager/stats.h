// Envoy's http.<stat_prefix>.* stats of one connection manager (its ConnectionManagerStats),
// the router's included, created on the first connection and shared by every worker.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "proxy/http/http_stats.h"
#include "proxy/stats/store.h"

namespace pilotfish::filters::hcm {

struct HcmStats {
  // Stats under "http.<stat_prefix>."; `store` may be null (every stat a sink).
  HcmStats(stats::Store* store, std::string_view stat_prefix);
  // The stats of a connection manager that has no store.
  static const HcmStats& None();

  void Inc(stats::Counter c) const { scope.Inc(c); }

  stats::Scope scope;
  stats::Counter downstream_cx_total, downstream_cx_http1_total, downstream_cx_destroy,
      downstream_rq_total, downstream_rq_http1_total, downstream_rq_completed,
      downstream_rq_idle_timeout;
  std::array<stats::Counter, 5> downstream_rq_class;  // downstream_rq_1xx .. _5xx
  stats::Gauge downstream_cx_active, downstream_cx_http1_active, downstream_rq_active;
  stats::Histogram downstream_rq_time;  // ms, request start to response end
  http::RouterStats router;
};

inline HcmStats::HcmStats(stats::Store* store, std::string_view stat_prefix)
    : scope(store == nullptr
                ? stats::Scope()
                : store->CreateScope("http." + stats::SanitizeStatName(stat_prefix) + ".")),
      downstream_cx_total(scope.CounterFor("downstream_cx_total")),
      downstream_cx_http1_total(scope.CounterFor("downstream_cx_http1_total")),
      downstream_cx_destroy(scope.CounterFor("downstream_cx_destroy")),
      downstream_rq_total(scope.CounterFor("downstream_rq_total")),
      downstream_rq_http1_total(scope.CounterFor("downstream_rq_http1_total")),
      downstream_rq_completed(scope.CounterFor("downstream_rq_completed")),
      downstream_rq_idle_timeout(scope.CounterFor("downstream_rq_idle_timeout")),
      downstream_rq_class{
          scope.CounterFor("downstream_rq_1xx"), scope.CounterFor("downstream_rq_2xx"),
          scope.CounterFor("downstream_rq_3xx"), scope.CounterFor("downstream_rq_4xx"),
          scope.CounterFor("downstream_rq_5xx")},
      downstream_cx_active(scope.GaugeFor("downstream_cx_active")),
      downstream_cx_http1_active(scope.GaugeFor("downstream_cx_http1_active")),
      downstream_rq_active(scope.GaugeFor("downstream_rq_active")),
      downstream_rq_time(scope.HistogramFor("downstream_rq_time")),
      router(scope) {}

inline const HcmStats& HcmStats::None() {
  static const HcmStats kNone(nullptr, "");
  return kNone;
}

}  // namespace pilotfish::filters::hcm
