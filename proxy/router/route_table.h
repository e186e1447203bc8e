// A RouteConfiguration compiled once per snapshot: domain index, compiled matchers (RE2), and
// the first-match-wins route lookup the router runs per request.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "proxy/config/types.h"
#include "proxy/http/header_map.h"
#include "proxy/router/matchers.h"
#include "proxy/router/retry_policy.h"

namespace pilotfish::router {

class CompiledRoute {
 public:
  static absl::StatusOr<std::unique_ptr<CompiledRoute>> Create(config::Route route);
  const config::Route& config() const { return route_; }
  // `path` is :path without the query string; `query` the part after '?'; `random` is the
  // stream's random value, the same for every route tried (runtime_fraction: the route matches
  // when random % 1,000,000 is below its share, as Envoy's featureEnabled).
  bool Matches(const http::RequestHeaders& headers, std::string_view path, std::string_view query,
               uint64_t random) const;
  // The upstream cluster for this request: `cluster`, `cluster_header`, or a weighted pick
  // with `random` (any uniformly distributed value). Empty when cluster_header is absent.
  const std::string& SelectCluster(const http::RequestHeaders& headers, uint64_t random,
                                   const config::WeightedClusterEntry** weighted) const;
  const RE2* regex_rewrite() const { return regex_rewrite_.get(); }
  // The route's retry_policy, compiled; nullptr when it has none.
  const CompiledRetryPolicy* retry_policy() const {
    return retry_policy_ ? &*retry_policy_ : nullptr;
  }

 private:
  config::Route route_;
  std::optional<CompiledRetryPolicy> retry_policy_;  // points into route_
  std::shared_ptr<const RE2> path_regex_;
  std::shared_ptr<const RE2> regex_rewrite_;
  std::vector<HeaderMatcherImpl> headers_;
  struct QueryMatcher {
    std::string name;
    bool present_match;
    std::optional<StringMatcherImpl> value;
  };
  std::vector<QueryMatcher> query_;
  uint64_t total_weight_ = 0;
};

// For a virtual host with many routes: which routes the request's path can possibly match, so
// first-match-wins does not test every route. A route whose path matcher is a case-sensitive
// prefix, exact path or path_separated_prefix can only match a :path starting with that literal;
// it is filed under it. Every other route (safe_regex, case-insensitive, empty prefix) is always
// a candidate. Candidates are then tried in route order, so the result equals a linear scan.
class RouteIndex {
 public:
  // nullptr when the vhost is small enough that a linear scan is as fast.
  static std::unique_ptr<const RouteIndex> Create(
      const std::vector<std::unique_ptr<CompiledRoute>>& routes);
  // The first route (in config order) that matches, or nullptr.
  const CompiledRoute* Find(const std::vector<std::unique_ptr<CompiledRoute>>& routes,
                            const http::RequestHeaders& headers, std::string_view path,
                            std::string_view query, uint64_t random) const;

  static constexpr size_t kMinRoutes = 16;

 private:
  // The routes filed under a literal: keys_ sorted (one entry per route, viewing the route's
  // config), ids_[i] the route index of keys_[i], ascending within a key. Two flat arrays
  // (20 bytes a route) rather than a map of vectors: RDS tables hold thousands of routes.
  std::vector<std::string_view> keys_;
  std::vector<uint32_t> ids_;
  std::vector<uint32_t> literal_lengths_;  // distinct key lengths, ascending
  std::vector<uint32_t> always_;           // ascending
};

struct CompiledVirtualHost {
  const config::VirtualHost* config = nullptr;
  std::vector<std::unique_ptr<CompiledRoute>> routes;
  std::unique_ptr<const RouteIndex> index;  // set for vhosts of RouteIndex::kMinRoutes or more
  std::optional<CompiledRetryPolicy> retry_policy;  // config->retry_policy, compiled
};

class RouteTable {
 public:
  static absl::StatusOr<std::shared_ptr<const RouteTable>> Create(
      config::RouteConfiguration config);

  struct Match {
    const CompiledVirtualHost* vhost = nullptr;
    const CompiledRoute* route = nullptr;
  };
  // First matching route of the virtual host chosen by :authority. {nullptr, nullptr} = no
  // vhost; {vhost, nullptr} = vhost but no route. `random`: the stream's random value (for
  // runtime_fraction matches).
  Match Find(const http::RequestHeaders& headers, uint64_t random) const;
  const CompiledVirtualHost* FindVirtualHost(std::string_view authority) const;
  // The configuration it was built from. Each virtual host's `routes` is empty: the routes
  // moved into their CompiledRoute (one copy per route; RDS tables hold thousands).
  const config::RouteConfiguration& config() const { return config_; }

 private:
  config::RouteConfiguration config_;
  std::vector<CompiledVirtualHost> vhosts_;
  absl::flat_hash_map<std::string, const CompiledVirtualHost*> exact_;
  // Wildcards, longest first (Envoy's order: exact, suffix, prefix, then "*").
  std::vector<std::pair<std::string, const CompiledVirtualHost*>> suffix_;
  std::vector<std::pair<std::string, const CompiledVirtualHost*>> prefix_;
  const CompiledVirtualHost* default_ = nullptr;
};
using RouteTableSharedPtr = std::shared_ptr<const RouteTable>;

}  // namespace pilotfish::router
