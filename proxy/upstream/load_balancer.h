// Load balancers over a host set. One instance per worker per cluster (no shared state).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "proxy/upstream/host.h"
#include "proxy/upstream/outlier_detector.h"

namespace pilotfish::upstream {

// Per-request inputs a load balancer may use.
struct LbContext {
  std::optional<uint64_t> hash;   // from the route's hash_policy
  const Host* exclude = nullptr;  // previous host, for retry host predicates
  OutlierFilter outlier;          // skip ejected hosts (unless in panic)
  // ORIGINAL_DST: the downstream connection's destination before iptables REDIRECT (nullptr
  // when it was not redirected), and the x-envoy-original-dst-host request header when the
  // cluster's use_http_header asks for it (empty when absent).
  const net::Address* original_dst = nullptr;
  std::string_view original_dst_header;
};

// Whether a host should be passed over by a balancer: the retry's previous host (when there is
// another), or an ejected host while enough hosts remain available (below
// healthy_panic_threshold percent Envoy uses every host). Computed once per pick.
class Skipper {
 public:
  Skipper(const HostVector& hosts, const LbContext* ctx);
  bool Skip(const Host& h, size_t host_count) const;

 private:
  const LbContext* ctx_;
  bool filter_ejected_ = false;
};

// A balancer's random source: SplitMix64, 8 bytes of state where std::mt19937_64 holds 2.5 KiB
// (there is one balancer per worker per cluster: 5 KiB a cluster with two workers). Plenty for
// picking hosts.
class LbRandom {
 public:
  explicit LbRandom(uint64_t seed) : state_(seed) {}
  uint64_t operator()() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // nullptr when the set is empty.
  virtual HostSharedPtr ChooseHost(const LbContext* context) = 0;
  // ORIGINAL_DST: forgets the hosts not picked since the previous call and returns them (their
  // pools are drained by the caller). Other balancers have a fixed host set.
  virtual std::vector<HostSharedPtr> ForgetUnusedHosts() { return {}; }
};
using LoadBalancerPtr = std::unique_ptr<LoadBalancer>;

// Builds the balancer for `policy` over `hosts` (which must outlive it: keep the HostSet). An
// ORIGINAL_DST cluster gets a balancer that makes its hosts from each request's destination.
LoadBalancerPtr CreateLoadBalancer(const config::Cluster& cluster, HostSetSharedPtr hosts,
                                   uint64_t seed);

}  // namespace pilotfish::upstream
