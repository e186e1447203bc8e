// Round robin (weighted when weights differ), random and least-request balancers.
#include "proxy/upstream/load_balancer.h"

#include "proxy/upstream/hash_lb.h"

namespace pilotfish::upstream {

Skipper::Skipper(const HostVector& hosts, const LbContext* ctx) : ctx_(ctx) {
  if (ctx == nullptr || ctx->outlier.detector == nullptr || !ctx->outlier.detector->AnyEjected()) {
    return;
  }
  size_t available = 0;
  for (const auto& h : hosts) available += ctx->outlier.Excludes(*h) ? 0 : 1;
  filter_ejected_ =
      available * 100 >= ctx->outlier.panic_threshold_percent * hosts.size() && available > 0;
}

bool Skipper::Skip(const Host& h, size_t host_count) const {
  if (ctx_ == nullptr) return false;
  if (filter_ejected_ && ctx_->outlier.Excludes(h)) return true;
  return ctx_->exclude == &h && host_count > 1;
}

namespace {

class RoundRobin : public LoadBalancer {
 public:
  RoundRobin(HostSetSharedPtr hosts, uint64_t seed) : hosts_(std::move(hosts)) {
    bool weighted = false;
    for (const auto& h : hosts_->hosts) {
      if (h->weight() != hosts_->hosts.front()->weight()) weighted = true;
    }
    // Workers start at different offsets so they don't all hit host 0 first.
    if (!hosts_->hosts.empty()) next_ = seed % hosts_->hosts.size();
    // One balancer per worker per cluster (40 bytes): the weights' state only with weights.
    if (weighted) current_ = std::make_unique<int64_t[]>(hosts_->hosts.size());
  }

  HostSharedPtr ChooseHost(const LbContext* ctx) override {
    const HostVector& hosts = hosts_->hosts;
    if (hosts.empty()) return nullptr;
    Skipper skip(hosts, ctx);
    // Weighted picks may repeat a host, so allow a few rounds before giving up on skipping.
    for (size_t attempt = 0; attempt < 2 * hosts.size(); ++attempt) {
      const HostSharedPtr& h = current_ != nullptr ? PickWeighted() : hosts[next_++ % hosts.size()];
      if (!skip.Skip(*h, hosts.size())) return h;
    }
    return hosts[next_++ % hosts.size()];
  }

 private:
  // Smooth weighted round robin: deterministic, interleaves hosts in proportion to weight.
  const HostSharedPtr& PickWeighted() {
    const HostVector& hosts = hosts_->hosts;
    int64_t total = 0;
    size_t best = 0;
    for (size_t i = 0; i < hosts.size(); ++i) {
      current_[i] += hosts[i]->weight();
      total += hosts[i]->weight();
      if (current_[i] > current_[best]) best = i;
    }
    current_[best] -= total;
    return hosts[best];
  }

  HostSetSharedPtr hosts_;
  size_t next_ = 0;
  std::unique_ptr<int64_t[]> current_;  // smooth weighting's state; null when weights are equal
};

class Random : public LoadBalancer {
 public:
  Random(HostSetSharedPtr hosts, uint64_t seed) : hosts_(std::move(hosts)), rng_(seed) {}
  HostSharedPtr ChooseHost(const LbContext* ctx) override {
    const HostVector& hosts = hosts_->hosts;
    if (hosts.empty()) return nullptr;
    Skipper skip(hosts, ctx);
    for (size_t attempt = 0; attempt < 2 * hosts.size(); ++attempt) {
      const HostSharedPtr& h = hosts[rng_() % hosts.size()];
      if (!skip.Skip(*h, hosts.size())) return h;
    }
    return hosts[rng_() % hosts.size()];
  }

 private:
  HostSetSharedPtr hosts_;
  LbRandom rng_;
};

// Power of `choices` random choices, picking the host with fewer active requests.
class LeastRequest : public LoadBalancer {
 public:
  LeastRequest(HostSetSharedPtr hosts, uint32_t choices, uint64_t seed)
      : hosts_(std::move(hosts)), choices_(choices < 2 ? 2 : choices), rng_(seed) {}
  HostSharedPtr ChooseHost(const LbContext* ctx) override {
    const HostVector& hosts = hosts_->hosts;
    if (hosts.empty()) return nullptr;
    Skipper skip(hosts, ctx);
    HostSharedPtr best;
    for (uint32_t i = 0, tries = 0; i < choices_ && tries < 4 * hosts.size() + choices_; ++tries) {
      const HostSharedPtr& h = hosts[rng_() % hosts.size()];
      if (skip.Skip(*h, hosts.size())) continue;
      ++i;
      if (best == nullptr || h->rq_active.load(std::memory_order_relaxed) <
                                 best->rq_active.load(std::memory_order_relaxed)) {
        best = h;
      }
    }
    return best != nullptr ? best : hosts[rng_() % hosts.size()];
  }

 private:
  HostSetSharedPtr hosts_;
  uint32_t choices_;
  LbRandom rng_;
};

}  // namespace

LoadBalancerPtr CreateLoadBalancer(const config::Cluster& cluster, HostSetSharedPtr hosts,
                                   uint64_t seed) {
  switch (cluster.lb_policy) {
    case config::LbPolicy::kRandom:
      return std::make_unique<Random>(std::move(hosts), seed);
    case config::LbPolicy::kLeastRequest:
      return std::make_unique<LeastRequest>(std::move(hosts), cluster.least_request_choice_count,
                                            seed);
    case config::LbPolicy::kRingHash:
      return CreateRingHashLoadBalancer(cluster, std::move(hosts), seed);
    case config::LbPolicy::kMaglev:
      return CreateMaglevLoadBalancer(cluster, std::move(hosts), seed);
    default:
      return std::make_unique<RoundRobin>(std::move(hosts), seed);
  }
}

}  // namespace pilotfish::upstream
