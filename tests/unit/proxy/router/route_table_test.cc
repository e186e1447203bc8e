// Route table semantics as Envoy defines them: virtual host domain selection, path, header and
// query matching, first match wins, weighted cluster picks, and the route index of large
// virtual hosts (which must give exactly what a linear scan gives).
#include "proxy/router/route_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace pilotfish::router {
namespace {

using config::HeaderMatcher;
using config::PathMatchKind;
using config::StringMatchKind;

config::Route MakeRoute(PathMatchKind kind, std::string value, std::string name) {
  config::Route r;
  r.name = std::move(name);
  r.match.kind = kind;
  r.match.value = std::move(value);
  r.route.cluster = "c";
  return r;
}

config::VirtualHost MakeVhost(std::string name, std::vector<std::string> domains,
                              std::vector<config::Route> routes) {
  config::VirtualHost vh;
  vh.name = std::move(name);
  vh.domains = std::move(domains);
  vh.routes = std::move(routes);
  return vh;
}

std::shared_ptr<const RouteTable> MakeTable(std::vector<config::VirtualHost> vhosts) {
  config::RouteConfiguration rc;
  rc.name = "test";
  rc.virtual_hosts = std::move(vhosts);
  auto t = RouteTable::Create(std::move(rc));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : nullptr;
}

http::RequestHeaders Request(std::string authority, std::string path, std::string method = "GET") {
  http::RequestHeaders h;
  h.method = std::move(method);
  h.path = std::move(path);
  h.authority = std::move(authority);
  return h;
}

// Name of the matched route, "<no vhost>" or "<no route>".
std::string RouteName(const RouteTable& t, const http::RequestHeaders& h, uint64_t random = 0) {
  RouteTable::Match m = t.Find(h, random);
  if (m.vhost == nullptr) return "<no vhost>";
  if (m.route == nullptr) return "<no route>";
  return m.route->config().name;
}

std::string VhostName(const RouteTable& t, std::string_view authority) {
  const CompiledVirtualHost* vh = t.FindVirtualHost(authority);
  return vh == nullptr ? "<none>" : vh->config->name;
}

TEST(RouteTableTest, DomainSelectionOrderIsExactSuffixPrefixThenDefault) {
  auto any = [] { return std::vector<config::Route>{MakeRoute(PathMatchKind::kPrefix, "/", "r")}; };
  auto t = MakeTable({
      MakeVhost("exact", {"reviews.default.svc.cluster.local", "reviews:9080"}, any()),
      MakeVhost("suffix", {"*.default.svc.cluster.local"}, any()),
      MakeVhost("longer-suffix", {"*.ns.default.svc.cluster.local"}, any()),
      MakeVhost("prefix", {"api.*"}, any()),
      MakeVhost("default", {"*"}, any()),
  });
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(VhostName(*t, "reviews.default.svc.cluster.local"), "exact");
  EXPECT_EQ(VhostName(*t, "REVIEWS.Default.svc.cluster.local"), "exact");  // case-insensitive
  EXPECT_EQ(VhostName(*t, "reviews:9080"), "exact");                       // with port
  EXPECT_EQ(VhostName(*t, "reviews"), "default");  // "reviews:9080" does not cover "reviews"
  EXPECT_EQ(VhostName(*t, "ratings.default.svc.cluster.local"), "suffix");
  EXPECT_EQ(VhostName(*t, "x.ns.default.svc.cluster.local"), "longer-suffix");  // longest wins
  EXPECT_EQ(VhostName(*t, "api.example.com"), "prefix");
  EXPECT_EQ(VhostName(*t, "default.svc.cluster.local"), "default");
  // The wildcard must match at least one character.
  EXPECT_EQ(VhostName(*t, ".default.svc.cluster.local"), "default");
}

TEST(RouteTableTest, IgnorePortInHostMatching) {
  config::RouteConfiguration rc;
  rc.virtual_hosts = {
      MakeVhost("named", {"reviews"}, {MakeRoute(PathMatchKind::kPrefix, "/", "r")}),
      MakeVhost("v6", {"[::1]"}, {MakeRoute(PathMatchKind::kPrefix, "/", "r")}),
      MakeVhost("default", {"*"}, {MakeRoute(PathMatchKind::kPrefix, "/", "r")})};
  auto plain = RouteTable::Create(rc);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(VhostName(**plain, "reviews:9080"), "default");
  rc.ignore_port_in_host_matching = true;
  auto t = RouteTable::Create(rc);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(VhostName(**t, "reviews:9080"), "named");
  EXPECT_EQ(VhostName(**t, "reviews"), "named");
  EXPECT_EQ(VhostName(**t, "[::1]:8080"), "v6");
  EXPECT_EQ(VhostName(**t, "[::1]"), "v6");
  EXPECT_EQ(VhostName(**t, "reviews:x"), "default");
}

TEST(RouteTableTest, NoDefaultVhostMeansNoVhost) {
  auto t = MakeTable({MakeVhost("only", {"a.com"}, {MakeRoute(PathMatchKind::kPrefix, "/", "r")})});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(RouteName(*t, Request("b.com", "/")), "<no vhost>");
  EXPECT_EQ(RouteName(*t, Request("a.com", "/")), "r");
}

TEST(RouteTableTest, DuplicateDomainsAndTwoDefaultsAreRejected) {
  config::RouteConfiguration rc;
  rc.virtual_hosts = {MakeVhost("a", {"x.com"}, {}), MakeVhost("b", {"X.com"}, {})};
  EXPECT_FALSE(RouteTable::Create(rc).ok());
  rc.virtual_hosts = {MakeVhost("a", {"*"}, {}), MakeVhost("b", {"*"}, {})};
  EXPECT_FALSE(RouteTable::Create(rc).ok());
}

TEST(RouteTableTest, PathMatchers) {
  auto t =
      MakeTable({MakeVhost("vh", {"*"},
                           {MakeRoute(PathMatchKind::kPath, "/exact", "exact"),
                            MakeRoute(PathMatchKind::kPathSeparatedPrefix, "/sep", "separated"),
                            MakeRoute(PathMatchKind::kSafeRegex, "/re/[0-9]+", "regex"),
                            MakeRoute(PathMatchKind::kPrefix, "/api?v=", "prefix-with-query"),
                            MakeRoute(PathMatchKind::kPrefix, "/api", "prefix")})});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(RouteName(*t, Request("h", "/exact")), "exact");
  EXPECT_EQ(RouteName(*t, Request("h", "/exact?q=1")), "exact");  // the query is not the path
  EXPECT_EQ(RouteName(*t, Request("h", "/exactly")), "<no route>");
  EXPECT_EQ(RouteName(*t, Request("h", "/sep")), "separated");
  EXPECT_EQ(RouteName(*t, Request("h", "/sep/x")), "separated");
  EXPECT_EQ(RouteName(*t, Request("h", "/sep?x")), "separated");
  EXPECT_EQ(RouteName(*t, Request("h", "/separate")), "<no route>");
  EXPECT_EQ(RouteName(*t, Request("h", "/re/123")), "regex");
  EXPECT_EQ(RouteName(*t, Request("h", "/re/123?a=b")), "regex");     // regex sees no query
  EXPECT_EQ(RouteName(*t, Request("h", "/re/123/x")), "<no route>");  // whole-path match
  // Envoy's prefix is matched against :path with its query string.
  EXPECT_EQ(RouteName(*t, Request("h", "/api?v=2")), "prefix-with-query");
  EXPECT_EQ(RouteName(*t, Request("h", "/api/v1")), "prefix");
}

TEST(RouteTableTest, CaseInsensitivePaths) {
  config::Route exact = MakeRoute(PathMatchKind::kPath, "/login", "exact");
  exact.match.case_sensitive = false;
  config::Route prefix = MakeRoute(PathMatchKind::kPrefix, "/static/", "prefix");
  prefix.match.case_sensitive = false;
  auto t = MakeTable({MakeVhost("vh", {"*"}, {exact, prefix})});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(RouteName(*t, Request("h", "/LOGIN")), "exact");
  EXPECT_EQ(RouteName(*t, Request("h", "/Static/app.js")), "prefix");
  EXPECT_EQ(RouteName(*t, Request("h", "/stat")), "<no route>");
}

HeaderMatcher StringHeader(std::string name, StringMatchKind kind, std::string value) {
  HeaderMatcher h;
  h.name = std::move(name);
  h.kind = HeaderMatcher::Kind::kString;
  h.string_match.kind = kind;
  h.string_match.value = std::move(value);
  return h;
}

bool HeaderMatches(const HeaderMatcher& m, const http::RequestHeaders& req) {
  config::Route r = MakeRoute(PathMatchKind::kPrefix, "/", "r");
  r.match.headers.push_back(m);
  auto t = MakeTable({MakeVhost("vh", {"*"}, {r})});
  return t != nullptr && RouteName(*t, req) == "r";
}

TEST(RouteTableTest, HeaderStringMatchers) {
  http::RequestHeaders req = Request("reviews:9080", "/p?x=1", "POST");
  req.headers.Add("end-user", "jason");
  EXPECT_TRUE(HeaderMatches(StringHeader("end-user", StringMatchKind::kExact, "jason"), req));
  EXPECT_FALSE(HeaderMatches(StringHeader("end-user", StringMatchKind::kExact, "Jason"), req));
  HeaderMatcher ci = StringHeader("end-user", StringMatchKind::kExact, "JASON");
  ci.string_match.ignore_case = true;
  EXPECT_TRUE(HeaderMatches(ci, req));
  EXPECT_TRUE(HeaderMatches(StringHeader("end-user", StringMatchKind::kPrefix, "ja"), req));
  EXPECT_TRUE(HeaderMatches(StringHeader("end-user", StringMatchKind::kSuffix, "son"), req));
  EXPECT_TRUE(HeaderMatches(StringHeader("end-user", StringMatchKind::kContains, "aso"), req));
  EXPECT_TRUE(HeaderMatches(StringHeader("end-user", StringMatchKind::kSafeRegex, "j.*n"), req));
  EXPECT_FALSE(HeaderMatches(StringHeader("end-user", StringMatchKind::kSafeRegex, "j"), req));
  // Pseudo-headers.
  EXPECT_TRUE(HeaderMatches(StringHeader(":method", StringMatchKind::kExact, "POST"), req));
  EXPECT_TRUE(HeaderMatches(StringHeader(":authority", StringMatchKind::kPrefix, "reviews"), req));
  EXPECT_TRUE(HeaderMatches(StringHeader(":path", StringMatchKind::kExact, "/p?x=1"), req));
  EXPECT_TRUE(HeaderMatches(StringHeader(":scheme", StringMatchKind::kExact, "http"), req));
}

TEST(RouteTableTest, HeaderPresenceInversionAndMissingHeaders) {
  http::RequestHeaders with = Request("h", "/");
  with.headers.Add("x-canary", "1");
  const http::RequestHeaders without = Request("h", "/");

  HeaderMatcher present;
  present.name = "x-canary";
  present.kind = HeaderMatcher::Kind::kPresent;
  EXPECT_TRUE(HeaderMatches(present, with));
  EXPECT_FALSE(HeaderMatches(present, without));
  present.invert_match = true;
  EXPECT_FALSE(HeaderMatches(present, with));
  EXPECT_TRUE(HeaderMatches(present, without));
  HeaderMatcher absent = present;
  absent.invert_match = false;
  absent.present_match = false;
  EXPECT_FALSE(HeaderMatches(absent, with));
  EXPECT_TRUE(HeaderMatches(absent, without));

  HeaderMatcher not_one = StringHeader("x-canary", StringMatchKind::kExact, "2");
  not_one.invert_match = true;
  EXPECT_TRUE(HeaderMatches(not_one, with));
  // Envoy: a missing header is ignored by a value matcher, so an inverted one does not match...
  EXPECT_FALSE(HeaderMatches(not_one, without));
  // ...unless it is treated as empty (Istio's withoutHeaders sets this).
  not_one.treat_missing_header_as_empty = true;
  EXPECT_TRUE(HeaderMatches(not_one, without));

  HeaderMatcher empty_re = StringHeader("x-canary", StringMatchKind::kSafeRegex, "^$");
  EXPECT_FALSE(HeaderMatches(empty_re, without));
  empty_re.treat_missing_header_as_empty = true;
  EXPECT_TRUE(HeaderMatches(empty_re, without));

  HeaderMatcher range;
  range.name = "x-canary";
  range.kind = HeaderMatcher::Kind::kRange;
  range.range_start = 0;
  range.range_end = 10;
  EXPECT_TRUE(HeaderMatches(range, with));
  range.invert_match = true;
  range.treat_missing_header_as_empty = true;  // empty is not in the range: inverted, it matches
  EXPECT_TRUE(HeaderMatches(range, without));
  range.treat_missing_header_as_empty = false;  // ignored: no match
  EXPECT_FALSE(HeaderMatches(range, without));
}

TEST(RouteTableTest, QueryParameters) {
  config::Route r = MakeRoute(PathMatchKind::kPrefix, "/", "q");
  config::QueryParameterMatcher debug;
  debug.name = "debug";
  debug.present_match = true;
  config::QueryParameterMatcher user;
  user.name = "user";
  user.string_match = config::StringMatcher{StringMatchKind::kExact, "a b", false};
  r.match.query_parameters = {debug, user};
  auto t = MakeTable({MakeVhost("vh", {"*"}, {r})});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(RouteName(*t, Request("h", "/x?debug&user=a%20b")), "q");
  EXPECT_EQ(RouteName(*t, Request("h", "/x?user=a%20b&debug=0")), "q");
  EXPECT_EQ(RouteName(*t, Request("h", "/x?user=a%20b")), "<no route>");
  EXPECT_EQ(RouteName(*t, Request("h", "/x?debug&user=ab")), "<no route>");
  EXPECT_EQ(RouteName(*t, Request("h", "/x")), "<no route>");
}

TEST(RouteTableTest, FirstMatchWins) {
  config::Route jason = MakeRoute(PathMatchKind::kPrefix, "/", "jason");
  jason.match.headers.push_back(StringHeader("end-user", StringMatchKind::kExact, "jason"));
  auto t = MakeTable({MakeVhost("vh", {"*"},
                                {jason, MakeRoute(PathMatchKind::kPrefix, "/", "everyone"),
                                 MakeRoute(PathMatchKind::kPath, "/never", "shadowed")})});
  ASSERT_NE(t, nullptr);
  http::RequestHeaders req = Request("h", "/never");
  EXPECT_EQ(RouteName(*t, req), "everyone");
  req.headers.Add("end-user", "jason");
  EXPECT_EQ(RouteName(*t, req), "jason");
}

TEST(RouteTableTest, RuntimeFractionMatchesItsShareOfStreams) {
  config::Route canary = MakeRoute(PathMatchKind::kPrefix, "/", "canary");
  canary.match.runtime_fraction_per_million = 250000;  // 25%
  auto t = MakeTable(
      {MakeVhost("vh", {"*"}, {canary, MakeRoute(PathMatchKind::kPrefix, "/", "stable")})});
  ASSERT_NE(t, nullptr);
  const http::RequestHeaders req = Request("h", "/");
  int canaries = 0;
  for (uint64_t random = 0; random < 1000000; random += 1000) {
    canaries += RouteName(*t, req, random) == "canary" ? 1 : 0;
  }
  EXPECT_EQ(canaries, 250);
  EXPECT_EQ(RouteName(*t, req, 1000000 + 249999), "canary");  // random is taken mod 1,000,000
  EXPECT_EQ(RouteName(*t, req, 1000000 + 250000), "stable");
}

TEST(RouteTableTest, WeightedClustersFollowTheirWeights) {
  config::Route r = MakeRoute(PathMatchKind::kPrefix, "/", "w");
  r.route.cluster.clear();
  r.route.weighted_clusters = {{"v1", 80, {}}, {"v2", 20, {}}, {"v3", 0, {}}};
  auto t = MakeTable({MakeVhost("vh", {"*"}, {r})});
  ASSERT_NE(t, nullptr);
  const http::RequestHeaders req = Request("h", "/");
  const CompiledRoute* route = t->Find(req, 0).route;
  ASSERT_NE(route, nullptr);
  // Every value of `random` modulo the total weight (100) maps to exactly one entry.
  std::map<std::string, int> picks;
  for (uint64_t random = 0; random < 1000; ++random) {
    const config::WeightedClusterEntry* entry = nullptr;
    const std::string& c = route->SelectCluster(req, random, &entry);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->name, c);
    ++picks[c];
  }
  EXPECT_EQ(picks["v1"], 800);
  EXPECT_EQ(picks["v2"], 200);
  EXPECT_EQ(picks.count("v3"), 0u);
}

TEST(RouteTableTest, ClusterHeader) {
  config::Route r = MakeRoute(PathMatchKind::kPrefix, "/", "h");
  r.route.cluster.clear();
  r.route.cluster_header = "x-cluster";
  auto t = MakeTable({MakeVhost("vh", {"*"}, {r})});
  ASSERT_NE(t, nullptr);
  http::RequestHeaders req = Request("h", "/");
  const CompiledRoute* route = t->Find(req, 0).route;
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->SelectCluster(req, 0, nullptr), "");
  req.headers.Add("x-cluster", "backend");
  EXPECT_EQ(route->SelectCluster(req, 0, nullptr), "backend");
}

TEST(RouteTableTest, InvalidRegexIsAnErrorNamingTheRoute) {
  config::RouteConfiguration rc;
  rc.virtual_hosts = {MakeVhost("vh", {"*"},
                                {MakeRoute(PathMatchKind::kPrefix, "/", "ok"),
                                 MakeRoute(PathMatchKind::kSafeRegex, "(unclosed", "bad")})};
  auto t = RouteTable::Create(rc);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("virtual_hosts[0].routes[1]"), std::string::npos)
      << t.status();
}

TEST(RouteTableTest, RetryPoliciesAreCompiledWithTheTable) {
  HeaderMatcher bad;
  bad.name = "x-retry";
  bad.kind = HeaderMatcher::Kind::kString;
  bad.string_match.kind = StringMatchKind::kSafeRegex;
  bad.string_match.value = "(unclosed";
  config::RetryPolicy policy;
  policy.retry_on = {"5xx", "retriable-status-codes"};
  // The route's policy: compiled (retry_on as bits), or the table fails naming route and field.
  auto route = MakeRoute(PathMatchKind::kPrefix, "/", "r");
  route.route.retry_policy = policy;
  auto t = MakeTable({MakeVhost("vh", {"*"}, {route})});
  ASSERT_NE(t, nullptr);
  auto m = t->Find(Request("svc", "/"), 0);
  ASSERT_NE(m.route, nullptr);
  ASSERT_NE(m.route->retry_policy(), nullptr);
  EXPECT_EQ(m.route->retry_policy()->retry_on(), k5xx | kRetriableStatusCodes);
  EXPECT_EQ(&m.route->retry_policy()->config(), &*m.route->config().route.retry_policy);
  EXPECT_EQ(m.vhost->retry_policy, std::nullopt);
  policy.retriable_headers = {bad};
  route.route.retry_policy = policy;
  config::RouteConfiguration rc;
  rc.virtual_hosts = {
      MakeVhost("vh", {"*"}, {MakeRoute(PathMatchKind::kPrefix, "/", "ok"), route})};
  auto failed = RouteTable::Create(rc);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find(
                "virtual_hosts[0].routes[1]: retry_policy.retriable_headers[0]: invalid regex"),
            std::string::npos)
      << failed.status();
  // The virtual host's policy likewise.
  auto vh = MakeVhost("vh", {"*"}, {MakeRoute(PathMatchKind::kPrefix, "/", "ok")});
  vh.retry_policy = policy;
  rc.virtual_hosts = {vh};
  failed = RouteTable::Create(rc);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("virtual_hosts[0]: retry_policy.retriable_headers[0]"),
            std::string::npos)
      << failed.status();
  policy.retriable_headers.clear();
  vh.retry_policy = policy;
  t = MakeTable({vh});
  ASSERT_NE(t, nullptr);
  m = t->Find(Request("svc", "/"), 0);
  ASSERT_TRUE(m.vhost->retry_policy.has_value());
  EXPECT_EQ(m.vhost->retry_policy->retry_on(), k5xx | kRetriableStatusCodes);
  EXPECT_EQ(m.route->retry_policy(), nullptr);
}

// A large vhost gets a route index; its answers must equal a linear first-match scan over the
// same routes for every request, whatever mix of matchers the routes use.
TEST(RouteTableTest, RouteIndexAgreesWithLinearScan) {
  std::mt19937 rng(12345);
  const std::vector<std::string> segments = {"",   "/",  "/a",     "/a/",  "/a/b",    "/ab",
                                             "/b", "/B", "/a/b/c", "/api", "/api/v1", "/api/v1/x"};
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  for (int round = 0; round < 30; ++round) {
    std::vector<config::Route> routes;
    const int n = static_cast<int>(RouteIndex::kMinRoutes) + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      const PathMatchKind kind = static_cast<PathMatchKind>(rng() % 4);
      std::string value = pick(segments);
      if (kind == PathMatchKind::kSafeRegex) value = value + ".*";
      if (kind != PathMatchKind::kPrefix && value.empty()) value = "/";
      config::Route r = MakeRoute(kind, value, "r" + std::to_string(i));
      r.match.case_sensitive = rng() % 5 != 0;
      if (rng() % 3 == 0) {
        r.match.headers.push_back(StringHeader("x-v", StringMatchKind::kExact, "1"));
      }
      routes.push_back(std::move(r));
    }
    config::RouteConfiguration rc;
    rc.virtual_hosts = {MakeVhost("vh", {"*"}, routes)};
    auto table = RouteTable::Create(rc);
    ASSERT_TRUE(table.ok()) << table.status();
    const CompiledVirtualHost* vh = (*table)->FindVirtualHost("h");
    ASSERT_NE(vh, nullptr);
    ASSERT_NE(vh->index, nullptr) << "a vhost of " << n << " routes is indexed";
    for (int q = 0; q < 200; ++q) {
      std::string path = pick(segments) + pick(segments);
      if (path.empty()) path = "/";
      if (rng() % 4 == 0) path += "?k=v";
      http::RequestHeaders req = Request("h", path);
      if (rng() % 2 == 0) req.headers.Add("x-v", "1");
      std::string_view p = req.path;
      std::string_view query;
      if (size_t at = p.find('?'); at != std::string_view::npos) {
        query = p.substr(at + 1);
        p = p.substr(0, at);
      }
      const CompiledRoute* linear = nullptr;
      for (const auto& r : vh->routes) {
        if (r->Matches(req, p, query, 0)) {
          linear = r.get();
          break;
        }
      }
      EXPECT_EQ((*table)->Find(req, 0).route, linear) << "path " << path << " round " << round;
    }
  }
}

TEST(RouteTableTest, SmallVhostsAreNotIndexed) {
  std::vector<config::Route> routes;
  for (size_t i = 0; i + 1 < RouteIndex::kMinRoutes; ++i) {
    routes.push_back(MakeRoute(PathMatchKind::kPrefix, "/" + std::to_string(i), "r"));
  }
  auto t = MakeTable({MakeVhost("vh", {"*"}, routes)});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->FindVirtualHost("h")->index, nullptr);
}

}  // namespace
}  // namespace pilotfish::router
