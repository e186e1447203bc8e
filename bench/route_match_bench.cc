// Route matching cost with 10,000 routes: 1,000 virtual hosts x 10 routes with Istio-style
// domains (with and without port), where lookup cost should not grow with the number of vhosts,
// and one virtual host holding all 10,000 routes, where first-match-wins (as in Envoy) makes the
// cost grow with the position of the matching route.
#include <benchmark/benchmark.h>

#include <string>

#include "proxy/router/route_table.h"

namespace pilotfish::router {
namespace {

config::RouteConfiguration MakeConfig(int vhosts, int routes) {
  config::RouteConfiguration rc;
  rc.name = "bench";
  for (int v = 0; v < vhosts; ++v) {
    config::VirtualHost vh;
    vh.name = "svc" + std::to_string(v);
    const std::string host = "svc" + std::to_string(v) + ".ns.svc.cluster.local";
    vh.domains = {host, host + ":8080", "svc" + std::to_string(v)};
    for (int r = 0; r < routes; ++r) {
      config::Route route;
      route.match.kind = config::PathMatchKind::kPrefix;
      route.match.value = "/api/v" + std::to_string(r) + "/";
      config::HeaderMatcher h;
      h.name = "x-user";
      h.kind = config::HeaderMatcher::Kind::kString;
      h.string_match.value = "tester" + std::to_string(r);
      if (r % 2 == 0) route.match.headers.push_back(h);
      route.route.cluster = "outbound|8080||" + host;
      vh.routes.push_back(route);
    }
    rc.virtual_hosts.push_back(std::move(vh));
  }
  return rc;
}

void BM_RouteFind(benchmark::State& state) {
  const int vhosts = static_cast<int>(state.range(0));
  auto table = RouteTable::Create(MakeConfig(vhosts, 10));
  if (!table.ok()) {
    state.SkipWithError("route table did not compile");
    return;
  }
  // The worst case inside a vhost: the last route matches.
  http::RequestHeaders h;
  h.method = "GET";
  h.path = "/api/v9/items?id=7";
  h.authority = "svc" + std::to_string(vhosts / 2) + ".ns.svc.cluster.local:8080";
  h.headers.Add("x-user", "tester9");
  for (auto _ : state) {
    auto m = (*table)->Find(h, 0);
    benchmark::DoNotOptimize(m.route);
    if (m.route == nullptr) state.SkipWithError("no route matched");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteFind)->Arg(10)->Arg(100)->Arg(1000);

// One vhost of N routes; the request matches route `state.range(1)` (0 = the first route).
void BM_RouteFindOneVhost(benchmark::State& state) {
  const int routes = static_cast<int>(state.range(0));
  const int hit = static_cast<int>(state.range(1));
  auto table = RouteTable::Create(MakeConfig(1, routes));
  if (!table.ok()) {
    state.SkipWithError("route table did not compile");
    return;
  }
  http::RequestHeaders h;
  h.method = "GET";
  h.path = "/api/v" + std::to_string(hit) + "/items?id=7";
  h.authority = "svc0.ns.svc.cluster.local";
  h.headers.Add("x-user", "tester" + std::to_string(hit));
  for (auto _ : state) {
    auto m = (*table)->Find(h, 0);
    benchmark::DoNotOptimize(m.route);
    if (m.route == nullptr) state.SkipWithError("no route matched");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteFindOneVhost)
    ->Args({10, 9})
    ->Args({10000, 0})
    ->Args({10000, 5000})
    ->Args({10000, 9999});

void BM_RouteTableCompile(benchmark::State& state) {
  const config::RouteConfiguration rc = MakeConfig(1000, 10);
  for (auto _ : state) {
    auto table = RouteTable::Create(rc);
    benchmark::DoNotOptimize(table);
  }
}
BENCHMARK(BM_RouteTableCompile)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pilotfish::router

BENCHMARK_MAIN();
