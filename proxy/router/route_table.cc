// Route table compilation and matching.
#include "proxy/router/route_table.h"

#include <algorithm>
#include <limits>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "proxy/common/str_util.h"

namespace pilotfish::router {
namespace {

// Decodes %XX in a query parameter value (and '+' as space, as Envoy's query parsing does not:
// keep '+' literal to match Envoy).
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      if (ParseInt(s.substr(i + 1, 2), &v, 16)) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CompiledRoute>> CompiledRoute::Create(config::Route route) {
  auto r = std::make_unique<CompiledRoute>();
  r->route_ = std::move(route);
  const config::RouteMatch& m = r->route_.match;
  if (m.kind == config::PathMatchKind::kSafeRegex) {
    auto re = CompileRegex(m.value, m.case_sensitive);
    if (!re.ok()) return re.status();
    r->path_regex_ = *re;
  } else if (!m.case_sensitive) {
    r->route_.match.value = ToLower(m.value);
  }
  for (const auto& h : m.headers) {
    auto hm = HeaderMatcherImpl::Create(h);
    if (!hm.ok()) return hm.status();
    r->headers_.push_back(std::move(*hm));
  }
  for (const auto& q : *m.query_parameters) {
    QueryMatcher qm{q.name, q.present_match, std::nullopt};
    if (q.string_match) {
      auto sm = StringMatcherImpl::Create(*q.string_match);
      if (!sm.ok()) return sm.status();
      qm.value = std::move(*sm);
    }
    r->query_.push_back(std::move(qm));
  }
  if (r->route_.route.regex_rewrite) {
    auto re = CompileRegex(r->route_.route.regex_rewrite->first);
    if (!re.ok()) return re.status();
    r->regex_rewrite_ = *re;
  }
  if (r->route_.route.retry_policy) {
    auto p = CompiledRetryPolicy::Create(*r->route_.route.retry_policy);
    if (!p.ok()) return p.status();
    r->retry_policy_.emplace(std::move(*p));
  }
  for (const auto& w : r->route_.route.weighted_clusters) r->total_weight_ += w.weight;
  if (!r->route_.route.weighted_clusters.empty() && r->total_weight_ == 0) {
    return absl::InvalidArgumentError("weighted_clusters: the sum of weights must be > 0");
  }
  return r;
}

bool CompiledRoute::Matches(const http::RequestHeaders& headers, std::string_view path,
                            std::string_view query, uint64_t random) const {
  const config::RouteMatch& m = route_.match;
  if (m.runtime_fraction_per_million && random % 1000000 >= *m.runtime_fraction_per_million) {
    return false;
  }
  std::string lowered;
  std::string_view full_path = headers.path;
  if (!m.case_sensitive && m.kind != config::PathMatchKind::kSafeRegex) {
    lowered = ToLower(m.kind == config::PathMatchKind::kPrefix ? full_path : path);
  }
  switch (m.kind) {
    case config::PathMatchKind::kPrefix:
      if (!StartsWith(m.case_sensitive ? full_path : lowered, m.value)) return false;
      break;
    case config::PathMatchKind::kPath:
      if ((m.case_sensitive ? path : std::string_view(lowered)) != m.value) return false;
      break;
    case config::PathMatchKind::kSafeRegex:
      if (!RE2::FullMatch(path, *path_regex_)) return false;
      break;
    case config::PathMatchKind::kPathSeparatedPrefix: {
      std::string_view p = m.case_sensitive ? path : std::string_view(lowered);
      if (!StartsWith(p, m.value)) return false;
      if (p.size() > m.value.size() && p[m.value.size()] != '/') return false;
      break;
    }
  }
  for (const auto& h : headers_) {
    if (!h.Matches(headers)) return false;
  }
  for (const auto& q : query_) {
    const std::string* found = nullptr;
    std::string value_storage;
    bool present = false;
    for (std::string_view rest = query; !rest.empty();) {
      size_t amp = rest.find('&');
      std::string_view kv = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      size_t eq = kv.find('=');
      std::string_view k = kv.substr(0, eq);
      if (k == q.name) {
        present = true;
        value_storage = eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1));
        found = &value_storage;
        break;
      }
    }
    if (q.present_match) {
      if (!present) return false;
    } else if (q.value) {
      if (found == nullptr || !q.value->Matches(*found)) return false;
    } else if (!present) {
      return false;
    }
  }
  return true;
}

const std::string& CompiledRoute::SelectCluster(
    const http::RequestHeaders& headers, uint64_t random,
    const config::WeightedClusterEntry** weighted) const {
  static const std::string kEmpty;
  if (weighted != nullptr) *weighted = nullptr;
  const config::RouteAction& a = route_.route;
  if (!a.cluster.empty()) return a.cluster;
  if (!a.cluster_header->empty()) {
    const std::string* v = headers.GetAny(*a.cluster_header);
    return v != nullptr ? *v : kEmpty;
  }
  if (total_weight_ == 0) return kEmpty;
  uint64_t pick = random % total_weight_;
  for (const auto& w : a.weighted_clusters) {
    if (pick < w.weight) {
      if (weighted != nullptr) *weighted = &w;
      return w.name;
    }
    pick -= w.weight;
  }
  return a.weighted_clusters.back().name;
}

absl::StatusOr<std::shared_ptr<const RouteTable>> RouteTable::Create(
    config::RouteConfiguration config) {
  auto table = std::shared_ptr<RouteTable>(new RouteTable());
  table->config_ = std::move(config);
  table->vhosts_.resize(table->config_.virtual_hosts.size());
  for (size_t i = 0; i < table->config_.virtual_hosts.size(); ++i) {
    config::VirtualHost& vh = table->config_.virtual_hosts[i];
    CompiledVirtualHost& cvh = table->vhosts_[i];
    cvh.config = &vh;
    if (vh.retry_policy) {
      auto p = CompiledRetryPolicy::Create(*vh.retry_policy);
      if (!p.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("virtual_hosts[", i, "]: ", p.status().message()));
      }
      cvh.retry_policy.emplace(std::move(*p));
    }
    for (size_t j = 0; j < vh.routes.size(); ++j) {
      auto r = CompiledRoute::Create(std::move(vh.routes[j]));
      if (!r.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("virtual_hosts[", i, "].routes[", j, "]: ", r.status().message()));
      }
      cvh.routes.push_back(std::move(*r));
    }
    cvh.index = RouteIndex::Create(cvh.routes);
    // Assigning {} would keep the capacity: ~1 KiB per moved-from route, held for the table's
    // life.
    std::vector<config::Route>().swap(vh.routes);
    for (const std::string& d : vh.domains) {
      std::string domain = ToLower(d);
      if (domain == "*") {
        if (table->default_ != nullptr) {
          return absl::InvalidArgumentError(
              absl::StrCat("virtual_hosts[", i, "]: only one virtual host may use domain '*'"));
        }
        table->default_ = &cvh;
      } else if (domain.size() > 1 && domain.front() == '*') {
        table->suffix_.emplace_back(domain.substr(1), &cvh);
      } else if (domain.size() > 1 && domain.back() == '*') {
        table->prefix_.emplace_back(domain.substr(0, domain.size() - 1), &cvh);
      } else if (!table->exact_.emplace(domain, &cvh).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "virtual_hosts[", i, "]: domain '", d, "' is already used by another virtual host"));
      }
    }
  }
  auto longest_first = [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); };
  std::stable_sort(table->suffix_.begin(), table->suffix_.end(), longest_first);
  std::stable_sort(table->prefix_.begin(), table->prefix_.end(), longest_first);
  return table;
}

const CompiledVirtualHost* RouteTable::FindVirtualHost(std::string_view authority) const {
  // Only a "*" virtual host (or none): nothing to look the host up in.
  if (exact_.empty() && suffix_.empty() && prefix_.empty()) return default_;
  std::string host = ToLower(authority);
  if (config_.ignore_port_in_host_matching) {
    // "host:port" and "[v6]:port" lose ":port"; a bare IPv6 literal keeps its colons.
    const size_t colon = host.rfind(':');
    const size_t bracket = host.rfind(']');
    if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket) &&
        colon + 1 < host.size() &&
        std::all_of(host.begin() + colon + 1, host.end(),
                    [](char c) { return c >= '0' && c <= '9'; }) &&
        (bracket != std::string::npos || host.find(':') == colon)) {
      host.resize(colon);
    }
  }
  if (auto it = exact_.find(host); it != exact_.end()) return it->second;
  for (const auto& [suffix, vh] : suffix_) {
    if (host.size() > suffix.size() && EndsWith(host, suffix)) return vh;
  }
  for (const auto& [prefix, vh] : prefix_) {
    if (host.size() > prefix.size() && StartsWith(host, prefix)) return vh;
  }
  return default_;
}

RouteTable::Match RouteTable::Find(const http::RequestHeaders& headers, uint64_t random) const {
  Match m;
  m.vhost = FindVirtualHost(headers.authority);
  if (m.vhost == nullptr) return m;
  std::string_view path = headers.path;
  std::string_view query;
  if (size_t q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  if (m.vhost->index != nullptr) {
    m.route = m.vhost->index->Find(m.vhost->routes, headers, path, query, random);
    return m;
  }
  for (const auto& r : m.vhost->routes) {
    if (r->Matches(headers, path, query, random)) {
      m.route = r.get();
      break;
    }
  }
  return m;
}

std::unique_ptr<const RouteIndex> RouteIndex::Create(
    const std::vector<std::unique_ptr<CompiledRoute>>& routes) {
  if (routes.size() < kMinRoutes || routes.size() > std::numeric_limits<uint32_t>::max()) {
    return nullptr;
  }
  auto index = std::unique_ptr<RouteIndex>(new RouteIndex());
  std::vector<std::pair<std::string_view, uint32_t>> filed;
  for (uint32_t i = 0; i < routes.size(); ++i) {
    const config::RouteMatch& m = routes[i]->config().match;
    // Each literal is a prefix of every :path (query included) the route can match.
    const bool literal =
        m.case_sensitive && !m.value.empty() &&
        (m.kind == config::PathMatchKind::kPrefix || m.kind == config::PathMatchKind::kPath ||
         m.kind == config::PathMatchKind::kPathSeparatedPrefix);
    if (!literal) {
      index->always_.push_back(i);
      continue;
    }
    filed.emplace_back(m.value, i);
    index->literal_lengths_.push_back(static_cast<uint32_t>(m.value.size()));
  }
  std::stable_sort(filed.begin(), filed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  index->keys_.reserve(filed.size());
  index->ids_.reserve(filed.size());
  for (const auto& [key, id] : filed) {
    index->keys_.push_back(key);
    index->ids_.push_back(id);
  }
  index->always_.shrink_to_fit();
  std::sort(index->literal_lengths_.begin(), index->literal_lengths_.end());
  index->literal_lengths_.erase(
      std::unique(index->literal_lengths_.begin(), index->literal_lengths_.end()),
      index->literal_lengths_.end());
  index->literal_lengths_.shrink_to_fit();
  return index;
}

const CompiledRoute* RouteIndex::Find(const std::vector<std::unique_ptr<CompiledRoute>>& routes,
                                      const http::RequestHeaders& headers, std::string_view path,
                                      std::string_view query, uint64_t random) const {
  // The candidate lists: one per literal the :path starts with, plus the always-tried routes.
  struct Cursor {
    const uint32_t* next;
    const uint32_t* end;
  };
  absl::InlinedVector<Cursor, 8> lists;
  if (!always_.empty()) lists.push_back({always_.data(), always_.data() + always_.size()});
  const std::string_view full_path = headers.path;
  for (uint32_t len : literal_lengths_) {
    if (len > full_path.size()) break;
    const auto [lo, hi] = std::equal_range(keys_.begin(), keys_.end(), full_path.substr(0, len));
    if (lo != hi)
      lists.push_back({ids_.data() + (lo - keys_.begin()), ids_.data() + (hi - keys_.begin())});
  }
  // Merge the sorted lists, trying each candidate in route order.
  while (true) {
    Cursor* best = nullptr;
    for (Cursor& c : lists) {
      if (c.next != c.end && (best == nullptr || *c.next < *best->next)) best = &c;
    }
    if (best == nullptr) return nullptr;
    const CompiledRoute* r = routes[*best->next++].get();
    if (r->Matches(headers, path, query, random)) return r;
  }
}

}  // namespace pilotfish::router
