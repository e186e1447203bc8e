// Per-cluster stats: Envoy's names, status-code counters created on first use from any worker,
// gauges derived when read, and the memory a cluster costs.
#include "proxy/upstream/cluster_stats.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>
#include <thread>
#include <vector>

#include "proxy/event/dispatcher.h"
#include "proxy/upstream/host.h"
#include "proxy/upstream/outlier_detector.h"

namespace pilotfish::upstream {
namespace {

config::Cluster Cluster(const std::string& name) {
  config::Cluster c;
  c.name = name;
  return c;
}

TEST(ClusterStatsTest, NamesAndResponseCodes) {
  stats::Store store;
  ClusterInfo info(Cluster("backend"), &store);
  const ClusterStats& s = info.stats();
  s.Inc(s.upstream_rq_total);
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        s.ChargeResponseCode(200);
        s.ChargeResponseCode(503);
      }
      for (int code = 400; code < 420; ++code) s.ChargeResponseCode(code);  // past 8 slots
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(store.CounterValue("cluster.backend.upstream_rq_total"), 1u);
  EXPECT_EQ(store.CounterValue("cluster.backend.upstream_rq_200"), 200u);
  EXPECT_EQ(store.CounterValue("cluster.backend.upstream_rq_503"), 200u);
  EXPECT_EQ(store.CounterValue("cluster.backend.upstream_rq_2xx"), 200u);
  EXPECT_EQ(store.CounterValue("cluster.backend.upstream_rq_5xx"), 200u);
  EXPECT_EQ(store.CounterValue("cluster.backend.upstream_rq_4xx"), 40u);
  EXPECT_EQ(store.CounterValue("cluster.backend.upstream_rq_419"), 2u);
  s.ChargeResponseCode(42);  // not a status: ignored
}

TEST(ClusterStatsTest, AltStatNameAndNoStore) {
  stats::Store store;
  config::Cluster c = Cluster("outbound|80||a");
  c.alt_stat_name = "a_alt;";
  ClusterInfo info(c, &store);
  info.stats().Inc(info.stats().upstream_cx_total);
  EXPECT_EQ(store.CounterValue("cluster.a_alt;.upstream_cx_total"), 1u);
  ClusterInfo none(Cluster("x"));  // no store: every stat is a sink
  none.stats().Inc(none.stats().upstream_cx_total);
  none.stats().ChargeResponseCode(200);
  none.stats().upstream_cx_active.Inc();
}

TEST(ClusterStatsTest, DerivedGaugesAreComputedWhenRead) {
  stats::Store store;
  config::Cluster c = Cluster("backend");
  c.circuit_breakers.max_connections = 2;
  c.circuit_breakers.max_pending_requests = 1;
  c.circuit_breakers.track_remaining = true;
  c.outlier_detection = config::OutlierDetection{};
  c.outlier_detection.Mutable().consecutive_5xx = 1;
  c.outlier_detection.Mutable().max_ejection_percent = 100;
  auto info = std::make_unique<ClusterInfo>(c, &store);
  info->resources().connections = 2;
  info->resources().requests = 3;
  auto hosts = std::make_shared<HostSet>();
  hosts->hosts.push_back(std::make_shared<Host>(*net::Address::FromIpPort("127.0.0.1", 1), "", 1));
  info->SetMembership(*hosts);
  EXPECT_TRUE(info->outlier_detector()->ReportStatus(*hosts->hosts[0], 500, *hosts, 0, 0));

  EXPECT_EQ(store.GaugeValue("cluster.backend.circuit_breakers.default.cx_open"), 0u);
  stats::StatsSnapshot snap = store.Collect();  // runs the refreshers
  EXPECT_EQ(store.GaugeValue("cluster.backend.circuit_breakers.default.cx_open"), 1u);
  EXPECT_EQ(store.GaugeValue("cluster.backend.circuit_breakers.default.rq_pending_open"), 0u);
  EXPECT_EQ(store.GaugeValue("cluster.backend.circuit_breakers.default.remaining_cx"), 0u);
  EXPECT_EQ(store.GaugeValue("cluster.backend.circuit_breakers.default.remaining_pending"), 1u);
  EXPECT_EQ(store.GaugeValue("cluster.backend.circuit_breakers.default.remaining_rq"), 1021u);
  EXPECT_EQ(store.GaugeValue("cluster.backend.upstream_rq_active"), 3u);
  EXPECT_EQ(store.GaugeValue("cluster.backend.membership_total"), 1u);
  EXPECT_EQ(store.GaugeValue("cluster.backend.membership_healthy"), 1u);
  EXPECT_EQ(store.GaugeValue("cluster.backend.outlier_detection.ejections_active"), 1u);
  EXPECT_EQ(store.CounterValue("cluster.backend.outlier_detection.ejections_enforced_total"), 1u);
  info->outlier_detector()->RunInterval(*hosts, 3600 * 1000, [] { return uint64_t{0}; });
  EXPECT_EQ(store.GaugeValue("cluster.backend.outlier_detection.ejections_active"), 0u);
  // A removed cluster's stats stay (Envoy keeps them until reset); its refresher is gone.
  info.reset();
  EXPECT_EQ(store.Collect().numeric.size(), snap.numeric.size());
}

TEST(ClusterStatsTest, RetryGaugesFollowTheRetryBudget) {
  stats::Store store;
  config::Cluster c = Cluster("budget");
  c.circuit_breakers.track_remaining = true;
  c.circuit_breakers.max_retries = 100;
  c.circuit_breakers.retry_budget_percent = 50.0;
  c.circuit_breakers.retry_budget_min_concurrency = 2;
  auto info = std::make_unique<ClusterInfo>(c, &store);
  info->resources().retries = 2;
  info->resources().requests = 4;  // budget max(2, 50% of 4) = 2: open, though far from 100
  store.Collect();
  EXPECT_EQ(store.GaugeValue("cluster.budget.circuit_breakers.default.rq_retry_open"), 1u);
  // The budget moves with the load: Envoy keeps remaining_retries at 0 under one.
  EXPECT_EQ(store.GaugeValue("cluster.budget.circuit_breakers.default.remaining_retries"), 0u);
  info->resources().requests = 10;  // 5
  store.Collect();
  EXPECT_EQ(store.GaugeValue("cluster.budget.circuit_breakers.default.rq_retry_open"), 0u);
}

// Memory per cluster: 1,000 clusters' stats, each counted on two worker threads. Measured twice:
// the store's own accounting, and the heap's (mallinfo2: every allocation the stats make).
TEST(ClusterStatsTest, MemoryPerCluster) {
  constexpr int kClusters = 1000;
  stats::Store store;
  store.LocalShard();
  std::thread([&] { store.LocalShard(); }).join();  // warm: shard tables exist before measuring
  // uordblks: in-use heap; hblkhd: large blocks malloc took from mmap (the registry's arrays).
  const auto heap_now = [] { return mallinfo2().uordblks + mallinfo2().hblkhd; };
  const size_t heap_before = heap_now();
  const size_t store_before = store.MemoryBytes();
  std::vector<std::unique_ptr<ClusterStats>> clusters;
  for (int i = 0; i < kClusters; ++i) {
    clusters.push_back(std::make_unique<ClusterStats>(
        &store, "outbound|9080||service-" + std::to_string(i) + ".default.svc.cluster.local",
        false));
  }
  auto work = [&] {
    for (const auto& s : clusters) {
      s->Inc(s->upstream_rq_total);
      s->Inc(s->upstream_cx_total);
      s->ChargeResponseCode(200);
      s->upstream_cx_active.Inc();
    }
  };
  std::thread w1(work), w2(work);
  w1.join();
  w2.join();
  const size_t heap = heap_now() - heap_before;
  const size_t in_store = store.MemoryBytes() - store_before + kClusters * sizeof(ClusterStats);
  printf(
      "stats memory per cluster (%zu stats each, 2 workers): %zu bytes by the heap, %zu by the "
      "store's accounting (%zu of them the ClusterStats handles)\n",
      store.stat_count() / kClusters, heap / kClusters, in_store / kClusters, sizeof(ClusterStats));
  // 26 created with the cluster + _200 (outlier_detection.* only with outlier detection).
  EXPECT_EQ(store.stat_count(), size_t{kClusters} * 27);
  EXPECT_LT(heap / kClusters, 3000u);
}

}  // namespace
}  // namespace pilotfish::upstream
