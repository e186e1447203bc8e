// Tests for RouteConfiguration translation: matches, actions, header mutations, errors.
#include "xds/translate/route_translate.h"

#include <gtest/gtest.h>

#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "tests/unit/xds/translate/test_util.h"

namespace pilotfish::xds {
namespace {

using envoy::config::route::v3::RouteConfiguration;
using testing::ParseText;

absl::StatusOr<config::RouteConfiguration> Translate(const std::string& text,
                                                     std::vector<std::string>* warnings = nullptr) {
  return TranslateRouteConfiguration(ParseText<RouteConfiguration>(text), "route_config", warnings);
}

std::string Error(const std::string& text) {
  auto result = Translate(text);
  EXPECT_FALSE(result.ok()) << text;
  return std::string(result.status().message());
}

TEST(RouteTranslateTest, VirtualHostsAndPathMatches) {
  auto rc = Translate(R"txt(
    name: "local"
    virtual_hosts {
      name: "vh"
      domains: "Example.COM"
      domains: "*.foo"
      routes {
        name: "p"
        match {
          prefix: "/api"
          case_sensitive { value: false }
        }
        route { cluster: "a" }
      }
      routes {
        match { path: "/exact" }
        route { cluster: "b" }
      }
      routes {
        match { safe_regex { regex: "/r/[0-9]+" } }
        route { cluster: "c" }
      }
      routes {
        match { path_separated_prefix: "/sep" }
        route { cluster: "d" }
      }
    })txt");
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->name, "local");
  ASSERT_EQ(rc->virtual_hosts.size(), 1u);
  const config::VirtualHost& vh = rc->virtual_hosts[0];
  EXPECT_EQ(vh.domains, (std::vector<std::string>{"example.com", "*.foo"}));
  ASSERT_EQ(vh.routes.size(), 4u);
  EXPECT_EQ(vh.routes[0].name, "p");
  EXPECT_EQ(vh.routes[0].match.kind, config::PathMatchKind::kPrefix);
  EXPECT_EQ(vh.routes[0].match.value, "/api");
  EXPECT_FALSE(vh.routes[0].match.case_sensitive);
  EXPECT_EQ(vh.routes[1].match.kind, config::PathMatchKind::kPath);
  EXPECT_TRUE(vh.routes[1].match.case_sensitive);
  EXPECT_EQ(vh.routes[2].match.kind, config::PathMatchKind::kSafeRegex);
  EXPECT_EQ(vh.routes[2].match.value, "/r/[0-9]+");
  EXPECT_EQ(vh.routes[3].match.kind, config::PathMatchKind::kPathSeparatedPrefix);
  EXPECT_EQ(vh.routes[3].route.cluster, "d");
}

TEST(RouteTranslateTest, HeaderAndQueryMatchers) {
  auto rc = Translate(R"txt(
    virtual_hosts {
      name: "vh"
      domains: "*"
      routes {
        match {
          prefix: "/"
          headers {
            name: "X-Exact"
            string_match { exact: "v" ignore_case: true }
          }
          headers { name: "legacy" exact_match: "e" }
          headers { name: "p" prefix_match: "pre" }
          headers { name: "s" suffix_match: "suf" }
          headers { name: "c" contains_match: "mid" }
          headers {
            name: "re"
            safe_regex_match { regex: "a.*" }
          }
          headers { name: "present" present_match: true }
          headers { name: "absent" present_match: false }
          headers {
            name: "range"
            range_match { start: 1 end: 10 }
          }
          headers {
            name: "inv"
            string_match { exact: "x" }
            invert_match: true
            treat_missing_header_as_empty: true
          }
          headers { name: "nothing" }
          query_parameters {
            name: "q"
            string_match { prefix: "a" }
          }
          query_parameters { name: "flag" present_match: true }
          runtime_fraction {
            default_value { numerator: 25 denominator: HUNDRED }
            runtime_key: "k"
          }
          grpc {}
        }
        route { cluster: "a" }
      }
    })txt");
  ASSERT_TRUE(rc.ok()) << rc.status();
  const config::RouteMatch& m = rc->virtual_hosts[0].routes[0].match;
  ASSERT_EQ(m.headers.size(), 12u);
  EXPECT_EQ(m.headers[0].name, "x-exact");
  EXPECT_EQ(m.headers[0].kind, config::HeaderMatcher::Kind::kString);
  EXPECT_EQ(m.headers[0].string_match.kind, config::StringMatchKind::kExact);
  EXPECT_TRUE(m.headers[0].string_match.ignore_case);
  EXPECT_EQ(m.headers[1].string_match.kind, config::StringMatchKind::kExact);
  EXPECT_EQ(m.headers[1].string_match.value, "e");
  EXPECT_EQ(m.headers[2].string_match.kind, config::StringMatchKind::kPrefix);
  EXPECT_EQ(m.headers[3].string_match.kind, config::StringMatchKind::kSuffix);
  EXPECT_EQ(m.headers[4].string_match.kind, config::StringMatchKind::kContains);
  EXPECT_EQ(m.headers[5].string_match.kind, config::StringMatchKind::kSafeRegex);
  EXPECT_EQ(m.headers[5].string_match.value, "a.*");
  EXPECT_EQ(m.headers[6].kind, config::HeaderMatcher::Kind::kPresent);
  EXPECT_TRUE(m.headers[6].present_match);
  EXPECT_EQ(m.headers[7].kind, config::HeaderMatcher::Kind::kPresent);
  EXPECT_FALSE(m.headers[7].present_match);
  EXPECT_EQ(m.headers[8].kind, config::HeaderMatcher::Kind::kRange);
  EXPECT_EQ(m.headers[8].range_start, 1);
  EXPECT_EQ(m.headers[8].range_end, 10);
  EXPECT_TRUE(m.headers[9].invert_match);
  EXPECT_TRUE(m.headers[9].treat_missing_header_as_empty);
  EXPECT_EQ(m.headers[10].kind, config::HeaderMatcher::Kind::kPresent);  // no specifier
  EXPECT_TRUE(m.headers[10].present_match);
  EXPECT_EQ(m.headers[11].name, "content-type");  // grpc {}
  EXPECT_EQ(m.headers[11].string_match.kind, config::StringMatchKind::kSafeRegex);
  ASSERT_EQ(m.query_parameters->size(), 2u);
  ASSERT_TRUE((*m.query_parameters)[0].string_match.has_value());
  EXPECT_EQ((*m.query_parameters)[0].string_match->kind, config::StringMatchKind::kPrefix);
  EXPECT_TRUE((*m.query_parameters)[1].present_match);
  ASSERT_TRUE(m.runtime_fraction_per_million.has_value());
  EXPECT_EQ(*m.runtime_fraction_per_million, 250000u);
}

TEST(RouteTranslateTest, RouteActionFields) {
  std::vector<std::string> warnings;
  auto rc = Translate(
      R"txt(
        virtual_hosts {
          name: "vh"
          domains: "*"
          routes {
            match { prefix: "/" }
            route {
              cluster: "a"
              timeout { seconds: 2 nanos: 500000000 }
              idle_timeout { seconds: 0 }
              prefix_rewrite: "/v2"
              host_rewrite_literal: "upstream.local"
              retry_policy {
                retry_on: "5xx, gateway-error,retriable-status-codes,unavailable"
                num_retries { value: 3 }
                per_try_timeout { seconds: 1 }
                retry_host_predicate {
                  name: "envoy.retry_host_predicates.previous_hosts"
                  typed_config {
                    type_url: "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
                  }
                }
                host_selection_retry_max_attempts: 5
                retriable_status_codes: 503
                retry_back_off {
                  base_interval { nanos: 100000000 }
                  max_interval { seconds: 1 }
                }
                retriable_headers { name: "x-retry" present_match: true }
              }
              hash_policy {
                header { header_name: "X-User" }
                terminal: true
              }
              hash_policy {
                cookie {
                  name: "sess"
                  ttl { seconds: 10 }
                  path: "/"
                }
              }
              hash_policy { connection_properties { source_ip: true } }
              hash_policy { query_parameter { name: "u" } }
              hash_policy { filter_state { key: "k" } }
              request_mirror_policies {
                cluster: "m"
                runtime_fraction { default_value { numerator: 10 denominator: HUNDRED } }
              }
              request_mirror_policies { cluster_header: "X-Mirror" }
              upgrade_configs { upgrade_type: "WebSocket" }
              upgrade_configs {
                upgrade_type: "CONNECT"
                enabled { value: false }
              }
              max_grpc_timeout { seconds: 0 }
            }
          }
        })txt",
      &warnings);
  ASSERT_TRUE(rc.ok()) << rc.status();
  const config::RouteAction& a = rc->virtual_hosts[0].routes[0].route;
  EXPECT_EQ(a.cluster, "a");
  ASSERT_TRUE(a.timeout.has_value());
  EXPECT_EQ(a.timeout->count(), 2500);
  ASSERT_TRUE(a.idle_timeout.has_value());
  EXPECT_EQ(a.idle_timeout->count(), 0);
  EXPECT_EQ(*a.prefix_rewrite, "/v2");
  EXPECT_EQ(*a.host_rewrite_literal, "upstream.local");
  ASSERT_TRUE(a.retry_policy.has_value());
  const config::RetryPolicy& r = *a.retry_policy;
  EXPECT_EQ(r.retry_on, (std::vector<std::string>{"5xx", "gateway-error", "retriable-status-codes",
                                                  "unavailable"}));
  EXPECT_EQ(r.num_retries, 3u);
  EXPECT_EQ(r.per_try_timeout->count(), 1000);
  EXPECT_TRUE(r.previous_hosts_predicate);
  EXPECT_EQ(r.host_selection_retry_max_attempts, 5);
  EXPECT_EQ(r.retriable_status_codes, std::vector<uint32_t>{503});
  EXPECT_EQ(r.base_interval.count(), 100);
  EXPECT_EQ(r.max_interval->count(), 1000);
  ASSERT_EQ(r.retriable_headers.size(), 1u);
  ASSERT_EQ(a.hash_policy->size(), 5u);
  EXPECT_EQ((*a.hash_policy)[0].kind, config::HashPolicy::Kind::kHeader);
  EXPECT_EQ((*a.hash_policy)[0].name, "x-user");
  EXPECT_TRUE((*a.hash_policy)[0].terminal);
  EXPECT_EQ((*a.hash_policy)[1].kind, config::HashPolicy::Kind::kCookie);
  EXPECT_EQ((*a.hash_policy)[1].cookie_ttl->count(), 10000);
  EXPECT_EQ((*a.hash_policy)[1].cookie_path, "/");
  EXPECT_EQ((*a.hash_policy)[2].kind, config::HashPolicy::Kind::kSourceIp);
  EXPECT_EQ((*a.hash_policy)[3].kind, config::HashPolicy::Kind::kQueryParameter);
  EXPECT_EQ((*a.hash_policy)[4].kind, config::HashPolicy::Kind::kFilterState);
  ASSERT_EQ(a.request_mirror_policies->size(), 2u);
  EXPECT_EQ((*a.request_mirror_policies)[0].cluster, "m");
  EXPECT_EQ((*a.request_mirror_policies)[0].per_million, 100000u);
  EXPECT_EQ((*a.request_mirror_policies)[1].cluster_header, "x-mirror");
  EXPECT_EQ((*a.request_mirror_policies)[1].per_million, 1000000u);
  EXPECT_EQ(a.upgrade_types, std::vector<std::string>{"websocket"});
  EXPECT_EQ(a.disabled_upgrade_types, std::vector<std::string>{"connect"});
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind(
                "route_config.virtual_hosts[0].routes[0].route.max_grpc_timeout: ignored", 0),
            0u)
      << warnings[0];
}

TEST(RouteTranslateTest, TimeoutUnsetStaysUnset) {
  auto rc = Translate(R"txt(virtual_hosts {
                             name: "v"
                             domains: "*"
                             routes {
                               match { prefix: "/" }
                               route { cluster: "a" }
                             }
                             routes {
                               match { prefix: "/z" }
                               route {
                                 cluster: "a"
                                 timeout {}
                               }
                             }
                           })txt");
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_FALSE(rc->virtual_hosts[0].routes[0].route.timeout.has_value());
  ASSERT_TRUE(rc->virtual_hosts[0].routes[1].route.timeout.has_value());
  EXPECT_EQ(rc->virtual_hosts[0].routes[1].route.timeout->count(), 0);  // 0s: disabled
}

TEST(RouteTranslateTest, WeightedClustersAndHeaderMutationsAtAllLevels) {
  auto rc = Translate(R"txt(
    request_headers_to_add { header { key: "X-Rc" value: "1" } }
    response_headers_to_remove: "X-Secret"
    internal_only_headers: "X-Internal"
    ignore_port_in_host_matching: true
    virtual_hosts {
      name: "v"
      domains: "*"
      request_headers_to_add {
        header { key: "x-vh" value: "2" }
        append_action: OVERWRITE_IF_EXISTS_OR_ADD
      }
      include_request_attempt_count: true
      include_attempt_count_in_response: true
      retry_policy { retry_on: "connect-failure" }
      routes {
        match { prefix: "/" }
        request_headers_to_add {
          header { key: "x-r" value: "3" }
          append { value: false }
        }
        request_headers_to_add {
          header { key: "x-keep" value: "" }
          keep_empty_value: true
          append_action: ADD_IF_ABSENT
        }
        response_headers_to_add {
          header { key: "x-resp" raw_value: "raw" }
          append_action: OVERWRITE_IF_EXISTS
        }
        route {
          weighted_clusters {
            clusters {
              name: "v1"
              weight { value: 80 }
              request_headers_to_add { header { key: "x-w" value: "v1" } }
            }
            clusters {
              name: "v2"
              weight { value: 20 }
              response_headers_to_remove: "x-gone"
            }
          }
        }
      }
    })txt");
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->headers.request_headers_to_add[0].key, "x-rc");
  EXPECT_EQ(rc->headers.response_headers_to_remove, std::vector<std::string>{"x-secret"});
  EXPECT_EQ(rc->internal_only_headers, std::vector<std::string>{"x-internal"});
  EXPECT_TRUE(rc->ignore_port_in_host_matching);
  const config::VirtualHost& vh = rc->virtual_hosts[0];
  EXPECT_EQ(vh.headers.request_headers_to_add[0].action,
            config::HeaderAppendAction::kOverwriteIfExistsOrAdd);
  EXPECT_TRUE(vh.include_request_attempt_count);
  EXPECT_TRUE(vh.include_attempt_count_in_response);
  ASSERT_TRUE(vh.retry_policy.has_value());
  EXPECT_EQ(vh.retry_policy->num_retries, 1u);  // Envoy's default
  const config::Route& route = vh.routes[0];
  ASSERT_EQ(route.headers->request_headers_to_add.size(), 2u);
  EXPECT_EQ(route.headers->request_headers_to_add[0].action,
            config::HeaderAppendAction::kOverwriteIfExistsOrAdd);  // legacy append: false
  EXPECT_EQ(route.headers->request_headers_to_add[1].action,
            config::HeaderAppendAction::kAddIfAbsent);
  EXPECT_TRUE(route.headers->request_headers_to_add[1].keep_empty_value);
  EXPECT_EQ(route.headers->response_headers_to_add[0].value, "raw");
  EXPECT_EQ(route.headers->response_headers_to_add[0].action,
            config::HeaderAppendAction::kOverwriteIfExists);
  ASSERT_EQ(route.route.weighted_clusters.size(), 2u);
  EXPECT_EQ(route.route.weighted_clusters[0].name, "v1");
  EXPECT_EQ(route.route.weighted_clusters[0].weight, 80u);
  EXPECT_EQ(route.route.weighted_clusters[0].headers.request_headers_to_add[0].value, "v1");
  EXPECT_EQ(route.route.weighted_clusters[1].headers.response_headers_to_remove,
            std::vector<std::string>{"x-gone"});
}

TEST(RouteTranslateTest, RedirectsAndDirectResponses) {
  auto rc = Translate(R"txt(virtual_hosts {
                             name: "v"
                             domains: "*"
                             routes {
                               match { prefix: "/a" }
                               redirect { https_redirect: true }
                             }
                             routes {
                               match { prefix: "/b" }
                               redirect {
                                 scheme_redirect: "HTTP"
                                 host_redirect: "h"
                                 port_redirect: 8080
                                 path_redirect: "/p"
                                 response_code: FOUND
                                 strip_query: true
                               }
                             }
                             routes {
                               match { prefix: "/c" }
                               redirect { prefix_rewrite: "/new" response_code: SEE_OTHER }
                             }
                             routes {
                               match { prefix: "/d" }
                               redirect { response_code: TEMPORARY_REDIRECT }
                             }
                             routes {
                               match { prefix: "/e" }
                               redirect { response_code: PERMANENT_REDIRECT }
                             }
                             routes {
                               match { prefix: "/f" }
                               direct_response {
                                 status: 200
                                 body { inline_string: "hi\n" }
                               }
                             }
                             routes {
                               match { prefix: "/g" }
                               direct_response {
                                 status: 503
                                 body { inline_bytes: "b" }
                               }
                             }
                             routes {
                               match { prefix: "/h" }
                               direct_response { status: 204 }
                             }
                           })txt");
  ASSERT_TRUE(rc.ok()) << rc.status();
  const auto& routes = rc->virtual_hosts[0].routes;
  EXPECT_EQ(routes[0].kind, config::Route::Kind::kRedirect);
  EXPECT_EQ(routes[0].redirect->scheme_redirect, "https");
  EXPECT_EQ(routes[0].redirect->response_code, 301u);
  EXPECT_EQ(routes[1].redirect->scheme_redirect, "http");
  EXPECT_EQ(routes[1].redirect->host_redirect, "h");
  EXPECT_EQ(routes[1].redirect->port_redirect, 8080u);
  EXPECT_EQ(routes[1].redirect->path_redirect, "/p");
  EXPECT_EQ(routes[1].redirect->response_code, 302u);
  EXPECT_TRUE(routes[1].redirect->strip_query);
  EXPECT_EQ(routes[2].redirect->prefix_rewrite, "/new");
  EXPECT_EQ(routes[2].redirect->response_code, 303u);
  EXPECT_EQ(routes[3].redirect->response_code, 307u);
  EXPECT_EQ(routes[4].redirect->response_code, 308u);
  EXPECT_EQ(routes[5].kind, config::Route::Kind::kDirectResponse);
  EXPECT_EQ(routes[5].direct_response->status, 200u);
  EXPECT_EQ(routes[5].direct_response->body, "hi\n");
  EXPECT_EQ(routes[6].direct_response->body, "b");
  EXPECT_FALSE(routes[7].direct_response->body.has_value());
}

TEST(RouteTranslateTest, MirrorPoliciesInheritFromVirtualHostAndRouteConfig) {
  auto rc = Translate(R"txt(
    request_mirror_policies { cluster: "rc-mirror" }
    virtual_hosts {
      name: "a"
      domains: "a"
      request_mirror_policies { cluster: "vh-mirror" }
      routes {
        match { prefix: "/" }
        route { cluster: "c" }
      }
      routes {
        match { prefix: "/own" }
        route {
          cluster: "c"
          request_mirror_policies { cluster: "own" }
        }
      }
    }
    virtual_hosts {
      name: "b"
      domains: "b"
      routes {
        match { prefix: "/" }
        route { cluster: "c" }
      }
    })txt");
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ((*rc->virtual_hosts[0].routes[0].route.request_mirror_policies)[0].cluster,
            "vh-mirror");
  EXPECT_EQ(rc->virtual_hosts[0].routes[1].route.request_mirror_policies->size(), 1u);
  EXPECT_EQ((*rc->virtual_hosts[0].routes[1].route.request_mirror_policies)[0].cluster, "own");
  EXPECT_EQ((*rc->virtual_hosts[1].routes[0].route.request_mirror_policies)[0].cluster,
            "rc-mirror");
}

TEST(RouteTranslateTest, TypedPerFilterConfigKeepsSortedNamesAndPayloads) {
  auto rc = Translate(R"txt(virtual_hosts {
                             name: "v"
                             domains: "*"
                             typed_per_filter_config {
                               key: "envoy.filters.http.fault"
                               value {
                                 [type.googleapis.com/google.protobuf.Empty] {}
                               }
                             }
                             routes {
                               match { prefix: "/" }
                               route { cluster: "a" }
                               typed_per_filter_config {
                                 key: "z.filter"
                                 value {
                                   [type.googleapis.com/google.protobuf.Empty] {}
                                 }
                               }
                               typed_per_filter_config {
                                 key: "a.filter"
                                 value {
                                   [type.googleapis.com/google.protobuf.Empty] {}
                                 }
                               }
                             }
                           })txt");
  ASSERT_TRUE(rc.ok()) << rc.status();
  ASSERT_EQ(rc->virtual_hosts[0].typed_per_filter_config.size(), 1u);
  const auto& per_route = rc->virtual_hosts[0].routes[0].typed_per_filter_config;
  ASSERT_EQ(per_route.size(), 2u);
  EXPECT_EQ(per_route[0].first, "a.filter");
  EXPECT_EQ(per_route[1].first, "z.filter");
  // The payload stays an Any (type URL + bytes) for the filter's own factory to parse.
  const auto* any = dynamic_cast<const config::AnyConfig*>(per_route[0].second.get());
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(any->type_url, "type.googleapis.com/google.protobuf.Empty");
  EXPECT_TRUE(any->value.empty());
}

TEST(RouteTranslateTest, TypedPerFilterConfigPayloadBytesAreKept) {
  auto rc = Translate(R"txt(virtual_hosts {
                             name: "v"
                             domains: "*"
                             routes {
                               match { prefix: "/" }
                               route { cluster: "a" }
                               typed_per_filter_config {
                                 key: "envoy.filters.http.fault"
                                 value {
                                   [type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault] {
                                     abort { http_status: 500 }
                                   }
                                 }
                               }
                             }
                           })txt");
  ASSERT_TRUE(rc.ok()) << rc.status();
  const auto& per_route = rc->virtual_hosts[0].routes[0].typed_per_filter_config;
  ASSERT_EQ(per_route.size(), 1u);
  const auto* any = dynamic_cast<const config::AnyConfig*>(per_route[0].second.get());
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(any->type_url, "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault");
  envoy::extensions::filters::http::fault::v3::HTTPFault fault;
  ASSERT_TRUE(fault.ParseFromString(any->value));
  EXPECT_EQ(fault.abort().http_status(), 500u);
}

TEST(RouteTranslateTest, IstioStyleRouteIsAccepted) {
  // As istiod sends it (from the configdump testdata): metadata, decorator, timeout 0s,
  // max_grpc_timeout, the default retry policy, validate_clusters false.
  std::vector<std::string> warnings;
  auto rc = Translate(
      R"txt(
        name: "http.8080"
        virtual_hosts {
          name: "httpbin.example.com:80"
          domains: "httpbin.example.com"
          routes {
            match {
              prefix: "/get"
              case_sensitive { value: true }
            }
            route {
              cluster: "outbound|8000||httpbin.default.svc.cluster.local"
              timeout {}
              retry_policy {
                retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
                num_retries { value: 2 }
                retry_host_predicate { name: "envoy.retry_host_predicates.previous_hosts" }
                host_selection_retry_max_attempts: 5
                retriable_status_codes: 503
              }
              max_grpc_timeout {}
            }
            metadata {
              filter_metadata {
                key: "istio"
                value {
                  fields {
                    key: "config"
                    value { string_value: "/apis/x" }
                  }
                }
              }
            }
            decorator { operation: "httpbin.default.svc.cluster.local:8000/get*" }
          }
          include_request_attempt_count: true
        }
        validate_clusters { value: false }
        max_direct_response_body_size_bytes { value: 1048576 }
        ignore_port_in_host_matching: true)txt",
      &warnings);
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->virtual_hosts[0].routes[0].route.retry_policy->num_retries, 2u);
  EXPECT_TRUE(rc->virtual_hosts[0].include_request_attempt_count);
}

TEST(RouteTranslateTest, UnsupportedFieldsNameTheirPath) {
  EXPECT_EQ(
      Error(R"txt(virtual_hosts {
                   name: "v"
                   domains: "*"
                   routes {
                     match { prefix: "/" }
                     route {
                       cluster: "a"
                       rate_limits { actions { generic_key { descriptor_value: "x" } } }
                     }
                   }
                   routes {
                     match { prefix: "/" }
                     route { cluster: "a" }
                   }
                 })txt"),
      "route_config.virtual_hosts[0].routes[0].route.rate_limits: not supported by pilotfish");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         rate_limits {}
                       })txt"),
            "route_config.virtual_hosts[0].rate_limits: not supported by pilotfish");
  EXPECT_EQ(Error(R"txt(vhds {})txt"), "route_config.vhds: not supported by pilotfish");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                          name: "v"
                          domains: "*"
                          routes {
                            match { prefix: "/" }
                            route {
                              cluster: "c"
                              upgrade_configs { upgrade_type: "WebSocket" }
                              upgrade_configs { upgrade_type: "websocket" }
                            }
                          }
                        })txt"),
            "route_config.virtual_hosts[0].routes[0].route.upgrade_configs[1]: duplicate upgrade "
            "websocket");
  EXPECT_EQ(Error(R"txt(virtual_hosts { name: "v" domains: "*" require_tls: ALL })txt"),
            "route_config.virtual_hosts[0].require_tls: not supported by pilotfish");
  EXPECT_EQ(
      Error(R"txt(virtual_hosts {
                   name: "v"
                   domains: "*"
                   routes {
                     match {
                       prefix: "/"
                       tls_context {}
                     }
                     route { cluster: "a" }
                   }
                 })txt"),
      "route_config.virtual_hosts[0].routes[0].match.tls_context: not supported by pilotfish");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match { connect_matcher {} }
                           route { cluster: "a" }
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].match.connect_matcher: not supported by "
            "pilotfish");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match { prefix: "/" }
                           route {
                             cluster: "a"
                             retry_policy { retry_priority { name: "p" } }
                           }
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].route.retry_policy.retry_priority: not "
            "supported by pilotfish");
}

TEST(RouteTranslateTest, ValidationErrors) {
  std::string e = Error(R"txt(virtual_hosts {
                               name: "v"
                               domains: "*"
                               routes {
                                 match { safe_regex { regex: "(unclosed" } }
                                 route { cluster: "a" }
                               }
                             })txt");
  EXPECT_EQ(e.rfind("route_config.virtual_hosts[0].routes[0].match.safe_regex.regex: invalid regex "
                    "'(unclosed': missing )",
                    0),
            0u)
      << e;
  e = Error(R"txt(virtual_hosts {
                   name: "v"
                   domains: "*"
                   routes {
                     match {
                       prefix: "/"
                       headers {
                         name: "h"
                         string_match { safe_regex { regex: "[" } }
                       }
                     }
                     route { cluster: "a" }
                   }
                 })txt");
  EXPECT_NE(e.find("headers[0].string_match.safe_regex.regex: invalid regex"), std::string::npos)
      << e;
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match { prefix: "/" }
                           route {
                             cluster: "a"
                             retry_policy { retry_on: "5xx,bogus" }
                           }
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].route.retry_policy.retry_on: unknown retry "
            "condition 'bogus'");
  EXPECT_EQ(
      Error(R"txt(virtual_hosts {
                   name: "v"
                   domains: "*"
                   routes {
                     match { prefix: "/" }
                     route {
                       cluster: "a"
                       regex_rewrite {
                         pattern { regex: "a" }
                         substitution: "\\1"
                       }
                     }
                   }
                 })txt")
          .rfind("route_config.virtual_hosts[0].routes[0].route.regex_rewrite.substitution:", 0),
      0u);
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match { prefix: "/" }
                           route {
                             cluster: "a"
                             retry_policy {
                               retry_host_predicate {
                                 name: "envoy.retry_host_predicates.omit_canary_hosts"
                               }
                             }
                           }
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].route.retry_policy.retry_host_predicate[0]: "
            "not supported by pilotfish (retry host predicate "
            "envoy.retry_host_predicates.omit_canary_hosts; only "
            "envoy.retry_host_predicates.previous_hosts)");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match { prefix: "/" }
                           route {
                             weighted_clusters {
                               clusters {
                                 name: "a"
                                 weight { value: 1 }
                               }
                               total_weight { value: 100 }
                             }
                           }
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].route.weighted_clusters.total_weight: is 100 "
            "but the cluster weights add up to 1");
  EXPECT_EQ(Error(R"txt(virtual_hosts { name: "a" domains: "x.com" }
                       virtual_hosts { name: "b" domains: "X.com" })txt"),
            "route_config.virtual_hosts[1].domains[0]: duplicate domain 'x.com' (also in "
            "route_config.virtual_hosts[0])");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match { prefix: "/" }
                           request_headers_to_add { header { key: ":path" value: "/x" } }
                           route { cluster: "a" }
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].request_headers_to_add[0].header.key: "
            "':'-prefixed or host headers may not be modified: :path");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match { prefix: "/" }
                           direct_response {
                             status: 200
                             body { filename: "/etc/passwd" }
                           }
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].direct_response.body.filename: not supported "
            "by pilotfish (only inline_string / inline_bytes)");
  EXPECT_EQ(Error(R"txt(max_direct_response_body_size_bytes { value: 2 }
                       virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match { prefix: "/" }
                           direct_response {
                             status: 200
                             body { inline_string: "abc" }
                           }
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].direct_response.body: body is 3 bytes, more "
            "than max_direct_response_body_size_bytes (2)");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes { match { prefix: "/" } }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0]: one of route, redirect or direct_response "
            "is required");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match {}
                           route { cluster: "a" }
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].match: one of prefix, path, safe_regex or "
            "path_separated_prefix is required");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match { prefix: "/" }
                           route {}
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].route: one of cluster, cluster_header or "
            "weighted_clusters is required");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match { prefix: "/" }
                           route {
                             cluster: "a"
                             timeout { seconds: -1 }
                           }
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].route.timeout: duration out of range (must "
            "be >= 0)");
  EXPECT_EQ(Error(R"txt(virtual_hosts {
                         name: "v"
                         domains: "*"
                         routes {
                           match { prefix: "/" }
                           route {
                             cluster: "a"
                             prefix_rewrite: "/x"
                             regex_rewrite {
                               pattern { regex: "a" }
                               substitution: "b"
                             }
                           }
                         }
                       })txt"),
            "route_config.virtual_hosts[0].routes[0].route: prefix_rewrite and regex_rewrite are "
            "mutually exclusive");
}

TEST(RouteTranslateTest, RegexRewriteIsKept) {
  auto rc = Translate(R"txt(virtual_hosts {
                             name: "v"
                             domains: "*"
                             routes {
                               match { prefix: "/" }
                               route {
                                 cluster: "a"
                                 regex_rewrite {
                                   pattern { regex: "^/svc/([^/]+)" }
                                   substitution: "/\\1"
                                 }
                               }
                             }
                           })txt");
  ASSERT_TRUE(rc.ok()) << rc.status();
  ASSERT_TRUE(rc->virtual_hosts[0].routes[0].route.regex_rewrite.has_value());
  EXPECT_EQ(rc->virtual_hosts[0].routes[0].route.regex_rewrite->first, "^/svc/([^/]+)");
  EXPECT_EQ(rc->virtual_hosts[0].routes[0].route.regex_rewrite->second, "/\\1");
}

}  // namespace
}  // namespace pilotfish::xds
