// stats_matcher: Envoy's reject_all / inclusion_list / exclusion_list over string matchers.
#include "proxy/stats/stats_matcher.h"

#include <gtest/gtest.h>

namespace pilotfish::stats {
namespace {

config::StringMatcher M(config::StringMatchKind kind, std::string value, bool ignore_case = false) {
  return config::StringMatcher{kind, std::move(value), ignore_case};
}

TEST(StatsMatcherTest, AcceptAllAndRejectAll) {
  EXPECT_FALSE(StatsMatcher(config::StatsMatcher{}).Rejects("anything"));
  config::StatsMatcher reject;
  reject.kind = config::StatsMatcher::Kind::kRejectAll;
  EXPECT_TRUE(StatsMatcher(reject).Rejects("server.live"));
}

TEST(StatsMatcherTest, IstioInclusionList) {
  // Istio's default proxyStatsMatcher inclusions (SPEC.md section 6).
  config::StatsMatcher c;
  c.kind = config::StatsMatcher::Kind::kInclusionList;
  for (const char* p : {"reporter=", "cluster_manager", "listener_manager", "server",
                        "cluster.xds-grpc", "wasm", "component", "istio"}) {
    c.patterns.push_back(M(config::StringMatchKind::kPrefix, p));
  }
  c.patterns.push_back(M(config::StringMatchKind::kSuffix, "rbac.allowed"));
  c.patterns.push_back(M(config::StringMatchKind::kSafeRegex, R"(vhost\..*\.route\..*)"));
  StatsMatcher m(c);
  EXPECT_FALSE(m.Rejects("server.live"));
  EXPECT_FALSE(m.Rejects("cluster_manager.cds.update_success"));
  EXPECT_FALSE(m.Rejects("listener_manager.workers_started"));
  EXPECT_FALSE(m.Rejects("cluster.xds-grpc.upstream_rq_total"));
  EXPECT_FALSE(m.Rejects("http.inbound_0.0.0.0_8080;.rbac.allowed"));
  EXPECT_FALSE(m.Rejects("vhost.backend.route.r1.upstream_rq_total"));
  EXPECT_TRUE(
      m.Rejects("cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total"));
  EXPECT_TRUE(m.Rejects("http.outbound_0.0.0.0_9080.downstream_rq_total"));
  // safe_regex must match the whole name.
  EXPECT_TRUE(m.Rejects("xvhost.a.route"));
}

TEST(StatsMatcherTest, ExclusionListAndMatchKinds) {
  config::StatsMatcher c;
  c.kind = config::StatsMatcher::Kind::kExclusionList;
  c.patterns = {M(config::StringMatchKind::kExact, "server.live"),
                M(config::StringMatchKind::kContains, ".upstream_cx_"),
                M(config::StringMatchKind::kSuffix, "_TIME", /*ignore_case=*/true),
                M(config::StringMatchKind::kSafeRegex, "CLUSTER\\..*", /*ignore_case=*/true)};
  StatsMatcher m(c);
  EXPECT_TRUE(m.Rejects("server.live"));
  EXPECT_FALSE(m.Rejects("server.live2"));
  EXPECT_TRUE(m.Rejects("tcp.x.upstream_cx_total"));
  EXPECT_TRUE(m.Rejects("http.x.downstream_rq_time"));
  EXPECT_TRUE(m.Rejects("cluster.a.b"));
  EXPECT_FALSE(m.Rejects("listener.x.downstream_cx_total"));
}

}  // namespace
}  // namespace pilotfish::stats
