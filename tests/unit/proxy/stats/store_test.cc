// Store: per-thread counters merged on read, gauges, histograms, reset, the stats_matcher, and
// names that stay the same stat when created again.
#include "proxy/stats/store.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace pilotfish::stats {
namespace {

TEST(StoreTest, CounterMergesAcrossThreads) {
  Store store;
  Counter c = store.CounterFor("cluster.a.upstream_rq_total");
  ASSERT_NE(c.index, 0u);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Shard& shard = store.LocalShard();
      for (int i = 0; i < kPerThread; ++i) shard.Inc(c);
    });
  }
  // Reading while the writers run neither blocks them nor goes backwards.
  uint64_t last = 0;
  for (int i = 0; i < 100; ++i) {
    const uint64_t now = store.CounterValue("cluster.a.upstream_rq_total");
    EXPECT_GE(now, last);
    last = now;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store.CounterValue("cluster.a.upstream_rq_total"), uint64_t{kThreads} * kPerThread);
}

TEST(StoreTest, EachThreadWritesItsOwnShard) {
  Store store;
  Shard* main_shard = &store.LocalShard();
  Shard* other = nullptr;
  std::thread([&] { other = &store.LocalShard(); }).join();
  EXPECT_NE(main_shard, other);
  EXPECT_EQ(main_shard, &store.LocalShard());
  // Two stores on one thread keep separate shards.
  Store second;
  EXPECT_NE(&second.LocalShard(), main_shard);
  EXPECT_EQ(&store.LocalShard(), main_shard);
}

TEST(StoreTest, SameNameSameStat) {
  Store store;
  Scope a = store.CreateScope("cluster.a.");
  Counter c1 = a.CounterFor("upstream_rq_total");
  Counter c2 = store.CreateScope("cluster.a.").CounterFor("upstream_rq_total");
  Counter c3 = store.CounterFor("cluster.a.upstream_rq_total");
  EXPECT_EQ(c1.index, c2.index);
  EXPECT_EQ(c1.index, c3.index);
  // A dotted name under a scope is the same stat as its full name.
  Gauge g1 = a.GaugeFor("outlier_detection.ejections_active");
  Gauge g2 = store.GaugeFor("cluster.a.outlier_detection.ejections_active");
  g1.Set(2);
  EXPECT_EQ(g2.value(), 2u);
  store.Inc(c1);
  store.Inc(c2, 2);
  EXPECT_EQ(store.CounterValue("cluster.a.upstream_rq_total"), 3u);
  // One name is one kind: asking for a gauge of a counter's name gives a sink.
  EXPECT_TRUE(a.GaugeFor("upstream_rq_total").is_sink());
  EXPECT_EQ(store.stat_count(), 2u);
}

TEST(StoreTest, GaugesAreSharedAndTrackUse) {
  Store store;
  Gauge g = store.GaugeFor("server.state");
  EXPECT_FALSE(g.is_sink());
  std::thread([&] {
    Gauge same = store.GaugeFor("server.state");
    same.Add(5);
  }).join();
  g.Dec();
  EXPECT_EQ(store.GaugeValue("server.state"), 4u);
  // A gauge set to 0 is "used" (pilot-agent reads server.state with ?usedonly).
  Gauge live = store.GaugeFor("server.live");
  store.GaugeFor("server.never_set");
  live.Set(0);
  StatsSnapshot snap = store.Collect();
  ASSERT_EQ(snap.numeric.size(), 3u);
  EXPECT_EQ(snap.numeric[0].name, "server.live");
  EXPECT_TRUE(snap.numeric[0].used);
  EXPECT_EQ(snap.numeric[1].name, "server.never_set");
  EXPECT_FALSE(snap.numeric[1].used);
  EXPECT_EQ(snap.numeric[2].name, "server.state");
  EXPECT_EQ(snap.numeric[2].kind, StatKind::kGauge);
}

TEST(StoreTest, HistogramBucketsSumAndCountMergeAcrossThreads) {
  Store store;
  Histogram h = store.HistogramFor("http.in.downstream_rq_time");
  store.Record(h, 0);                               // <= 0.5
  store.Record(h, 1);                               // <= 1
  store.Record(h, 3);                               // <= 5
  store.Record(h, 5);                               // <= 5 (bounds are inclusive)
  store.Record(h, 4000000);                         // above 3600000
  std::thread([&] { store.Record(h, 7); }).join();  // <= 10
  HistogramValues v = store.HistogramValue("http.in.downstream_rq_time");
  EXPECT_EQ(v.count(), 6u);
  EXPECT_EQ(v.sum, 0u + 1 + 3 + 5 + 4000000 + 7);
  EXPECT_EQ(v.buckets[0], 1u);
  EXPECT_EQ(v.buckets[1], 1u);
  EXPECT_EQ(v.buckets[2], 2u);
  EXPECT_EQ(v.buckets[3], 1u);
  EXPECT_EQ(v.buckets[kBucketCount], 1u);
  EXPECT_EQ(v.Cumulative(2), 4u);
  EXPECT_EQ(v.Cumulative(kBucketCount - 1), 5u);
}

TEST(StoreTest, QuantilesInterpolateInsideBuckets) {
  HistogramValues v;
  EXPECT_EQ(v.Quantile(0.5), 0);
  v.buckets[4] = 10;  // ten samples in (10, 25]: 11 .. 25
  EXPECT_DOUBLE_EQ(v.Quantile(0), 11);
  EXPECT_DOUBLE_EQ(v.Quantile(0.5), 18);
  EXPECT_DOUBLE_EQ(v.Quantile(1), 25);
  v.buckets[kBucketCount] = 10;  // and ten above the last bound
  EXPECT_DOUBLE_EQ(v.Quantile(0.25), 18);
  EXPECT_DOUBLE_EQ(v.Quantile(1), 3600001);
  HistogramValues zeros;  // sub-millisecond requests record 0
  zeros.buckets[0] = 4;
  EXPECT_DOUBLE_EQ(zeros.Quantile(0.5), 0);
  EXPECT_DOUBLE_EQ(zeros.Quantile(1), 0);
}

TEST(StoreTest, ResetCountersZeroesCountersOnly) {
  Store store;
  Counter c = store.CounterFor("a.c");
  Gauge g = store.GaugeFor("a.g");
  store.Inc(c, 7);
  g.Set(3);
  std::thread([&] { store.Inc(c, 3); }).join();
  store.ResetCounters();
  EXPECT_EQ(store.CounterValue("a.c"), 0u);
  EXPECT_EQ(store.GaugeValue("a.g"), 3u);
  store.Inc(c);
  EXPECT_EQ(store.CounterValue("a.c"), 1u);
  // A reset counter is still "used".
  StatsSnapshot snap = store.Collect();
  EXPECT_TRUE(snap.numeric[0].used);
}

TEST(StoreTest, RejectedStatsAreNotCreated) {
  config::StatsConfig cfg;
  cfg.stats_matcher.kind = config::StatsMatcher::Kind::kInclusionList;
  cfg.stats_matcher.patterns.push_back({config::StringMatchKind::kPrefix, "server", false});
  cfg.stats_matcher.patterns.push_back(
      {config::StringMatchKind::kPrefix, "cluster.xds-grpc", false});
  Store store(cfg);
  Counter kept = store.CreateScope("cluster.xds-grpc.").CounterFor("upstream_rq_total");
  Counter dropped = store.CreateScope("cluster.outbound|80||a.b.").CounterFor("upstream_rq_total");
  Gauge dropped_gauge = store.GaugeFor("http.in.downstream_rq_active");
  EXPECT_NE(kept.index, 0u);
  EXPECT_EQ(dropped.index, 0u);
  EXPECT_TRUE(dropped_gauge.is_sink());
  // Writes to a rejected stat are harmless and invisible.
  store.Inc(dropped, 5);
  dropped_gauge.Inc();
  store.Inc(kept);
  StatsSnapshot snap = store.Collect();
  ASSERT_EQ(snap.numeric.size(), 1u);
  EXPECT_EQ(snap.numeric[0].name, "cluster.xds-grpc.upstream_rq_total");
  EXPECT_EQ(snap.numeric[0].value, 1u);
  EXPECT_EQ(store.stat_count(), 1u);
}

TEST(StoreTest, ScopesWithoutStoreAreSinks) {
  Scope none;
  Counter c = none.CounterFor("x");
  EXPECT_EQ(c.index, 0u);
  none.Inc(c);  // no store: nothing happens
  EXPECT_TRUE(none.GaugeFor("g").is_sink());
}

TEST(StoreTest, RefreshersRunBeforeEveryRead) {
  Store store;
  Gauge g = store.GaugeFor("cluster.a.upstream_rq_active");
  uint64_t source = 4;
  const uint64_t id = store.AddRefresher([&] { g.Set(source); });
  EXPECT_EQ(store.Collect().numeric[0].value, 4u);
  source = 9;
  EXPECT_EQ(store.Collect().numeric[0].value, 9u);
  store.RemoveRefresher(id);
  source = 1;
  EXPECT_EQ(store.Collect().numeric[0].value, 9u);
}

TEST(StoreTest, CollectFiltersAndSorts) {
  Store store;
  store.IncCounter("b.x");
  store.IncCounter("a.x");
  store.SetGauge("c.y", 1);
  StatsSnapshot snap = store.Collect([](std::string_view name) { return name.ends_with(".x"); });
  ASSERT_EQ(snap.numeric.size(), 2u);
  EXPECT_EQ(snap.numeric[0].name, "a.x");
  EXPECT_EQ(snap.numeric[1].name, "b.x");
}

TEST(StoreTest, SanitizeStatName) {
  EXPECT_EQ(SanitizeStatName("listener.[::]:15001."), "listener.[__]_15001.");
}

}  // namespace
}  // namespace pilotfish::stats
