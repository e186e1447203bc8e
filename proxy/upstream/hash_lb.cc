// RingHash and Maglev balancers.
#include "proxy/upstream/hash_lb.h"

#include <algorithm>
#include <vector>

namespace pilotfish::upstream {

uint64_t StableHash(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

namespace {

// Walks a sequence of host indexes from `start` until a host that is not skipped.
template <typename Next>
HostSharedPtr FirstUsable(const HostVector& hosts, const LbContext* ctx, size_t limit, Next next) {
  const Skipper skip(hosts, ctx);
  for (size_t i = 0; i < limit; ++i) {
    const HostSharedPtr& h = hosts[next(i)];
    if (!skip.Skip(*h, hosts.size())) return h;
  }
  return hosts[next(0)];  // everything skipped: the first choice
}

class RingHash : public LoadBalancer {
 public:
  RingHash(const config::Cluster& cluster, HostSetSharedPtr hosts, uint64_t seed)
      : hosts_(std::move(hosts)), rng_(seed) {
    const HostVector& hs = hosts_->hosts;
    if (hs.empty()) return;
    uint64_t total_weight = 0;
    for (const auto& h : hs) total_weight += h->weight();
    // Entries per host in proportion to weight, at least minimum_ring_size in all.
    const uint64_t min_size = std::max<uint64_t>(cluster.ring_hash_minimum_ring_size, hs.size());
    const uint64_t max_size = std::max(cluster.ring_hash_maximum_ring_size, min_size);
    for (size_t i = 0; i < hs.size(); ++i) {
      uint64_t n = (min_size * hs[i]->weight() + total_weight - 1) / total_weight;
      n = std::min(std::max<uint64_t>(n, 1), max_size);
      const std::string key = hs[i]->ToString();
      for (uint64_t j = 0; j < n; ++j) {
        ring_.push_back({StableHash(key + "_" + std::to_string(j)), i});
      }
    }
    std::sort(ring_.begin(), ring_.end(),
              [](const Entry& a, const Entry& b) { return a.hash < b.hash; });
  }

  HostSharedPtr ChooseHost(const LbContext* ctx) override {
    const HostVector& hosts = hosts_->hosts;
    if (hosts.empty()) return nullptr;
    const uint64_t hash = ctx != nullptr && ctx->hash ? *ctx->hash : rng_();
    auto it = std::lower_bound(ring_.begin(), ring_.end(), hash,
                               [](const Entry& e, uint64_t h) { return e.hash < h; });
    const size_t start = it == ring_.end() ? 0 : static_cast<size_t>(it - ring_.begin());
    return FirstUsable(hosts, ctx, ring_.size(),
                       [&](size_t i) { return ring_[(start + i) % ring_.size()].host; });
  }

 private:
  struct Entry {
    uint64_t hash;
    size_t host;
  };
  HostSetSharedPtr hosts_;
  std::vector<Entry> ring_;
  LbRandom rng_;
};

class Maglev : public LoadBalancer {
 public:
  Maglev(const config::Cluster& cluster, HostSetSharedPtr hosts, uint64_t seed)
      : hosts_(std::move(hosts)), rng_(seed) {
    const HostVector& hs = hosts_->hosts;
    if (hs.empty()) return;
    const uint64_t m = cluster.maglev_table_size;
    table_.assign(m, UINT32_MAX);
    std::vector<uint64_t> offset(hs.size()), skip(hs.size()), next(hs.size(), 0);
    uint32_t max_weight = 0;
    for (size_t i = 0; i < hs.size(); ++i) {
      const std::string key = hs[i]->ToString();
      offset[i] = StableHash(key) % m;
      skip[i] = StableHash(key + "#skip") % (m - 1) + 1;
      max_weight = std::max(max_weight, hs[i]->weight());
    }
    // Weighted population: each round a host earns its weight and places one entry per
    // max_weight earned, so entries follow the weights.
    std::vector<uint64_t> credit(hs.size(), 0);
    uint64_t filled = 0;
    while (filled < m) {
      for (size_t i = 0; i < hs.size() && filled < m; ++i) {
        credit[i] += hs[i]->weight();
        if (credit[i] < max_weight) continue;
        credit[i] -= max_weight;
        uint64_t c;
        do {
          c = (offset[i] + next[i] * skip[i]) % m;
          ++next[i];
        } while (table_[c] != UINT32_MAX);
        table_[c] = static_cast<uint32_t>(i);
        ++filled;
      }
    }
  }

  HostSharedPtr ChooseHost(const LbContext* ctx) override {
    const HostVector& hosts = hosts_->hosts;
    if (hosts.empty()) return nullptr;
    const uint64_t hash = ctx != nullptr && ctx->hash ? *ctx->hash : rng_();
    const size_t start = hash % table_.size();
    return FirstUsable(hosts, ctx, table_.size(),
                       [&](size_t i) { return table_[(start + i) % table_.size()]; });
  }

 private:
  HostSetSharedPtr hosts_;
  std::vector<uint32_t> table_;  // host indexes: 65,537 entries by default, per worker
  LbRandom rng_;
};

}  // namespace

LoadBalancerPtr CreateRingHashLoadBalancer(const config::Cluster& cluster, HostSetSharedPtr hosts,
                                           uint64_t seed) {
  return std::make_unique<RingHash>(cluster, std::move(hosts), seed);
}

LoadBalancerPtr CreateMaglevLoadBalancer(const config::Cluster& cluster, HostSetSharedPtr hosts,
                                         uint64_t seed) {
  return std::make_unique<Maglev>(cluster, std::move(hosts), seed);
}

}  // namespace pilotfish::upstream
