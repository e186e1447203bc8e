// Tests for Cluster and ClusterLoadAssignment translation.
#include "xds/translate/cluster_translate.h"

#include <gtest/gtest.h>

#include "tests/unit/xds/translate/test_util.h"

namespace pilotfish::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using testing::ParseText;

absl::StatusOr<config::Cluster> Translate(const std::string& text,
                                          std::vector<std::string>* warnings = nullptr) {
  return TranslateCluster(ParseText<Cluster>(text), "clusters[0]", warnings);
}

std::string Error(const std::string& text) {
  auto result = Translate(text);
  EXPECT_FALSE(result.ok()) << text;
  return std::string(result.status().message());
}

constexpr char kEndpoint[] =
    " "
    R"txt(load_assignment {
           endpoints {
             lb_endpoints {
               endpoint { address { socket_address { address: "10.0.0.1" port_value: 80 } } }
             }
           }
         })txt";

TEST(ClusterTranslateTest, DefaultsAreEnvoys) {
  auto c = Translate(std::string(R"txt(name: "c")txt") + kEndpoint);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->type, config::ClusterType::kStatic);
  EXPECT_EQ(c->lb_policy, config::LbPolicy::kRoundRobin);
  EXPECT_EQ(c->connect_timeout.count(), 5000);
  EXPECT_EQ(c->circuit_breakers.max_connections, 1024u);
  EXPECT_EQ(c->circuit_breakers.max_retries, 3u);
  EXPECT_FALSE(c->outlier_detection.has_value());
  EXPECT_EQ(c->healthy_panic_threshold_percent, 50u);
  EXPECT_EQ(c->idle_timeout->count(), 3600 * 1000);
  EXPECT_FALSE(c->http2);
  ASSERT_EQ(c->endpoints.size(), 1u);
  EXPECT_EQ(c->endpoints[0].address.address, "10.0.0.1");
  EXPECT_EQ(c->endpoints[0].address.port, 80u);
  EXPECT_EQ(c->endpoints[0].load_balancing_weight, 1u);
  EXPECT_EQ(c->endpoints[0].health, config::EndpointHealth::kHealthy);
}

TEST(ClusterTranslateTest, StrictDnsWithLocalitiesWeightsAndHealth) {
  auto c = Translate(R"txt(
    name: "svc"
    alt_stat_name: "svc;"
    type: STRICT_DNS
    lb_policy: LEAST_REQUEST
    connect_timeout { nanos: 250000000 }
    dns_refresh_rate { seconds: 10 }
    dns_lookup_family: V4_ONLY
    respect_dns_ttl: true
    per_connection_buffer_limit_bytes { value: 32768 }
    least_request_lb_config { choice_count { value: 3 } }
    common_lb_config { healthy_panic_threshold { value: 0 } }
    load_assignment {
      cluster_name: "svc"
      endpoints {
        locality { region: "r" zone: "z" sub_zone: "s" }
        priority: 1
        lb_endpoints {
          endpoint {
            address { socket_address { address: "backend.local" port_value: 8080 } }
            hostname: "b1"
          }
          load_balancing_weight { value: 7 }
          health_status: UNHEALTHY
        }
        lb_endpoints {
          endpoint { address { socket_address { address: "10.1.1.1" port_value: 9 } } }
          health_status: DEGRADED
        }
      }
    })txt");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c->alt_stat_name, "svc;");
  EXPECT_EQ(c->type, config::ClusterType::kStrictDns);
  EXPECT_EQ(c->lb_policy, config::LbPolicy::kLeastRequest);
  EXPECT_EQ(c->connect_timeout.count(), 250);
  EXPECT_EQ(c->dns_refresh_rate.count(), 10000);
  EXPECT_EQ(c->dns_lookup_family, config::DnsLookupFamily::kV4Only);
  EXPECT_TRUE(c->respect_dns_ttl);
  EXPECT_EQ(c->per_connection_buffer_limit_bytes, 32768u);
  EXPECT_EQ(c->least_request_choice_count, 3u);
  EXPECT_EQ(c->healthy_panic_threshold_percent, 0u);
  ASSERT_EQ(c->endpoints.size(), 2u);
  EXPECT_EQ(c->endpoints[0].address.address, "backend.local");
  EXPECT_EQ(c->endpoints[0].hostname, "b1");
  EXPECT_EQ(c->endpoints[0].load_balancing_weight, 7u);
  EXPECT_EQ(c->endpoints[0].priority, 1u);
  EXPECT_EQ(c->endpoints[0].region, "r");
  EXPECT_EQ(c->endpoints[0].zone, "z");
  EXPECT_EQ(c->endpoints[0].sub_zone, "s");
  EXPECT_EQ(c->endpoints[0].health, config::EndpointHealth::kUnhealthy);
  EXPECT_EQ(c->endpoints[1].health, config::EndpointHealth::kDegraded);
}

TEST(ClusterTranslateTest, PipeEndpointAndOriginalDst) {
  auto pipe = Translate(
      R"txt(name: "xds-grpc"
           load_assignment {
             endpoints {
               lb_endpoints { endpoint { address { pipe { path: "./etc/istio/proxy/XDS" } } } }
             }
           })txt");
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  EXPECT_EQ(pipe->endpoints[0].address.pipe_path, "./etc/istio/proxy/XDS");

  auto od = Translate(
      R"txt(name: "PassthroughCluster"
           type: ORIGINAL_DST
           lb_policy: CLUSTER_PROVIDED
           original_dst_lb_config { use_http_header: true }
           upstream_bind_config { source_address { address: "127.0.0.6" port_value: 0 } })txt");
  ASSERT_TRUE(od.ok()) << od.status();
  EXPECT_EQ(od->type, config::ClusterType::kOriginalDst);
  EXPECT_EQ(od->lb_policy, config::LbPolicy::kClusterProvided);
  EXPECT_TRUE(od->use_http_header);
  ASSERT_TRUE(od->upstream_bind_address.has_value());
  EXPECT_EQ(od->upstream_bind_address->address, "127.0.0.6");

  EXPECT_EQ(Error(R"txt(name: "x" type: ORIGINAL_DST)txt"),
            "clusters[0].lb_policy: CLUSTER_PROVIDED is required with, and only valid for, type "
            "ORIGINAL_DST");
  EXPECT_EQ(Error(R"txt(name: "x" lb_policy: CLUSTER_PROVIDED)txt"),
            "clusters[0].lb_policy: CLUSTER_PROVIDED is required with, and only valid for, type "
            "ORIGINAL_DST");
}

TEST(ClusterTranslateTest, EdsServiceNameDefaultsToClusterName) {
  auto c = Translate(R"txt(name: "outbound|80||a"
                          type: EDS
                          eds_cluster_config { eds_config { ads {} } })txt");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->type, config::ClusterType::kEds);
  EXPECT_EQ(c->eds_service_name, "outbound|80||a");
  EXPECT_EQ(c->eds_initial_fetch_timeout, config::Millis(15000));  // Envoy's default
  auto forever = Translate(R"txt(name: "a" type: EDS
                                eds_cluster_config { eds_config { ads {}
                                  initial_fetch_timeout { seconds: 0 } } })txt");
  ASSERT_TRUE(forever.ok()) << forever.status();
  EXPECT_EQ(forever->eds_initial_fetch_timeout, config::Millis(0));
  auto named = Translate(R"txt(name: "a"
                              type: EDS
                              eds_cluster_config { service_name: "svc" })txt");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->eds_service_name, "svc");
}

TEST(ClusterTranslateTest, CircuitBreakersAndOutlierDetection) {
  auto c = Translate(R"txt(
    name: "c"
    circuit_breakers {
      thresholds {
        max_connections { value: 4294967295 }
        max_pending_requests { value: 10 }
        max_requests { value: 20 }
        max_retries { value: 0 }
        track_remaining: true
        retry_budget {}
      }
      thresholds {
        priority: HIGH
        max_connections { value: 100000 }
        retry_budget {
          budget_percent { value: 35 }
          min_retry_concurrency { value: 7 }
        }
      }
    }
    outlier_detection {
      consecutive_5xx { value: 3 }
      interval { seconds: 1 }
      base_ejection_time { seconds: 2 }
      max_ejection_percent { value: 100 }
      enforcing_success_rate { value: 0 }
      consecutive_gateway_failure { value: 4 }
      enforcing_consecutive_gateway_failure { value: 100 }
      split_external_local_origin_errors: true
      consecutive_local_origin_failure { value: 6 }
      failure_percentage_threshold { value: 90 }
      max_ejection_time { seconds: 60 }
      always_eject_one_host { value: true }
    })txt");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->circuit_breakers.max_connections, 4294967295u);
  EXPECT_EQ(c->circuit_breakers.max_pending_requests, 10u);
  EXPECT_EQ(c->circuit_breakers.max_requests, 20u);
  EXPECT_EQ(c->circuit_breakers.max_retries, 0u);
  EXPECT_TRUE(c->circuit_breakers.track_remaining);
  ASSERT_TRUE(c->circuit_breakers.retry_budget_percent.has_value());
  EXPECT_EQ(*c->circuit_breakers.retry_budget_percent, 20.0);
  EXPECT_EQ(c->circuit_breakers.retry_budget_min_concurrency, 3u);
  EXPECT_EQ(c->circuit_breakers_high->max_connections, 100000u);
  EXPECT_EQ(c->circuit_breakers_high->max_requests, 1024u);
  EXPECT_EQ(*c->circuit_breakers_high->retry_budget_percent, 35.0);
  EXPECT_EQ(c->circuit_breakers_high->retry_budget_min_concurrency, 7u);
  ASSERT_TRUE(c->outlier_detection.has_value());
  const config::OutlierDetection& od = *c->outlier_detection;
  EXPECT_EQ(od.consecutive_5xx, 3u);
  EXPECT_EQ(od.interval.count(), 1000);
  EXPECT_EQ(od.base_ejection_time.count(), 2000);
  EXPECT_EQ(od.max_ejection_percent, 100u);
  EXPECT_EQ(od.enforcing_consecutive_5xx, 100u);  // default kept
  EXPECT_EQ(od.enforcing_success_rate, 0u);
  EXPECT_EQ(od.consecutive_gateway_failure, 4u);
  EXPECT_EQ(od.enforcing_consecutive_gateway_failure, 100u);
  EXPECT_TRUE(od.split_external_local_origin_errors);
  EXPECT_EQ(od.consecutive_local_origin_failure, 6u);
  EXPECT_EQ(od.failure_percentage_threshold, 90u);
  EXPECT_EQ(od.max_ejection_time.count(), 60000);
  EXPECT_EQ(od.success_rate_stdev_factor, 1900u);
  EXPECT_TRUE(od.always_eject_one_host);

  auto defaults = Translate(R"txt(name: "c"
                                 outlier_detection {})txt");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->outlier_detection->consecutive_5xx, 5u);
  EXPECT_EQ(defaults->outlier_detection->enforcing_consecutive_gateway_failure, 0u);
  EXPECT_EQ(defaults->outlier_detection->interval.count(), 10000);
  EXPECT_FALSE(defaults->outlier_detection->always_eject_one_host);
  EXPECT_EQ(defaults->outlier_detection->enforcing_success_rate, 100u);
  EXPECT_EQ(defaults->outlier_detection->enforcing_failure_percentage, 0u);
  EXPECT_EQ(defaults->outlier_detection->failure_percentage_threshold, 85u);
  EXPECT_EQ(defaults->outlier_detection->failure_percentage_request_volume, 50u);
  EXPECT_EQ(defaults->outlier_detection->success_rate_request_volume, 100u);
  // Envoy: an unset max_ejection_time is 300 s or base_ejection_time, whichever is larger.
  auto long_base = Translate(R"txt(name: "c"
                                  outlier_detection { base_ejection_time { seconds: 400 } })txt");
  ASSERT_TRUE(long_base.ok()) << long_base.status();
  EXPECT_EQ(long_base->outlier_detection->max_ejection_time.count(), 400000);

  EXPECT_EQ(Error(R"txt(name: "c"
                       outlier_detection { max_ejection_percent { value: 101 } })txt"),
            "clusters[0].outlier_detection.max_ejection_percent: must be <= 100");
  EXPECT_EQ(Error(R"txt(name: "c"
                       outlier_detection { base_ejection_time { seconds: 400 }
                                           max_ejection_time { seconds: 300 } })txt"),
            "clusters[0].outlier_detection: base_ejection_time (400000ms) is larger than "
            "max_ejection_time (300000ms)");
  EXPECT_EQ(Error(R"txt(name: "c"
                       circuit_breakers { thresholds { max_connection_pools { value: 1 } } })txt"),
            "clusters[0].circuit_breakers.thresholds[0].max_connection_pools: not supported by "
            "pilotfish");
}

TEST(ClusterTranslateTest, HashingLoadBalancers) {
  auto ring = Translate(R"txt(name: "c"
                             lb_policy: RING_HASH
                             ring_hash_lb_config { minimum_ring_size { value: 2048 } })txt");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->lb_policy, config::LbPolicy::kRingHash);
  EXPECT_EQ(ring->ring_hash_minimum_ring_size, 2048u);
  auto maglev = Translate(R"txt(name: "c"
                               lb_policy: MAGLEV
                               maglev_lb_config { table_size { value: 131 } })txt");
  ASSERT_TRUE(maglev.ok()) << maglev.status();
  EXPECT_EQ(maglev->maglev_table_size, 131u);
  EXPECT_EQ(Error(R"txt(name: "c"
                       lb_policy: MAGLEV
                       maglev_lb_config { table_size { value: 100 } })txt"),
            "clusters[0].maglev_lb_config.table_size: 100 must be a prime number <= 5000011");
  EXPECT_EQ(Error(R"txt(name: "c"
                       lb_policy: RING_HASH
                       ring_hash_lb_config { hash_function: MURMUR_HASH_2 })txt"),
            "clusters[0].ring_hash_lb_config.hash_function: not supported by pilotfish (only "
            "XX_HASH)");
  auto random = Translate(R"txt(name: "c" lb_policy: RANDOM)txt");
  ASSERT_TRUE(random.ok());
  EXPECT_EQ(random->lb_policy, config::LbPolicy::kRandom);
}

TEST(ClusterTranslateTest, ProtocolOptions) {
  std::vector<std::string> warnings;
  auto c = Translate(R"txt(
                  name: "c"
                  typed_extension_protocol_options {
                    key: "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
                    value {
                      [type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions] {
                        common_http_protocol_options {
                          idle_timeout { seconds: 30 }
                          max_requests_per_connection { value: 100 }
                          max_connection_duration { seconds: 600 }
                        }
                        explicit_http_config { http2_protocol_options {} }
                      }
                    }
                  })txt",
                     &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->idle_timeout->count(), 30000);
  EXPECT_EQ(c->max_requests_per_connection, 100u);
  EXPECT_EQ(c->max_connection_duration->count(), 600000);
  EXPECT_TRUE(c->http2);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "clusters[0].typed_extension_protocol_options[\"envoy.extensions.upstreams.http.v3."
            "HttpProtocolOptions\"].explicit_http_config.http2_protocol_options: upstream HTTP/2 "
            "is not supported yet; HTTP/1.1 will be used");

  // Istio's xds-grpc cluster: the deprecated max_requests_per_connection next to typed options.
  warnings.clear();
  auto istio = Translate(R"txt(
                  name: "xds-grpc"
                  max_requests_per_connection { value: 1 }
                  typed_extension_protocol_options {
                    key: "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
                    value {
                      [type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions] {
                        explicit_http_config { http2_protocol_options {} }
                      }
                    }
                  })txt",
                         &warnings);
  ASSERT_TRUE(istio.ok()) << istio.status();
  EXPECT_EQ(istio->max_requests_per_connection, 1u);
  EXPECT_TRUE(istio->http2);

  warnings.clear();
  auto deprecated = Translate(R"txt(name: "c"
                                   http2_protocol_options {}
                                   common_http_protocol_options { idle_timeout {} })txt",
                              &warnings);
  ASSERT_TRUE(deprecated.ok()) << deprecated.status();
  EXPECT_TRUE(deprecated->http2);
  EXPECT_FALSE(deprecated->idle_timeout.has_value());  // 0s disables
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "clusters[0].http2_protocol_options: upstream HTTP/2 is not supported "
            "yet; HTTP/1.1 will be used");

  EXPECT_EQ(Error(R"txt(name: "c"
                       typed_extension_protocol_options {
                         key: "envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions"
                         value {
                           [type.googleapis.com/google.protobuf.Empty] {}
                         }
                       })txt"),
            "clusters[0].typed_extension_protocol_options[\"envoy.extensions.upstreams.tcp.v3."
            "TcpProtocolOptions\"]: not supported by pilotfish (protocol options "
            "envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions)");
  EXPECT_EQ(Error(R"txt(name: "c"
                 typed_extension_protocol_options {
                   key: "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
                   value {
                     [type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions] {
                       explicit_http_config { http3_protocol_options {} }
                     }
                   }
                 })txt"),
            "clusters[0].typed_extension_protocol_options[\"envoy.extensions.upstreams.http.v3."
            "HttpProtocolOptions\"].explicit_http_config.http3_protocol_options: not supported by "
            "pilotfish");
}

TEST(ClusterTranslateTest, UnsupportedFeaturesAreClearErrors) {
  EXPECT_EQ(Error(R"txt(name: "c"
                       transport_socket {
                         name: "envoy.transport_sockets.tls"
                         typed_config {
                           [type.googleapis.com/google.protobuf.Empty] {}
                         }
                       })txt"),
            "clusters[0].transport_socket: transport_socket envoy.transport_sockets.tls: TLS is "
            "not supported yet");
  EXPECT_EQ(Error(R"txt(name: "c"
                       health_checks { timeout { seconds: 1 } })txt"),
            "clusters[0].health_checks: active health checking is not supported yet");
  EXPECT_EQ(Error(R"txt(name: "c"
                       cluster_type {
                         name: "envoy.clusters.aggregate"
                         typed_config {
                           [type.googleapis.com/google.protobuf.Empty] {}
                         }
                       })txt"),
            "clusters[0].cluster_type: not supported by pilotfish (cluster type extension "
            "envoy.clusters.aggregate type.googleapis.com/google.protobuf.Empty)");
  EXPECT_EQ(Error(R"txt(name: "c"
                       lb_subset_config {})txt"),
            "clusters[0].lb_subset_config: not supported by pilotfish");
  EXPECT_EQ(Error(R"txt(name: "c"
                       common_lb_config { locality_weighted_lb_config {} })txt"),
            "clusters[0].common_lb_config.locality_weighted_lb_config: not supported by pilotfish");
  EXPECT_EQ(Error(
                R"txt(name: "c"
               load_assignment {
                 endpoints {
                   lb_endpoints {
                     endpoint { address { socket_address { address: "not-an-ip" port_value: 1 } } }
                   }
                 }
               })txt"),
            "clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_"
            "address.address: 'not-an-ip' is not an IP address");
  EXPECT_EQ(Error(R"txt(name: "c" type: LOGICAL_DNS)txt"),
            "clusters[0].load_assignment: LOGICAL_DNS clusters must have exactly one endpoint");
  EXPECT_EQ(Error(R"txt(name: "")txt"), "clusters[0].name: must not be empty");
  EXPECT_EQ(Error(R"txt(name: "c"
                       connect_timeout {})txt"),
            "clusters[0].connect_timeout: duration must be greater than 0");
}

TEST(ClusterTranslateTest, ApplyClusterLoadAssignmentIsAllOrNothing) {
  std::vector<config::Endpoint> endpoints(1);
  endpoints[0].address.address = "1.1.1.1";
  auto good = ParseText<envoy::config::endpoint::v3::ClusterLoadAssignment>(R"txt(
    cluster_name: "a"
    endpoints {
      lb_endpoints { endpoint { address { socket_address { address: "10.0.0.2" port_value: 1 } } } }
      lb_endpoints { endpoint { address { socket_address { address: "10.0.0.3" port_value: 1 } } } }
    })txt");
  ASSERT_TRUE(ApplyClusterLoadAssignment(good, &endpoints).ok());
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[1].address.address, "10.0.0.3");
  auto bad = ParseText<envoy::config::endpoint::v3::ClusterLoadAssignment>(R"txt(
    cluster_name: "a"
    endpoints {
      lb_endpoints { endpoint { address { socket_address { address: "10.0.0.9" port_value: 1 } } } }
      lb_endpoints { endpoint { address { socket_address { address: "dns.name" port_value: 1 } } } }
    })txt");
  absl::Status s = ApplyClusterLoadAssignment(bad, &endpoints);
  EXPECT_EQ(s.message(),
            "ClusterLoadAssignment a.endpoints[0].lb_endpoints[1].endpoint.address.socket_address."
            "address: 'dns.name' is not an IP address");
  EXPECT_EQ(endpoints.size(), 2u);  // untouched
}

}  // namespace
}  // namespace pilotfish::xds
