// RING_HASH and MAGLEV: a key keeps its host, load follows weights, and removing a host moves
// only the keys that were on it.
#include "proxy/upstream/hash_lb.h"

#include <gtest/gtest.h>

#include <map>

namespace pilotfish::upstream {
namespace {

HostSetSharedPtr Hosts(std::vector<uint32_t> weights) {
  auto set = std::make_shared<HostSet>();
  for (size_t i = 0; i < weights.size(); ++i) {
    set->hosts.push_back(std::make_shared<Host>(
        *net::Address::FromIpPort("10.0.0." + std::to_string(i + 1), 8080), "", weights[i]));
  }
  return set;
}

config::Cluster Cluster(config::LbPolicy policy) {
  config::Cluster c;
  c.lb_policy = policy;
  return c;
}

class HashLbTest : public ::testing::TestWithParam<config::LbPolicy> {};

std::string Pick(LoadBalancer& lb, uint64_t hash) {
  LbContext ctx;
  ctx.hash = hash;
  return lb.ChooseHost(&ctx)->ToString();
}

TEST_P(HashLbTest, SameKeySameHost) {
  auto lb = CreateLoadBalancer(Cluster(GetParam()), Hosts({1, 1, 1, 1}), 1);
  for (int k = 0; k < 100; ++k) {
    const uint64_t h = StableHash("user-" + std::to_string(k));
    EXPECT_EQ(Pick(*lb, h), Pick(*lb, h));
  }
  // And the same on another worker's instance (another seed).
  auto other = CreateLoadBalancer(Cluster(GetParam()), Hosts({1, 1, 1, 1}), 99);
  for (int k = 0; k < 100; ++k) {
    const uint64_t h = StableHash("user-" + std::to_string(k));
    EXPECT_EQ(Pick(*lb, h), Pick(*other, h));
  }
}

TEST_P(HashLbTest, LoadFollowsWeights) {
  auto lb = CreateLoadBalancer(Cluster(GetParam()), Hosts({1, 1, 2}), 1);
  std::map<std::string, int> counts;
  const int n = 30000;
  for (int k = 0; k < n; ++k) counts[Pick(*lb, StableHash("k" + std::to_string(k)))]++;
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_NEAR(counts["10.0.0.3:8080"] / double(n), 0.5, 0.06);
  EXPECT_NEAR(counts["10.0.0.1:8080"] / double(n), 0.25, 0.06);
}

TEST_P(HashLbTest, RemovingAHostMovesFewOtherKeys) {
  auto four = CreateLoadBalancer(Cluster(GetParam()), Hosts({1, 1, 1, 1}), 1);
  auto three = CreateLoadBalancer(Cluster(GetParam()), Hosts({1, 1, 1}), 1);  // 10.0.0.4 left
  int moved = 0, n = 10000;
  for (int k = 0; k < n; ++k) {
    const uint64_t h = StableHash("k" + std::to_string(k));
    const std::string before = Pick(*four, h), after = Pick(*three, h);
    if (before != "10.0.0.4:8080" && before != after) ++moved;
  }
  // Keys that were not on the removed host (about 3/4) mostly stay. Modulo hashing would move
  // about 3/4 of them. Maglev keeps nearly all; the ring re-scales each host's share of
  // minimum_ring_size with the host count (as Envoy's does), so new points take some keys.
  const int bound = GetParam() == config::LbPolicy::kMaglev ? n / 20 : n / 6;
  EXPECT_LT(moved, bound) << moved << " keys moved between surviving hosts";
}

TEST_P(HashLbTest, ExcludedHostIsSkipped) {
  auto hosts = Hosts({1, 1, 1});
  auto lb = CreateLoadBalancer(Cluster(GetParam()), hosts, 1);
  for (int k = 0; k < 50; ++k) {
    LbContext ctx;
    ctx.hash = StableHash("k" + std::to_string(k));
    const Host* first = lb->ChooseHost(&ctx).get();
    ctx.exclude = first;
    EXPECT_NE(lb->ChooseHost(&ctx).get(), first);
  }
}

TEST_P(HashLbTest, NoHashPicksSomeHost) {
  auto lb = CreateLoadBalancer(Cluster(GetParam()), Hosts({1, 1}), 1);
  EXPECT_NE(lb->ChooseHost(nullptr), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Policies, HashLbTest,
                         ::testing::Values(config::LbPolicy::kRingHash, config::LbPolicy::kMaglev));

}  // namespace
}  // namespace pilotfish::upstream
