// Stats of the HTTP layer that filters share through their callbacks: the router's
// http.<stat_prefix>.* counters (Envoy puts them under the connection manager's prefix).
#pragma once

#include "proxy/stats/store.h"

namespace pilotfish::http {

struct RouterStats {
  explicit RouterStats(const stats::Scope& scope)
      : scope(scope),
        rq_total(scope.CounterFor("rq_total")),
        no_route(scope.CounterFor("no_route")),
        no_cluster(scope.CounterFor("no_cluster")),
        rq_redirect(scope.CounterFor("rq_redirect")),
        rq_direct_response(scope.CounterFor("rq_direct_response")),
        rq_reset_after_downstream_response_started(
            scope.CounterFor("rq_reset_after_downstream_response_started")) {}
  void Inc(stats::Counter c) const { scope.Inc(c); }

  stats::Scope scope;
  stats::Counter rq_total, no_route, no_cluster, rq_redirect, rq_direct_response,
      rq_reset_after_downstream_response_started;
};

}  // namespace pilotfish::http
