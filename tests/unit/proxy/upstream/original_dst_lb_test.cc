// The ORIGINAL_DST balancer: hosts from the connection's destination or the
// x-envoy-original-dst-host header, reused while picked, forgotten after an unused interval.
#include <gtest/gtest.h>

#include "proxy/upstream/load_balancer.h"

namespace pilotfish::upstream {
namespace {

config::Cluster OriginalDstCluster(bool use_http_header) {
  config::Cluster c;
  c.name = "PassthroughCluster";
  c.type = config::ClusterType::kOriginalDst;
  c.lb_policy = config::LbPolicy::kClusterProvided;
  c.use_http_header = use_http_header;
  return c;
}

TEST(OriginalDstLbTest, HostIsTheOriginalDestinationAndIsReused) {
  auto lb = CreateLoadBalancer(OriginalDstCluster(false), std::make_shared<HostSet>(), 1);
  const net::Address a = *net::Address::FromIpPort("10.0.0.1", 8080);
  const net::Address b = *net::Address::FromIpPort("10.0.0.2", 80);
  LbContext ctx;
  EXPECT_EQ(lb->ChooseHost(&ctx), nullptr) << "no destination: no host";
  EXPECT_EQ(lb->ChooseHost(nullptr), nullptr);
  ctx.original_dst = &a;
  HostSharedPtr h1 = lb->ChooseHost(&ctx);
  ASSERT_NE(h1, nullptr);
  EXPECT_EQ(h1->address(), a);
  EXPECT_EQ(lb->ChooseHost(&ctx), h1) << "the same destination reuses its host (and pool)";
  ctx.original_dst = &b;
  HostSharedPtr h2 = lb->ChooseHost(&ctx);
  ASSERT_NE(h2, nullptr);
  EXPECT_EQ(h2->address(), b);
  // The header is ignored unless the cluster's use_http_header is set.
  ctx.original_dst_header = "10.0.0.9:1";
  EXPECT_EQ(lb->ChooseHost(&ctx)->address(), b);
}

TEST(OriginalDstLbTest, HttpHeaderOverridesTheDestination) {
  auto lb = CreateLoadBalancer(OriginalDstCluster(true), std::make_shared<HostSet>(), 1);
  const net::Address a = *net::Address::FromIpPort("10.0.0.1", 8080);
  LbContext ctx;
  ctx.original_dst = &a;
  ctx.original_dst_header = "10.1.2.3:9090";
  EXPECT_EQ(lb->ChooseHost(&ctx)->address(), *net::Address::FromIpPort("10.1.2.3", 9090));
  ctx.original_dst_header = "[::1]:443";
  EXPECT_EQ(lb->ChooseHost(&ctx)->address(), *net::Address::FromIpPort("::1", 443));
  for (const char* bad :
       {"10.1.2.3", "10.1.2.3:", "10.1.2.3:0", "10.1.2.3:70000", "name:80", "10.1.2.3:8x"}) {
    ctx.original_dst_header = bad;
    EXPECT_EQ(lb->ChooseHost(&ctx), nullptr) << bad;
  }
  ctx.original_dst_header = "";
  EXPECT_EQ(lb->ChooseHost(&ctx)->address(), a) << "no header: the connection's destination";
}

TEST(OriginalDstLbTest, HostsUnusedForAWholeIntervalAreForgotten) {
  auto lb = CreateLoadBalancer(OriginalDstCluster(false), std::make_shared<HostSet>(), 1);
  const net::Address a = *net::Address::FromIpPort("10.0.0.1", 1);
  const net::Address b = *net::Address::FromIpPort("10.0.0.2", 2);
  LbContext ctx;
  ctx.original_dst = &a;
  HostSharedPtr ha = lb->ChooseHost(&ctx);
  ctx.original_dst = &b;
  HostSharedPtr hb = lb->ChooseHost(&ctx);
  EXPECT_TRUE(lb->ForgetUnusedHosts().empty()) << "both were used in this interval";
  ctx.original_dst = &a;
  EXPECT_EQ(lb->ChooseHost(&ctx), ha);
  std::vector<HostSharedPtr> gone = lb->ForgetUnusedHosts();
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0], hb);
  ctx.original_dst = &b;
  EXPECT_NE(lb->ChooseHost(&ctx), hb) << "a forgotten destination gets a new host";
}

}  // namespace
}  // namespace pilotfish::upstream
