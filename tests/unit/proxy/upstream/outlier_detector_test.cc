// OutlierDetector: consecutive-failure ejection, enforcement, max_ejection_percent, ejection
// time growth and decay, and the load balancer skipping ejected hosts (with panic mode).
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

TEST(OutlierDetectorTest, EjectsAfterConsecutive5xxOnly) {
  OutlierDetector d(Config());
  auto hosts = Hosts(4);
  Host& h = *hosts->hosts[0];
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(d.ReportStatus(h, 500, *hosts, 1000, 0));
  EXPECT_FALSE(d.ReportStatus(h, 200, *hosts, 1000, 0)) << "a success resets the count";
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(d.ReportStatus(h, 503, *hosts, 1000, 0));
  EXPECT_TRUE(d.ReportStatus(h, 500, *hosts, 1000, 0));
  EXPECT_TRUE(d.IsEjected(h, 1000));
  EXPECT_TRUE(d.IsEjected(h, 1000 + 29999));
  EXPECT_FALSE(d.IsEjected(h, 1000 + 30000)) << "base_ejection_time 30 s";
  EXPECT_TRUE(d.AnyEjected(2000));
  EXPECT_FALSE(d.AnyEjected(31000));
}

TEST(OutlierDetectorTest, GatewayFailureEnforcementDefaultsToZero) {
  auto c = Config();
  c.consecutive_5xx = 0;  // only gateway failures count here
  OutlierDetector d(c);
  auto hosts = Hosts(4);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(d.ReportStatus(*hosts->hosts[0], 502, *hosts, 0, 0));
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
  for (int i = 0; i < 4; ++i) d.ReportStatus(h, 500, *hosts, 0, 0);
  EXPECT_FALSE(d.ReportStatus(h, 500, *hosts, 0, /*random=*/99)) << "99 % 100 >= 30";
  for (int i = 0; i < 4; ++i) d.ReportStatus(h, 500, *hosts, 0, 0);
  EXPECT_TRUE(d.ReportStatus(h, 500, *hosts, 0, /*random=*/29));
}

TEST(OutlierDetectorTest, MaxEjectionPercentButAlwaysOne) {
  auto c = Config();
  c.max_ejection_percent = 10;  // 10% of 4 hosts is < 1 host: one may still be ejected
  OutlierDetector d(c);
  auto hosts = Hosts(4);
  for (int i = 0; i < 5; ++i) d.ReportStatus(*hosts->hosts[0], 500, *hosts, 0, 0);
  EXPECT_TRUE(d.IsEjected(*hosts->hosts[0], 0));
  for (int i = 0; i < 5; ++i) d.ReportStatus(*hosts->hosts[1], 500, *hosts, 0, 0);
  EXPECT_FALSE(d.IsEjected(*hosts->hosts[1], 0)) << "a second ejection would exceed 10%";
}

TEST(OutlierDetectorTest, EjectionTimeGrowsAndIsCappedThenDecays) {
  auto c = Config();
  c.base_ejection_time = std::chrono::milliseconds(1000);
  c.max_ejection_time = std::chrono::milliseconds(2500);
  c.interval = std::chrono::milliseconds(1000);
  OutlierDetector d(c);
  auto hosts = Hosts(2);
  Host& h = *hosts->hosts[0];
  auto eject_at = [&](int64_t now) {
    for (int i = 0; i < 5; ++i) d.ReportStatus(h, 500, *hosts, now, 0);
    return h.outlier.ejected_until_ms.load() - now;
  };
  EXPECT_EQ(eject_at(0), 1000);     // 1st: base
  EXPECT_EQ(eject_at(1000), 2000);  // right after un-ejection: 2x base
  EXPECT_EQ(eject_at(3000), 2500);  // 3x base, capped at max_ejection_time
  // Healthy for 10 intervals: the multiplier decays back to zero, so base again.
  EXPECT_EQ(eject_at(5500 + 10000), 1000);
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
  split.ReportLocalFailure(h, *hosts, 0, 0);
  EXPECT_TRUE(split.ReportLocalFailure(h, *hosts, 0, 0));
}

config::Cluster RoundRobinCluster() {
  config::Cluster c;
  c.lb_policy = config::LbPolicy::kRoundRobin;
  return c;
}

TEST(OutlierDetectorTest, LoadBalancerSkipsEjectedHosts) {
  OutlierDetector d(Config());
  auto hosts = Hosts(4);
  for (int i = 0; i < 5; ++i) d.ReportStatus(*hosts->hosts[2], 500, *hosts, 0, 0);
  auto lb = CreateLoadBalancer(RoundRobinCluster(), hosts, 0);
  LbContext ctx;
  ctx.outlier = {&d, 10, 50};
  for (int i = 0; i < 40; ++i) EXPECT_NE(lb->ChooseHost(&ctx).get(), hosts->hosts[2].get());
  ctx.outlier.now_ms = 31000;  // ejection over
  bool seen = false;
  for (int i = 0; i < 8; ++i) seen = seen || lb->ChooseHost(&ctx).get() == hosts->hosts[2].get();
  EXPECT_TRUE(seen);
}

TEST(OutlierDetectorTest, PanicModeUsesEjectedHostsWhenTooFewRemain) {
  auto c = Config();
  c.max_ejection_percent = 100;
  OutlierDetector d(c);
  auto hosts = Hosts(2);
  for (int i = 0; i < 5; ++i) d.ReportStatus(*hosts->hosts[0], 500, *hosts, 0, 0);
  for (int i = 0; i < 5; ++i) d.ReportStatus(*hosts->hosts[1], 500, *hosts, 0, 0);
  auto lb = CreateLoadBalancer(RoundRobinCluster(), hosts, 0);
  LbContext ctx;
  ctx.outlier = {&d, 10, 50};  // 0 of 2 available < 50%: panic, every host is used
  EXPECT_NE(lb->ChooseHost(&ctx), nullptr);
}

}  // namespace
}  // namespace pilotfish::upstream
