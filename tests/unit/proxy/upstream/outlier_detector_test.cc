// OutlierDetector: consecutive-failure ejection, enforcement, max_ejection_percent, the interval
// sweep (un-ejection, multiplier growth and decay, success rate, failure percentage, local
// origin), stats, and the load balancer skipping ejected hosts (with panic mode). Time is the
// `now_ms` each call is given: nothing sleeps.
#include "proxy/upstream/outlier_detector.h"

#include <gtest/gtest.h>

#include "proxy/upstream/load_balancer.h"

namespace pilotfish::upstream {
namespace {

HostSetSharedPtr Hosts(int n) {
  auto set = std::make_shared<HostSet>();
  for (int i = 0; i < n; ++i) {
    set->hosts.push_back(std::make_shared<Host>(
        *net::Address::FromIpPort("127.0.0.1", static_cast<uint32_t>(1000 + i)), "", 1));
  }
  return set;
}

config::OutlierDetection Config() {
  config::OutlierDetection c;  // Envoy's defaults: 5 consecutive 5xx, 30 s base, 10%
  c.max_ejection_percent = 50;
  return c;
}

uint64_t Zero() { return 0; }

// A store and the detector's stats, read back by name.
class Stats {
 public:
  stats::Scope scope() { return store_.CreateScope("cluster.c."); }
  uint64_t Counter(const std::string& name) {
    return store_.CounterValue("cluster.c.outlier_detection." + name);
  }
  uint64_t Gauge(const std::string& name) {
    return store_.GaugeValue("cluster.c.outlier_detection." + name);
  }

 private:
  stats::Store store_;
};

void Fail5xx(OutlierDetector& d, Host& h, const HostSet& hosts, int n, int64_t now) {
  for (int i = 0; i < n; ++i) d.ReportStatus(h, 500, hosts, now, 0);
}

// `n` responses on `host`, `failures` of them 500 and the rest 200, interleaved so no run of
// consecutive 5xx reaches the default threshold of 5.
void Traffic(OutlierDetector& d, Host& h, const HostSet& hosts, int n, int failures) {
  int failed = 0;
  for (int i = 0; i < n; ++i) {
    const bool fail = failed < failures && (i % 2 == 0 || n - i <= failures - failed);
    if (fail) ++failed;
    d.ReportStatus(h, fail ? 500 : 200, hosts, 0, 0);
  }
}

TEST(OutlierDetectorTest, EjectsAfterConsecutive5xxAndUnejectsOnlyAtAnInterval) {
  Stats stats;
  OutlierDetector d(Config(), stats.scope());
  auto hosts = Hosts(4);
  Host& h = *hosts->hosts[0];
  Fail5xx(d, h, *hosts, 4, 1000);
  EXPECT_FALSE(d.ReportStatus(h, 200, *hosts, 1000, 0)) << "a success resets the count";
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(d.ReportStatus(h, 503, *hosts, 1000, 0));
  EXPECT_TRUE(d.ReportStatus(h, 500, *hosts, 1000, 0));
  EXPECT_TRUE(d.IsEjected(h));
  EXPECT_TRUE(d.AnyEjected());
  EXPECT_EQ(stats.Gauge("ejections_active"), 1u);
  EXPECT_EQ(stats.Counter("ejections_detected_consecutive_5xx"), 1u);
  EXPECT_EQ(stats.Counter("ejections_enforced_consecutive_5xx"), 1u);
  EXPECT_EQ(stats.Counter("ejections_enforced_total"), 1u);
  EXPECT_EQ(stats.Counter("ejections_total"), 1u);

  d.RunInterval(*hosts, 1000 + 29999, Zero);
  EXPECT_TRUE(d.IsEjected(h)) << "base_ejection_time 30 s not over yet";
  EXPECT_TRUE(d.IsEjected(h)) << "the time passing alone does not un-eject: the interval does";
  d.RunInterval(*hosts, 1000 + 30000, Zero);
  EXPECT_FALSE(d.IsEjected(h));
  EXPECT_FALSE(d.AnyEjected());
  EXPECT_EQ(stats.Gauge("ejections_active"), 0u);
}

TEST(OutlierDetectorTest, GatewayFailureEnforcementDefaultsToZero) {
  Stats stats;
  auto c = Config();
  c.consecutive_5xx = 0;  // only gateway failures count here
  OutlierDetector d(c, stats.scope());
  auto hosts = Hosts(4);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(d.ReportStatus(*hosts->hosts[0], 502, *hosts, 0, 0));
  EXPECT_EQ(stats.Counter("ejections_detected_consecutive_gateway_failure"), 2u);
  EXPECT_EQ(stats.Counter("ejections_enforced_consecutive_gateway_failure"), 0u);
  c.enforcing_consecutive_gateway_failure = 100;
  OutlierDetector enforced(c);
  for (int i = 0; i < 4; ++i) enforced.ReportStatus(*hosts->hosts[1], 504, *hosts, 0, 0);
  EXPECT_TRUE(enforced.ReportStatus(*hosts->hosts[1], 502, *hosts, 0, 0));
}

TEST(OutlierDetectorTest, EnforcementPercentageUsesTheRandomDraw) {
  auto c = Config();
  c.enforcing_consecutive_5xx = 30;
  OutlierDetector d(c);
  auto hosts = Hosts(4);
  Host& h = *hosts->hosts[0];
  Fail5xx(d, h, *hosts, 4, 0);
  EXPECT_FALSE(d.ReportStatus(h, 500, *hosts, 0, /*random=*/99)) << "99 % 100 >= 30";
  Fail5xx(d, h, *hosts, 4, 0);
  EXPECT_TRUE(d.ReportStatus(h, 500, *hosts, 0, /*random=*/29));
}

TEST(OutlierDetectorTest, MaxEjectionPercentIsAHardLimitUnlessAlwaysEjectOneHost) {
  Stats stats;
  auto c = Config();
  c.max_ejection_percent = 10;  // 1 of 4 hosts is 25%: over the limit
  OutlierDetector strict(c, stats.scope());
  auto hosts = Hosts(4);
  Fail5xx(strict, *hosts->hosts[0], *hosts, 5, 0);
  EXPECT_FALSE(strict.IsEjected(*hosts->hosts[0]));
  EXPECT_EQ(stats.Counter("ejections_overflow"), 1u);
  EXPECT_EQ(stats.Counter("ejections_detected_consecutive_5xx"), 1u);
  EXPECT_EQ(stats.Counter("ejections_enforced_total"), 0u);

  c.always_eject_one_host = true;
  OutlierDetector one(c);
  Fail5xx(one, *hosts->hosts[0], *hosts, 5, 0);
  EXPECT_TRUE(one.IsEjected(*hosts->hosts[0])) << "the first ejection passes";
  Fail5xx(one, *hosts->hosts[1], *hosts, 5, 0);
  EXPECT_FALSE(one.IsEjected(*hosts->hosts[1])) << "a second one would make 50% > 10%";

  auto hosts2 = Hosts(4);
  c = Config();  // 50%: two of four
  OutlierDetector half(c);
  for (int i = 0; i < 3; ++i) Fail5xx(half, *hosts2->hosts[i], *hosts2, 5, 0);
  EXPECT_EQ(half.ActiveEjections(), 2u);
  EXPECT_FALSE(half.IsEjected(*hosts2->hosts[2]));
}

TEST(OutlierDetectorTest, EjectionTimeDoublesIsCappedAndTheMultiplierDecaysAtIntervals) {
  auto c = Config();
  c.base_ejection_time = std::chrono::milliseconds(1000);
  c.max_ejection_time = std::chrono::milliseconds(2500);
  c.interval = std::chrono::milliseconds(1000);
  OutlierDetector d(c);
  auto hosts = Hosts(2);
  Host& h = *hosts->hosts[0];
  // The first un-ejection interval at or after `from` (the sweep runs every 500 ms here).
  auto returns_at = [&](int64_t from) {
    for (int64_t t = from;; t += 500) {
      d.RunInterval(*hosts, t, Zero);
      if (!d.IsEjected(h)) return t;
    }
  };
  Fail5xx(d, h, *hosts, 5, 0);
  EXPECT_EQ(h.outlier().backoff.load(), 1u);
  EXPECT_EQ(returns_at(500), 1000) << "1st ejection: base";
  Fail5xx(d, h, *hosts, 5, 1000);
  EXPECT_EQ(h.outlier().backoff.load(), 2u);
  EXPECT_EQ(returns_at(1500), 3000) << "2nd ejection right after: 2 x base";
  Fail5xx(d, h, *hosts, 5, 3000);
  EXPECT_EQ(returns_at(3500), 5500) << "3 x base, capped at max_ejection_time";
  // Healthy: one decrement per interval once an interval has passed since the un-ejection.
  const uint32_t before = h.outlier().backoff.load();
  d.RunInterval(*hosts, 6000, Zero);
  EXPECT_EQ(h.outlier().backoff.load(), before) << "un-ejected only 500 ms ago";
  d.RunInterval(*hosts, 6500, Zero);
  EXPECT_EQ(h.outlier().backoff.load(), before - 1);
  for (int64_t t = 7500; t <= 12500; t += 1000) d.RunInterval(*hosts, t, Zero);
  EXPECT_EQ(h.outlier().backoff.load(), 0u);
  Fail5xx(d, h, *hosts, 5, 13000);
  EXPECT_EQ(returns_at(13500), 14000) << "decayed back to base";
}

TEST(OutlierDetectorTest, SuccessRateEjectsBelowMeanMinusFactorTimesStdev) {
  Stats stats;
  auto c = Config();
  c.max_ejection_percent = 20;  // one of five
  OutlierDetector d(c, stats.scope());
  auto hosts = Hosts(5);
  // Success rates 50, 100, 100, 100, 100: mean 90, stdev 20, threshold 90 - 1.9 x 20 = 52.
  Traffic(d, *hosts->hosts[0], *hosts, 100, 50);
  for (int i = 1; i < 5; ++i) Traffic(d, *hosts->hosts[i], *hosts, 100, 0);
  EXPECT_FALSE(d.AnyEjected()) << "no run of 5 consecutive 5xx";
  d.RunInterval(*hosts, 10000, Zero);
  EXPECT_DOUBLE_EQ(d.success_rate_nums(false).average, 90);
  EXPECT_DOUBLE_EQ(d.success_rate_nums(false).ejection_threshold, 52);
  EXPECT_DOUBLE_EQ(hosts->hosts[0]->outlier().success_rate.load(), 50);
  EXPECT_DOUBLE_EQ(hosts->hosts[1]->outlier().success_rate.load(), 100);
  EXPECT_TRUE(d.IsEjected(*hosts->hosts[0]));
  for (int i = 1; i < 5; ++i) EXPECT_FALSE(d.IsEjected(*hosts->hosts[i]));
  EXPECT_EQ(stats.Counter("ejections_detected_success_rate"), 1u);
  EXPECT_EQ(stats.Counter("ejections_enforced_success_rate"), 1u);
  EXPECT_EQ(stats.Counter("ejections_success_rate"), 1u);

  // The counts were taken: an interval without traffic computes nothing.
  d.RunInterval(*hosts, 20000, Zero);
  EXPECT_DOUBLE_EQ(d.success_rate_nums(false).average, -1);
  EXPECT_DOUBLE_EQ(hosts->hosts[1]->outlier().success_rate.load(), -1);
}

TEST(OutlierDetectorTest, SuccessRateFactorVolumeAndMinimumHosts) {
  auto hosts = Hosts(5);
  auto run = [&](const config::OutlierDetection& c, int volume, int failures) {
    for (auto& h : hosts->hosts) h->outlier().ejected = false;  // a fresh start for each case
    auto d = std::make_unique<OutlierDetector>(c);
    Traffic(*d, *hosts->hosts[0], *hosts, volume, failures);
    for (int i = 1; i < 5; ++i) Traffic(*d, *hosts->hosts[i], *hosts, volume, 0);
    d->RunInterval(*hosts, 10000, Zero);
    return d;
  };
  auto c = Config();
  // 65, 100 x 4: mean 93, stdev 14; 1.9: threshold 66.4 (ejected); 2.1: 63.6 (not).
  EXPECT_TRUE(run(c, 100, 35)->IsEjected(*hosts->hosts[0]));
  c.success_rate_stdev_factor = 2100;
  auto d = run(c, 100, 35);
  EXPECT_NEAR(d->success_rate_nums(false).ejection_threshold, 63.6, 1e-9);
  EXPECT_FALSE(d->IsEjected(*hosts->hosts[0]));

  c = Config();
  d = run(c, 99, 50);  // below success_rate_request_volume (100): no host qualifies
  EXPECT_DOUBLE_EQ(d->success_rate_nums(false).average, -1);
  EXPECT_FALSE(d->AnyEjected());
  EXPECT_DOUBLE_EQ(hosts->hosts[0]->outlier().success_rate.load(), 1.0 * 49 / 99 * 100)
      << "still shown: above failure_percentage_request_volume (50)";

  c.success_rate_minimum_hosts = 6;  // five hosts qualify
  d = run(c, 100, 50);
  EXPECT_DOUBLE_EQ(d->success_rate_nums(false).average, -1);
  EXPECT_FALSE(d->AnyEjected());

  c = Config();
  c.enforcing_success_rate = 0;  // detected, not enforced
  d = run(c, 100, 50);
  EXPECT_DOUBLE_EQ(d->success_rate_nums(false).ejection_threshold, 52);
  EXPECT_FALSE(d->AnyEjected());
}

TEST(OutlierDetectorTest, FailurePercentageIsEnforcedOnlyWhenAskedFor) {
  Stats stats;
  auto c = Config();
  c.enforcing_success_rate = 0;
  c.consecutive_5xx = 0;                  // 45 failures in 50 include runs of 5
  OutlierDetector off(c, stats.scope());  // enforcing_failure_percentage defaults to 0
  auto hosts = Hosts(5);
  Traffic(off, *hosts->hosts[0], *hosts, 50, 45);  // 90% failures >= 85
  for (int i = 1; i < 5; ++i) Traffic(off, *hosts->hosts[i], *hosts, 50, 0);
  off.RunInterval(*hosts, 10000, Zero);
  EXPECT_FALSE(off.AnyEjected());
  EXPECT_EQ(stats.Counter("ejections_detected_failure_percentage"), 1u);
  EXPECT_EQ(stats.Counter("ejections_enforced_failure_percentage"), 0u);

  c.enforcing_failure_percentage = 100;
  OutlierDetector on(c);
  Traffic(on, *hosts->hosts[0], *hosts, 50, 45);
  Traffic(on, *hosts->hosts[1], *hosts, 50, 40);  // 80% < 85: stays
  for (int i = 2; i < 5; ++i) Traffic(on, *hosts->hosts[i], *hosts, 50, 0);
  on.RunInterval(*hosts, 10000, Zero);
  EXPECT_TRUE(on.IsEjected(*hosts->hosts[0]));
  EXPECT_FALSE(on.IsEjected(*hosts->hosts[1]));

  for (auto& h : hosts->hosts) h->outlier().ejected = false;
  c.failure_percentage_minimum_hosts = 6;
  OutlierDetector few(c);
  Traffic(few, *hosts->hosts[0], *hosts, 50, 45);
  for (int i = 1; i < 5; ++i) Traffic(few, *hosts->hosts[i], *hosts, 50, 0);
  few.RunInterval(*hosts, 10000, Zero);
  EXPECT_FALSE(few.AnyEjected()) << "fewer hosts than failure_percentage_minimum_hosts";
}

TEST(OutlierDetectorTest, LocalOriginFailuresCountAs5xxUnlessSplit) {
  OutlierDetector d(Config());
  auto hosts = Hosts(4);
  for (int i = 0; i < 4; ++i) d.ReportLocalFailure(*hosts->hosts[0], *hosts, 0, 0);
  EXPECT_TRUE(d.ReportLocalFailure(*hosts->hosts[0], *hosts, 0, 0));

  auto c = Config();
  c.split_external_local_origin_errors = true;
  c.consecutive_local_origin_failure = 3;
  OutlierDetector split(c);
  Host& h = *hosts->hosts[1];
  split.ReportStatus(h, 500, *hosts, 0, 0);
  split.ReportLocalFailure(h, *hosts, 0, 0);
  split.ReportStatus(h, 500, *hosts, 0, 0);  // a response: the connection worked
  split.ReportLocalFailure(h, *hosts, 0, 0);
  split.ReportLocalFailure(h, *hosts, 0, 0);
  EXPECT_TRUE(split.ReportLocalFailure(h, *hosts, 0, 0));
}

TEST(OutlierDetectorTest, LocalOriginSuccessRateWhenSplit) {
  Stats stats;
  auto c = Config();
  c.split_external_local_origin_errors = true;
  c.consecutive_local_origin_failure = 0;
  c.max_ejection_percent = 20;
  OutlierDetector d(c, stats.scope());
  auto hosts = Hosts(5);
  // Host 0: 50 responses and 50 connect failures (local-origin success rate 50); the rest 100.
  for (int i = 0; i < 50; ++i) {
    d.ReportStatus(*hosts->hosts[0], 200, *hosts, 0, 0);
    d.ReportLocalFailure(*hosts->hosts[0], *hosts, 0, 0);
  }
  for (int i = 1; i < 5; ++i) Traffic(d, *hosts->hosts[i], *hosts, 100, 0);
  d.RunInterval(*hosts, 10000, Zero);
  EXPECT_DOUBLE_EQ(d.success_rate_nums(true).average, 90);
  EXPECT_DOUBLE_EQ(hosts->hosts[0]->outlier().local_success_rate.load(), 50);
  EXPECT_DOUBLE_EQ(d.success_rate_nums(false).average, -1) << "50 responses: too few";
  EXPECT_TRUE(d.IsEjected(*hosts->hosts[0]));
  EXPECT_EQ(stats.Counter("ejections_enforced_local_origin_success_rate"), 1u);
}

TEST(OutlierDetectorTest, AdoptCountsHostsEjectedUnderAnEarlierDetector) {
  auto hosts = Hosts(4);
  OutlierDetector old_detector(Config());
  Fail5xx(old_detector, *hosts->hosts[3], *hosts, 5, 0);
  OutlierDetector updated(Config());  // a CDS update: same hosts, new detector
  EXPECT_FALSE(updated.AnyEjected());
  updated.Adopt(*hosts);
  EXPECT_EQ(updated.ActiveEjections(), 1u);
  updated.RunInterval(*hosts, 30000, Zero);
  EXPECT_FALSE(updated.IsEjected(*hosts->hosts[3]));
}

config::Cluster RoundRobinCluster() {
  config::Cluster c;
  c.lb_policy = config::LbPolicy::kRoundRobin;
  return c;
}

TEST(OutlierDetectorTest, LoadBalancerSkipsEjectedHosts) {
  OutlierDetector d(Config());
  auto hosts = Hosts(4);
  Fail5xx(d, *hosts->hosts[2], *hosts, 5, 0);
  auto lb = CreateLoadBalancer(RoundRobinCluster(), hosts, 0);
  LbContext ctx;
  ctx.outlier = {&d, 50};
  for (int i = 0; i < 40; ++i) EXPECT_NE(lb->ChooseHost(&ctx).get(), hosts->hosts[2].get());
  d.RunInterval(*hosts, 31000, Zero);  // ejection over
  bool seen = false;
  for (int i = 0; i < 8; ++i) seen = seen || lb->ChooseHost(&ctx).get() == hosts->hosts[2].get();
  EXPECT_TRUE(seen);
}

TEST(OutlierDetectorTest, PanicModeUsesEjectedHostsWhenTooFewRemain) {
  auto c = Config();
  c.max_ejection_percent = 100;
  OutlierDetector d(c);
  auto hosts = Hosts(2);
  Fail5xx(d, *hosts->hosts[0], *hosts, 5, 0);
  Fail5xx(d, *hosts->hosts[1], *hosts, 5, 0);
  EXPECT_EQ(d.ActiveEjections(), 2u);
  auto lb = CreateLoadBalancer(RoundRobinCluster(), hosts, 0);
  LbContext ctx;
  ctx.outlier = {&d, 50};  // 0 of 2 available < 50%: panic, every host is used
  EXPECT_NE(lb->ChooseHost(&ctx), nullptr);
}

}  // namespace
}  // namespace pilotfish::upstream
