// Round robin (weighted when weights differ), random and least-request balancers.
#include "proxy/upstream/load_balancer.h"

#include <string>

#include "absl/container/flat_hash_map.h"
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

// ORIGINAL_DST with CLUSTER_PROVIDED: the host is the address the downstream connection was
// headed for (or the x-envoy-original-dst-host header, when the cluster allows it). Hosts are
// made on first use and kept while they are picked, so their connections are pooled.
class OriginalDst : public LoadBalancer {
 public:
  explicit OriginalDst(bool use_http_header) : use_http_header_(use_http_header) {}

  HostSharedPtr ChooseHost(const LbContext* ctx) override {
    if (ctx == nullptr) return nullptr;
    std::optional<net::Address> dst;
    if (use_http_header_ && !ctx->original_dst_header.empty()) {
      dst = ParseIpPort(ctx->original_dst_header);
      if (!dst) return nullptr;  // Envoy: an unusable header fails the pick
    } else if (ctx->original_dst != nullptr) {
      dst = *ctx->original_dst;
    }
    if (!dst) return nullptr;
    Entry& e = hosts_[*dst];
    if (e.host == nullptr) e.host = std::make_shared<Host>(*dst, "", 1);
    e.used = true;
    return e.host;
  }

  std::vector<HostSharedPtr> ForgetUnusedHosts() override {
    std::vector<HostSharedPtr> gone;
    for (auto it = hosts_.begin(); it != hosts_.end();) {
      if (!it->second.used) {
        gone.push_back(std::move(it->second.host));
        hosts_.erase(it++);
      } else {
        it->second.used = false;
        ++it;
      }
    }
    return gone;
  }

 private:
  // "1.2.3.4:80" or "[::1]:80".
  static std::optional<net::Address> ParseIpPort(std::string_view s) {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view ip = s.substr(0, colon);
    if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    uint32_t port = 0;
    const std::string_view digits = s.substr(colon + 1);
    if (digits.empty() || digits.size() > 5) return std::nullopt;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) return std::nullopt;
    return net::Address::FromIpPort(ip, port);
  }

  struct Entry {
    HostSharedPtr host;
    bool used = false;
  };
  bool use_http_header_;
  absl::flat_hash_map<net::Address, Entry> hosts_;
};

}  // namespace

LoadBalancerPtr CreateLoadBalancer(const config::Cluster& cluster, HostSetSharedPtr hosts,
                                   uint64_t seed) {
  if (cluster.type == config::ClusterType::kOriginalDst) {
    return std::make_unique<OriginalDst>(cluster.use_http_header);
  }
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
