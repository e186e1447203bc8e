// Tests for http_connection_manager and tcp_proxy translation.
#include "xds/translate/hcm_translate.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/xds/translate/test_util.h"
#include "xds/translate/tcp_proxy_translate.h"

namespace pilotfish::xds {
namespace {

using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using testing::ParseText;

constexpr char kRouter[] =
    " "
    R"txt(http_filters {
           name: "envoy.filters.http.router"
           typed_config {
             [type.googleapis.com/envoy.extensions.filters.http.router.v3.Router] {}
           }
         })txt";
constexpr char kRoutes[] =
    " "
    R"txt(route_config {
                                  name: "r"
                                  virtual_hosts {
                                    name: "v"
                                    domains: "*"
                                    routes {
                                      match { prefix: "/" }
                                      route { cluster: "c" }
                                    }
                                  }
                                })txt";

absl::StatusOr<config::HttpConnectionManager> Translate(
    const std::string& text, std::vector<std::string>* warnings = nullptr) {
  return TranslateHcm(ParseText<HttpConnectionManager>(text), "hcm", warnings);
}

std::string Error(const std::string& text) {
  auto result = Translate(text);
  EXPECT_FALSE(result.ok()) << text;
  return std::string(result.status().message());
}

TEST(HcmTranslateTest, MinimalWithDefaults) {
  auto hcm = Translate(std::string(R"txt(stat_prefix: "ingress_http" codec_type: AUTO)txt") +
                       kRoutes + kRouter);
  ASSERT_TRUE(hcm.ok()) << hcm.status();
  EXPECT_EQ(hcm->stat_prefix, "ingress_http");
  ASSERT_NE(hcm->route_config, nullptr);
  EXPECT_EQ(hcm->route_config->name, "r");
  EXPECT_TRUE(hcm->rds_route_config_name.empty());
  ASSERT_EQ(hcm->http_filters.size(), 1u);
  EXPECT_EQ(hcm->http_filters[0].name, "envoy.filters.http.router");
  EXPECT_EQ(hcm->http_filters[0].type_url,
            "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router");
  EXPECT_EQ(hcm->stream_idle_timeout.count(), 300000);
  EXPECT_EQ(hcm->drain_timeout.count(), 5000);
  EXPECT_TRUE(hcm->accept_http_10);
  EXPECT_TRUE(hcm->generate_request_id);
  EXPECT_EQ(hcm->server_name, "envoy");
  EXPECT_FALSE(hcm->suppress_envoy_headers);
}

TEST(HcmTranslateTest, AllTranslatedFields) {
  std::vector<std::string> warnings;
  auto hcm = Translate(
      R"txt(
        stat_prefix: "s"
        codec_type: HTTP1
        rds {
          route_config_name: "8080"
          config_source { ads {} initial_fetch_timeout { nanos: 500000000 } }
        }
        http_filters {
          name: "envoy.filters.http.fault"
          typed_config {
            [type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault] {}
          }
        }
        http_filters {
          name: "envoy.filters.http.router"
          typed_config {
            [type.googleapis.com/envoy.extensions.filters.http.router.v3.Router] {
              suppress_envoy_headers: true
            }
          }
        }
        stream_idle_timeout { seconds: 0 }
        request_timeout { seconds: 30 }
        request_headers_timeout { seconds: 5 }
        drain_timeout { seconds: 45 }
        common_http_protocol_options {
          idle_timeout { seconds: 60 }
          max_requests_per_connection { value: 9 }
        }
        http_protocol_options { accept_http_10: true default_host_for_http_10: "legacy.local" }
        use_remote_address { value: true }
        xff_num_trusted_hops: 2
        skip_xff_append: true
        generate_request_id { value: false }
        preserve_external_request_id: true
        server_name: "pilotfish"
        server_header_transformation: PASS_THROUGH
        normalize_path { value: true }
        merge_slashes: true
        path_with_escaped_slashes_action: KEEP_UNCHANGED
        max_request_headers_kb { value: 96 }
        upgrade_configs { upgrade_type: "websocket" }
        upgrade_configs {
          upgrade_type: "h2c"
          enabled { value: false }
        }
        tracing {}
        access_log {
          name: "envoy.access_loggers.file"
          typed_config {
            [type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog] {
              path: "/dev/stdout"
              log_format { text_format_source { inline_string: "%RESPONSE_CODE%\n" } }
            }
          }
        }
        access_log {
          name: "json"
          typed_config {
            [type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog] {
              path: "/tmp/a.log"
              log_format {
                json_format {
                  fields {
                    key: "status"
                    value { string_value: "%RESPONSE_CODE%" }
                  }
                  fields {
                    key: "authority"
                    value { string_value: "%REQ(:AUTHORITY)%" }
                  }
                }
              }
            }
          }
        }
        access_log {
          name: "legacy"
          typed_config {
            [type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog] {
              path: "/tmp/b"
              format: "%PROTOCOL%"
            }
          }
        }
        access_log { name: "envoy.access_loggers.stderr" })txt",
      &warnings);
  ASSERT_TRUE(hcm.ok()) << hcm.status();
  EXPECT_EQ(hcm->rds_route_config_name, "8080");
  EXPECT_EQ(hcm->rds_initial_fetch_timeout, config::Millis(500));
  EXPECT_EQ(hcm->route_config, nullptr);
  ASSERT_EQ(hcm->http_filters.size(), 2u);
  EXPECT_EQ(hcm->http_filters[0].type_url,
            "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault");
  // The fault filter's typed_config is kept for its factory; the router's went into the HCM.
  const auto* fault = dynamic_cast<const config::AnyConfig*>(hcm->http_filters[0].config.get());
  ASSERT_NE(fault, nullptr);
  EXPECT_EQ(fault->type_url,
            "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault");
  EXPECT_EQ(hcm->http_filters[1].config, nullptr);
  EXPECT_TRUE(hcm->suppress_envoy_headers);
  EXPECT_EQ(hcm->stream_idle_timeout.count(), 0);
  EXPECT_EQ(hcm->request_timeout.count(), 30000);
  EXPECT_EQ(hcm->request_headers_timeout.count(), 5000);
  EXPECT_EQ(hcm->drain_timeout.count(), 45000);
  EXPECT_EQ(hcm->idle_timeout->count(), 60000);
  EXPECT_EQ(hcm->max_requests_per_connection, 9u);
  EXPECT_TRUE(hcm->accept_http_10);
  EXPECT_EQ(hcm->default_host_for_http_10, "legacy.local");
  EXPECT_TRUE(hcm->use_remote_address);
  EXPECT_EQ(hcm->xff_num_trusted_hops, 2u);
  EXPECT_TRUE(hcm->skip_xff_append);
  EXPECT_FALSE(hcm->generate_request_id);
  EXPECT_TRUE(hcm->preserve_external_request_id);
  EXPECT_EQ(hcm->server_name, "pilotfish");
  EXPECT_EQ(hcm->server_header, config::HttpConnectionManager::ServerHeader::kPassThrough);
  EXPECT_TRUE(hcm->normalize_path);
  EXPECT_TRUE(hcm->merge_slashes);
  EXPECT_EQ(hcm->max_request_headers_kb, 96u);
  EXPECT_EQ(hcm->upgrade_types, std::vector<std::string>{"websocket"});
  EXPECT_EQ(hcm->disabled_upgrade_types, std::vector<std::string>{"h2c"});
  ASSERT_EQ(hcm->access_logs.size(), 4u);
  EXPECT_EQ(hcm->access_logs[0].path, "/dev/stdout");
  EXPECT_EQ(hcm->access_logs[0].text_format, "%RESPONSE_CODE%\n");
  EXPECT_EQ(hcm->access_logs[1].json_format,
            (std::vector<std::pair<std::string, std::string>>{{"authority", "%REQ(:AUTHORITY)%"},
                                                              {"status", "%RESPONSE_CODE%"}}));
  EXPECT_EQ(hcm->access_logs[2].text_format, "%PROTOCOL%");
  EXPECT_EQ(hcm->access_logs[3].path, "/dev/stderr");
  EXPECT_TRUE(hcm->access_logs[3].text_format.empty());
  ASSERT_EQ(warnings.size(), 3u);
  auto warned = [&warnings](std::string_view prefix) {
    return std::count_if(warnings.begin(), warnings.end(),
                         [prefix](const std::string& w) { return w.rfind(prefix, 0) == 0; });
  };
  EXPECT_EQ(warned("hcm.tracing: ignored by pilotfish"), 1);
  EXPECT_EQ(warned("hcm.xff_num_trusted_hops: not applied"), 1);
  EXPECT_EQ(warned("hcm.request_headers_timeout: not applied"), 1);
}

TEST(HcmTranslateTest, RouterByNameAndHttp10Default) {
  auto hcm = Translate(std::string(R"txt(stat_prefix: "s"
                       http_filters { name: "envoy.filters.http.router" }
                       http_protocol_options { allow_absolute_url { value: true } })txt") +
                       kRoutes);
  ASSERT_TRUE(hcm.ok()) << hcm.status();
  // An explicit http_protocol_options message without accept_http_10 is Envoy's false.
  EXPECT_FALSE(hcm->accept_http_10);
}

TEST(HcmTranslateTest, StdoutLoggerDecodedFromTheWire) {
  // StdoutAccessLog { SubstitutionFormatString log_format = 1; } built by hand, so the test
  // holds whether or not stream.proto is compiled in.
  envoy::config::core::v3::SubstitutionFormatString format;
  format.mutable_text_format_source()->set_inline_string("%DURATION%\n");
  std::string payload;
  payload.push_back(static_cast<char>((1 << 3) | 2));
  payload.push_back(static_cast<char>(format.ByteSizeLong()));
  payload += format.SerializeAsString();
  HttpConnectionManager proto = ParseText<HttpConnectionManager>(
      std::string(R"txt(stat_prefix: "s")txt") + kRoutes + kRouter);
  auto* log = proto.add_access_log();
  log->set_name("envoy.access_loggers.stdout");
  log->mutable_typed_config()->set_type_url(
      "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog");
  log->mutable_typed_config()->set_value(payload);
  auto hcm = TranslateHcm(proto, "hcm", nullptr);
  ASSERT_TRUE(hcm.ok()) << hcm.status();
  ASSERT_EQ(hcm->access_logs.size(), 1u);
  EXPECT_EQ(hcm->access_logs[0].path, "/dev/stdout");
  EXPECT_EQ(hcm->access_logs[0].text_format, "%DURATION%\n");
}

TEST(HcmTranslateTest, Errors) {
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s")txt") + kRoutes),
            "hcm.http_filters: the router filter (envoy.filters.http.router) is required as the "
            "last HTTP filter");
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s"
                                   http_filters {
                                     name: "envoy.filters.http.cors"
                                     typed_config {
                                       [type.googleapis.com/google.protobuf.Struct] {}
                                     }
                                   })txt") +
                  kRoutes + kRouter),
            "hcm.http_filters[0] (envoy.filters.http.cors): filter type "
            "type.googleapis.com/google.protobuf.Struct is not supported by pilotfish");
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s")txt") + kRoutes + kRouter +
                  R"txt(http_filters { name: "envoy.filters.http.fault" })txt"),
            "hcm.http_filters[1] (envoy.filters.http.fault): the router filter must be the last "
            "HTTP filter");
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s"
                                   http_filters { name: "custom" })txt") +
                  kRoutes),
            "hcm.http_filters[0] (custom): typed_config is required");
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s" codec_type: HTTP2)txt") + kRoutes + kRouter),
            "hcm.codec_type: not supported by pilotfish (HTTP2; only AUTO and HTTP1 (HTTP/1.x))");
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s")txt") + kRouter),
            "hcm: one of route_config or rds is required");
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s"
                                   scoped_routes {})txt") +
                  kRouter),
            "hcm.scoped_routes: not supported by pilotfish");
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s"
                                   access_log {
                                     name: "grpc"
                                     typed_config {
                                       [type.googleapis.com/google.protobuf.Empty] {}
                                     }
                                   })txt") +
                  kRoutes + kRouter),
            "hcm.access_log[0]: access logger type type.googleapis.com/google.protobuf.Empty is "
            "not supported by pilotfish (only file, stdout and stderr loggers)");
  EXPECT_EQ(
      Error(std::string(R"txt(stat_prefix: "s" forward_client_cert_details: APPEND_FORWARD)txt") +
            kRoutes + kRouter),
      "hcm.forward_client_cert_details: not supported by pilotfish");
  // upgrade_configs: types compare without case; empty, repeated and unknown fields are errors.
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s"
                                   upgrade_configs { upgrade_type: "websocket" }
                                   upgrade_configs { upgrade_type: "WebSocket" })txt") +
                  kRoutes + kRouter),
            "hcm.upgrade_configs[1]: duplicate upgrade websocket");
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s" upgrade_configs {})txt") + kRoutes + kRouter),
            "hcm.upgrade_configs[0].upgrade_type: must not be empty");
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s"
                                   upgrade_configs {
                                     upgrade_type: "websocket"
                                     filters { name: "x" }
                                   })txt") +
                  kRoutes + kRouter),
            "hcm.upgrade_configs[0].filters: not supported by pilotfish");
  // Errors inside the inline route table carry the full path.
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "s"
                                   route_config {
                                     virtual_hosts {
                                       name: "v"
                                       domains: "*"
                                       routes {
                                         match { prefix: "/" }
                                         route {
                                           cluster: "c"
                                           hedge_policy {}
                                         }
                                       }
                                     }
                                   })txt") +
                  kRouter),
            "hcm.route_config.virtual_hosts[0].routes[0].route.hedge_policy: not supported by "
            "pilotfish");
  EXPECT_EQ(Error(std::string(R"txt(stat_prefix: "")txt") + kRoutes + kRouter),
            "hcm.stat_prefix: must not be empty");
  // An optional unsupported filter is skipped with a warning, as Envoy does.
  std::vector<std::string> warnings;
  auto optional = Translate(std::string(R"txt(stat_prefix: "s"
                                             http_filters {
                                               name: "x"
                                               is_optional: true
                                               typed_config {
                                                 [type.googleapis.com/google.protobuf.Empty] {}
                                               }
                                             })txt") +
                                kRoutes + kRouter,
                            &warnings);
  ASSERT_TRUE(optional.ok()) << optional.status();
  EXPECT_EQ(optional->http_filters.size(), 1u);
  ASSERT_EQ(warnings.size(), 1u);
}

TEST(TcpProxyTranslateTest, FieldsAndErrors) {
  using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
  auto tcp = TranslateTcpProxy(ParseText<TcpProxy>(R"txt(
                                 stat_prefix: "tcp"
                                 cluster: "backend"
                                 idle_timeout { seconds: 0 }
                                 max_connect_attempts { value: 3 }
                                 access_log { name: "envoy.access_loggers.stdout" })txt"),
                               "t", nullptr);
  ASSERT_TRUE(tcp.ok()) << tcp.status();
  EXPECT_EQ(tcp->stat_prefix, "tcp");
  EXPECT_EQ(tcp->cluster, "backend");
  EXPECT_FALSE(tcp->idle_timeout.has_value());  // 0s disables
  EXPECT_EQ(tcp->max_connect_attempts_count, 3u);
  ASSERT_EQ(tcp->access_logs.size(), 1u);

  auto weighted = TranslateTcpProxy(ParseText<TcpProxy>(R"txt(
                                      stat_prefix: "tcp"
                                      weighted_clusters {
                                        clusters { name: "a" weight: 1 }
                                        clusters { name: "b" weight: 3 }
                                      })txt"),
                                    "t", nullptr);
  ASSERT_TRUE(weighted.ok()) << weighted.status();
  ASSERT_EQ(weighted->weighted_clusters.size(), 2u);
  EXPECT_EQ(weighted->weighted_clusters[1].weight, 3u);
  EXPECT_EQ(weighted->idle_timeout->count(), 3600000);

  auto bad = TranslateTcpProxy(ParseText<TcpProxy>(R"txt(stat_prefix: "t"
                                                        cluster: "c"
                                                        tunneling_config { hostname: "h" })txt"),
                               "t", nullptr);
  EXPECT_EQ(bad.status().message(), "t.tunneling_config: not supported by pilotfish");
  auto none = TranslateTcpProxy(ParseText<TcpProxy>(R"txt(stat_prefix: "t")txt"), "t", nullptr);
  EXPECT_EQ(none.status().message(), "t: one of cluster or weighted_clusters is required");
}

}  // namespace
}  // namespace pilotfish::xds
