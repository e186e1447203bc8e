// Tests for Bootstrap translation: node, admin, static resources, cross-checks, warnings.
#include "xds/translate/bootstrap_translate.h"

#include <gtest/gtest.h>

#include "tests/unit/xds/translate/test_util.h"

namespace pilotfish::xds {
namespace {

using envoy::config::bootstrap::v3::Bootstrap;
using testing::ParseText;
using testing::TranslatingLookup;

absl::StatusOr<config::Bootstrap> Translate(const std::string& text,
                                            std::vector<std::string>* warnings = nullptr) {
  std::vector<std::string> local;
  if (warnings == nullptr) warnings = &local;
  return TranslateBootstrap(ParseText<Bootstrap>(text), TranslatingLookup(warnings), warnings);
}

std::string Error(const std::string& text) {
  auto result = Translate(text);
  EXPECT_FALSE(result.ok()) << text;
  return std::string(result.status().message());
}

std::string HttpListener(const std::string& name, int port, const std::string& cluster) {
  return R"txt(listeners { name: ")txt" + name +
         R"txt(" address { socket_address { address: "0.0.0.0" port_value: )txt" +
         std::to_string(port) + R"txt( } } filter_chains { filters { name: "hcm" typed_config {
           [type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager] {
             stat_prefix: "s" http_filters { name: "envoy.filters.http.router" }
             route_config { virtual_hosts { name: "v" domains: "*" routes { match { prefix: "/" }
               route { cluster: ")txt" +
         cluster + R"txt(" } } } } } } } } })txt";
}

constexpr char kCluster[] =
    " "
    R"txt(clusters {
           name: "backend"
           load_assignment {
             endpoints {
               lb_endpoints {
                 endpoint { address { socket_address { address: "127.0.0.1" port_value: 8080 } } }
               }
             }
           }
         })txt";

TEST(BootstrapTranslateTest, FullStaticBootstrap) {
  std::vector<std::string> warnings;
  auto b = Translate(R"txt(
                           node {
                             id: "sidecar~10.1.2.3~pod.ns~ns.svc.cluster.local"
                             cluster: "reviews"
                             locality { region: "eu" zone: "eu-1" }
                             metadata {
                               fields {
                                 key: "ISTIO_VERSION"
                                 value { string_value: "1.22" }
                               }
                             }
                           }
                           admin {
                             access_log_path: "/dev/null"
                             address { socket_address { address: "127.0.0.1" port_value: 15000 } }
                           }
                           stats_flush_interval { seconds: 5 }
                           overload_manager {}
                           stats_config {}
                           static_resources {)txt" +
                         HttpListener("l0", 10000, "backend") + kCluster + " }",
                     &warnings);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->node_id, "sidecar~10.1.2.3~pod.ns~ns.svc.cluster.local");
  EXPECT_EQ(b->node_cluster, "reviews");
  EXPECT_EQ(b->node_region, "eu");
  EXPECT_EQ(b->node_zone, "eu-1");
  EXPECT_EQ(b->node_metadata_json, R"({"ISTIO_VERSION":"1.22"})");
  ASSERT_TRUE(b->admin_address.has_value());
  EXPECT_EQ(b->admin_address->port, 15000u);
  EXPECT_EQ(b->admin_access_log_path, "/dev/null");
  EXPECT_EQ(b->stats_flush_interval.count(), 5000);
  ASSERT_EQ(b->listeners.size(), 1u);
  EXPECT_EQ(b->listeners[0].name, "l0");
  ASSERT_EQ(b->clusters.size(), 1u);
  EXPECT_FALSE(b->has_dynamic_resources);
  // Ignored top-level settings are named in warnings (in field-number order).
  EXPECT_EQ(warnings, (std::vector<std::string>{"overload_manager: ignored by pilotfish"}));
}

TEST(BootstrapTranslateTest, UnnamedListenersGetAddressNames) {
  auto b = Translate("static_resources { " + HttpListener("", 8080, "backend") + kCluster + " }");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->listeners[0].name, "0.0.0.0_8080");
}

TEST(BootstrapTranslateTest, UnknownClusterIsAnErrorWithoutCds) {
  EXPECT_EQ(Error("static_resources { " + HttpListener("l0", 1, "nope") + kCluster + " }"),
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config."
            "virtual_hosts[0].routes[0].route.cluster: unknown cluster 'nope' (not in "
            "static_resources.clusters, and there is no dynamic_resources.cds_config)");
  // With CDS the cluster may come later.
  std::vector<std::string> warnings;
  auto b = Translate(R"txt(dynamic_resources {
                            cds_config { ads {} initial_fetch_timeout { seconds: 1 } }
                            lds_config { ads {} initial_fetch_timeout {} }
                            ads_config {
                              api_type: DELTA_GRPC
                              grpc_services { envoy_grpc { cluster_name: "backend" } }
                              set_node_on_first_message_only: true
                            }
                          }
                          static_resources {)txt" +
                         HttpListener("l0", 1, "nope") + kCluster + " }",
                     &warnings);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->has_dynamic_resources);
  EXPECT_TRUE(b->dynamic_resources.has_cds_config);
  EXPECT_TRUE(b->dynamic_resources.cds_via_ads);
  EXPECT_TRUE(b->dynamic_resources.lds_via_ads);
  EXPECT_EQ(b->dynamic_resources.ads_cluster, "backend");
  EXPECT_TRUE(b->dynamic_resources.ads_delta);
  EXPECT_TRUE(b->dynamic_resources.set_node_on_first_message_only);
  EXPECT_EQ(b->dynamic_resources.cds_initial_fetch_timeout, config::Millis(1000));
  EXPECT_EQ(b->dynamic_resources.lds_initial_fetch_timeout, config::Millis(0));  // wait forever
  EXPECT_TRUE(warnings.empty()) << warnings[0];
}

TEST(BootstrapTranslateTest, InitialFetchTimeoutDefaultsToFifteenSecondsAndMustBeValid) {
  const std::string ads =
      R"txt(ads_config { api_type: GRPC grpc_services { envoy_grpc { cluster_name: "backend" } } })txt";
  auto b = Translate("dynamic_resources { cds_config { ads {} } lds_config { ads {} } " + ads +
                     " } static_resources {" + kCluster + " }");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->dynamic_resources.cds_initial_fetch_timeout, config::Millis(15000));
  EXPECT_EQ(b->dynamic_resources.lds_initial_fetch_timeout, config::Millis(15000));
  EXPECT_NE(Error("dynamic_resources { cds_config { ads {} initial_fetch_timeout { seconds: -1 } }"
                  " " +
                  ads + " }")
                .find("dynamic_resources.cds_config.initial_fetch_timeout"),
            std::string::npos);
}

TEST(BootstrapTranslateTest, TcpProxyAndMirrorReferencesAreChecked) {
  EXPECT_EQ(Error(std::string(R"txt(static_resources { listeners {
                               name: "t"
                               address { socket_address { address: "0.0.0.0" port_value: 9 } }
                               filter_chains {
                                 filters {
                                   name: "tcp"
                                   typed_config {
                                     [type.googleapis.com/envoy.extensions.filters.network.tcp_proxy
                                          .v3.TcpProxy] { stat_prefix: "t" cluster: "missing" }
                                   }
                                 }
                               }
                             })txt") +
                  kCluster + " }"),
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster: "
            "unknown cluster 'missing' (not in static_resources.clusters, and there is no "
            "dynamic_resources.cds_config)");
}

TEST(BootstrapTranslateTest, ValidateClustersFalseSkipsTheCheck) {
  std::string listener = HttpListener("l0", 1, "later");
  listener.replace(listener.find("route_config {"), 14,
                   "route_config { validate_clusters { value: false } ");
  auto b = Translate("static_resources { " + listener + kCluster + " }");
  EXPECT_TRUE(b.ok()) << b.status();
}

TEST(BootstrapTranslateTest, DuplicatesAndConflicts) {
  EXPECT_EQ(Error(std::string("static_resources { ") + kCluster + kCluster + " }"),
            "static_resources.clusters[1].name: duplicate cluster name 'backend' (also "
            "static_resources.clusters[0])");
  EXPECT_EQ(Error("static_resources { " + HttpListener("a", 1, "backend") +
                  HttpListener("a", 2, "backend") + kCluster + " }"),
            "static_resources.listeners[1].name: duplicate listener name 'a' (also "
            "static_resources.listeners[0])");
  EXPECT_EQ(Error("static_resources { " + HttpListener("a", 1, "backend") +
                  HttpListener("b", 1, "backend") + kCluster + " }"),
            "static_resources.listeners[1].address: address 0.0.0.0_1 is already used by "
            "static_resources.listeners[0]");
}

TEST(BootstrapTranslateTest, MisroutingSettingsAreErrors) {
  EXPECT_EQ(Error(R"txt(header_prefix: "x-custom")txt"),
            "header_prefix: not supported by pilotfish");
  EXPECT_EQ(Error(R"txt(cluster_manager {
                         upstream_bind_config { source_address { address: "1.2.3.4" } }
                       })txt"),
            "cluster_manager.upstream_bind_config: not supported by pilotfish");
  EXPECT_EQ(Error(R"txt(static_resources { secrets { name: "s" } })txt"),
            "static_resources.secrets: not supported by pilotfish");
  EXPECT_EQ(Error(R"txt(dynamic_resources {
                         ads_config {
                           api_type: GRPC
                           grpc_services { envoy_grpc { cluster_name: "xds" } }
                         }
                       })txt"),
            "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: unknown "
            "cluster 'xds' (the xDS cluster must be a static cluster)");
  // Errors inside a cluster keep the path from the root.
  EXPECT_EQ(Error(R"txt(static_resources {
                         clusters {
                           name: "c"
                           health_checks { timeout { seconds: 1 } }
                         }
                       })txt"),
            "static_resources.clusters[0].health_checks: active health checking is not supported "
            "yet");
}

TEST(BootstrapTranslateTest, FilesystemXdsPaths) {
  std::vector<std::string> warnings;
  auto b = Translate(R"txt(dynamic_resources {
                            cds_config { path_config_source { path: "/var/lib/envoy/cds.yaml" } }
                            lds_config { path: "/var/lib/envoy/lds.yaml" }
                          })txt",
                     &warnings);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(b->dynamic_resources.cds_path, "/var/lib/envoy/cds.yaml");
  EXPECT_EQ(b->dynamic_resources.lds_path, "/var/lib/envoy/lds.yaml");
  EXPECT_FALSE(b->dynamic_resources.cds_via_ads);
}

TEST(BootstrapTranslateTest, NonAggregatedGrpcSources) {
  std::vector<std::string> warnings;
  auto b = Translate(R"txt(dynamic_resources {
                            cds_config { api_config_source {
                              api_type: GRPC
                              grpc_services { envoy_grpc { cluster_name: "xds" } }
                              set_node_on_first_message_only: true } }
                            lds_config { api_config_source {
                              api_type: DELTA_GRPC
                              grpc_services { envoy_grpc { cluster_name: "xds" } } } }
                          }
                          static_resources { clusters { name: "xds" } })txt",
                     &warnings);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->dynamic_resources.cds_grpc_cluster, "xds");
  EXPECT_FALSE(b->dynamic_resources.cds_grpc_delta);
  EXPECT_EQ(b->dynamic_resources.lds_grpc_cluster, "xds");
  EXPECT_TRUE(b->dynamic_resources.lds_grpc_delta);
  EXPECT_TRUE(b->dynamic_resources.set_node_on_first_message_only);
  // REST is not fetched: a warning names it.
  warnings.clear();
  b = Translate(R"txt(dynamic_resources { cds_config { api_config_source {
                        api_type: REST cluster_names: "xds" } } })txt",
                &warnings);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("dynamic_resources.cds_config.api_config_source.api_type: REST", 0),
            0u)
      << warnings[0];
}

}  // namespace
}  // namespace pilotfish::xds
