// Tests for Listener translation: address, listener filters, filter chains, terminal filters.
#include "xds/translate/listener_translate.h"

#include <gtest/gtest.h>

#include "tests/unit/xds/translate/test_util.h"

namespace pilotfish::xds {
namespace {

using envoy::config::listener::v3::Listener;
using testing::FakeFactory;
using testing::ParseText;
using testing::TranslatingLookup;

constexpr char kHcmFilter[] =
    " "
    R"txt(
  filters {
    name: "envoy.filters.network.http_connection_manager"
    typed_config {
      [type.googleapis.com/
       envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager] {
        stat_prefix: "in"
        route_config {
          virtual_hosts {
            name: "v"
            domains: "*"
            routes {
              match { prefix: "/" }
              route { cluster: "c" }
            }
          }
        }
        http_filters { name: "envoy.filters.http.router" }
      }
    }
  })txt";

constexpr char kTcpFilter[] =
    " "
    R"txt(
  filters {
    name: "envoy.filters.network.tcp_proxy"
    typed_config {
      [type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy] {
        stat_prefix: "t"
        cluster: "c"
      }
    }
  })txt";

absl::StatusOr<config::Listener> Translate(const std::string& text,
                                           std::vector<std::string>* warnings = nullptr) {
  return TranslateListener(ParseText<Listener>(text), TranslatingLookup(warnings), "listeners[0]",
                           warnings);
}

std::string Error(const std::string& text) {
  auto result = Translate(text);
  EXPECT_FALSE(result.ok()) << text;
  return std::string(result.status().message());
}

const std::string kAddress =
    " "
    R"txt(address { socket_address { address: "0.0.0.0" port_value: 15001 } })txt";

TEST(ListenerTranslateTest, IstioStyleOutboundListener) {
  auto l = Translate(
      R"txt(
        name: "virtualOutbound"
        address { socket_address { address: "0.0.0.0" port_value: 15001 } }
        use_original_dst { value: true }
        traffic_direction: OUTBOUND
        per_connection_buffer_limit_bytes { value: 65536 }
        drain_type: MODIFY_ONLY
        transparent { value: true }
        bind_to_port { value: true }
        listener_filters {
          name: "envoy.filters.listener.original_dst"
          typed_config {
            [type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst] {}
          }
        }
        filter_chains { name: "http"
                        filter_chain_match {
                          destination_port { value: 8080 }
                          prefix_ranges {
                            address_prefix: "10.0.0.0"
                            prefix_len { value: 8 }
                          }
                          source_prefix_ranges {
                            address_prefix: "::1"
                            prefix_len { value: 128 }
                          }
                          source_ports: 1234
                          server_names: "a.com"
                          transport_protocol: "raw_buffer"
                          application_protocols: "http/1.1"
                        }
      )txt" +
      std::string(kHcmFilter) + R"txt(
        }
        filter_chains { name: "tcp" filter_chain_match { destination_port { value: 3306 } } )txt" +
      kTcpFilter + R"txt(}
                        default_filter_chain { name: "passthrough" )txt" +
      kTcpFilter + R"txt(})txt");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->name, "virtualOutbound");
  EXPECT_EQ(l->address.address, "0.0.0.0");
  EXPECT_EQ(l->address.port, 15001u);
  EXPECT_TRUE(l->use_original_dst);
  EXPECT_TRUE(l->original_dst_filter);
  EXPECT_TRUE(l->transparent);
  EXPECT_TRUE(l->bind_to_port);
  EXPECT_EQ(l->traffic_direction, config::TrafficDirection::kOutbound);
  EXPECT_EQ(l->drain_type, config::DrainType::kModifyOnly);
  EXPECT_EQ(l->per_connection_buffer_limit_bytes, 65536u);
  ASSERT_EQ(l->filter_chains.size(), 2u);
  const config::FilterChain& http = l->filter_chains[0];
  EXPECT_EQ(http.name, "http");
  EXPECT_EQ(*http.match.destination_port, 8080u);
  ASSERT_EQ(http.match.prefix_ranges.size(), 1u);
  EXPECT_EQ(http.match.prefix_ranges[0].address_prefix, "10.0.0.0");
  EXPECT_EQ(http.match.prefix_ranges[0].prefix_len, 8u);
  EXPECT_EQ(http.match.source_prefix_ranges[0].prefix_len, 128u);
  EXPECT_EQ(http.match.source_ports, std::vector<uint32_t>{1234});
  EXPECT_EQ(http.match.server_names, std::vector<std::string>{"a.com"});
  EXPECT_EQ(http.match.transport_protocol, "raw_buffer");
  EXPECT_EQ(http.match.application_protocols, std::vector<std::string>{"http/1.1"});
  ASSERT_NE(http.terminal, nullptr);
  EXPECT_EQ(static_cast<const FakeFactory&>(*http.terminal).kind(), "hcm");
  EXPECT_EQ(static_cast<const FakeFactory&>(*l->filter_chains[1].terminal).kind(), "tcp_proxy");
  ASSERT_TRUE(l->default_filter_chain.has_value());
  EXPECT_EQ(l->default_filter_chain->name, "passthrough");
  EXPECT_NE(l->config_hash, 0u);
}

constexpr char kIstioStatsFilter[] =
    " "
    R"txt(
  filters {
    name: "istio.stats"
    typed_config {
      [type.googleapis.com/udpa.type.v1.TypedStruct] {
        type_url: "type.googleapis.com/stats.PluginConfig"
        value { fields { key: "reporter" value { string_value: "SERVER_GATEWAY" } } }
      }
    }
  })txt";

TEST(ListenerTranslateTest, IstioStatsBeforeTheTerminalFilterIsHandedToIt) {
  std::vector<std::string> seen;
  NetworkFilterLookup lookup = [&seen](const std::string& name, const google::protobuf::Any&,
                                       const std::string& path,
                                       const std::vector<NetworkFilterRef>& observers)
      -> absl::StatusOr<net::NetworkFilterFactorySharedPtr> {
    for (const NetworkFilterRef& o : observers) seen.push_back(o.name + "@" + o.path);
    return std::make_shared<FakeFactory>(name);
  };
  auto l = TranslateListener(
      ParseText<Listener>(std::string(R"txt(address { socket_address { address: "0.0.0.0"
                          port_value: 1 } } filter_chains {)txt") +
                          kIstioStatsFilter + kTcpFilter + "}"),
      lookup, "listeners[0]", nullptr);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(seen, std::vector<std::string>{"istio.stats@listeners[0].filter_chains[0].filters[0]"});
  // Last in its chain it has nothing to watch; any other TypedStruct is still unsupported.
  EXPECT_NE(Error(std::string(R"txt(address { socket_address { address: "0.0.0.0"
                  port_value: 1 } } filter_chains {)txt") +
                  kIstioStatsFilter + "}")
                .find("filters[0] (istio.stats): must be followed by a terminal filter"),
            std::string::npos);
  std::string other = kIstioStatsFilter;
  other.replace(other.find("stats.PluginConfig"), 18, "io.istio.other.Cfg");
  EXPECT_NE(Error(std::string(R"txt(address { socket_address { address: "0.0.0.0"
                  port_value: 1 } } filter_chains {)txt") +
                  other + kTcpFilter + "}")
                .find("is not supported by pilotfish"),
            std::string::npos);
}

TEST(ListenerTranslateTest, ConfigHashIsDeterministicAndSensitive) {
  const std::string text = kAddress + R"txt(filter_chains {)txt" + kTcpFilter + R"txt(})txt";
  auto a = Translate(text);
  auto b = Translate(text);
  auto c = Translate(text + R"txt(per_connection_buffer_limit_bytes { value: 1 })txt");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->config_hash, b->config_hash);
  EXPECT_NE(a->config_hash, c->config_hash);
}

TEST(ListenerTranslateTest, PipeAddressAndDefaults) {
  auto l = Translate(R"txt(address { pipe { path: "/tmp/pf.sock" } }
                          filter_chains {)txt" +
                     std::string(kTcpFilter) + " }");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->address.pipe_path, "/tmp/pf.sock");
  EXPECT_TRUE(l->bind_to_port);
  EXPECT_FALSE(l->use_original_dst);
  EXPECT_FALSE(l->original_dst_filter);
  EXPECT_EQ(l->per_connection_buffer_limit_bytes, 1024u * 1024u);
}

TEST(ListenerTranslateTest, Errors) {
  EXPECT_EQ(Error(kAddress +
                  R"txt(listener_filters { name: "envoy.filters.listener.tls_inspector" })txt"),
            "listeners[0].listener_filters[0] (envoy.filters.listener.tls_inspector): listener "
            "filter envoy.filters.listener.tls_inspector is not supported yet");
  EXPECT_EQ(Error(kAddress + R"txt(filter_chains { filters {
                                    name: "istio.stats"
                                    typed_config {
                                      [type.googleapis.com/google.protobuf.Struct] {}
                                    }
                                  })txt" +
                  kTcpFilter + " }"),
            "listeners[0].filter_chains[0].filters[0] (istio.stats): network filter type "
            "type.googleapis.com/google.protobuf.Struct is not supported by pilotfish");
  EXPECT_EQ(Error(kAddress + R"txt(filter_chains {)txt" + kTcpFilter + kTcpFilter + " }"),
            "listeners[0].filter_chains[0].filters[0] (envoy.filters.network.tcp_proxy): a "
            "terminal filter must be the last filter of its chain");
  EXPECT_EQ(Error(kAddress +
                  R"txt(filter_chains { filters { name: "envoy.filters.network.tcp_proxy" } })txt"),
            "listeners[0].filter_chains[0].filters[0] (envoy.filters.network.tcp_proxy): "
            "typed_config is required");
  EXPECT_EQ(Error(kAddress + R"txt(filter_chains {})txt"),
            "listeners[0].filter_chains[0].filters: a terminal filter (http_connection_manager or "
            "tcp_proxy) is required");
  EXPECT_EQ(Error(kAddress + R"txt(filter_chains {
                                    transport_socket { name: "envoy.transport_sockets.tls" })txt" +
                  kTcpFilter + " }"),
            "listeners[0].filter_chains[0].transport_socket: transport_socket "
            "envoy.transport_sockets.tls: TLS is not supported yet");
  EXPECT_EQ(Error(kAddress + R"txt(filter_chains {)txt" + kTcpFilter + R"txt(}
                                                                          filter_chains { )txt" +
                  kTcpFilter + " }"),
            "listeners[0].filter_chains[1].filter_chain_match: the same match as "
            "listeners[0].filter_chains[0]");
  EXPECT_EQ(Error(R"txt(address { socket_address { address: "localhost" port_value: 1 } }
                       filter_chains {)txt" +
                  std::string(kTcpFilter) + " }"),
            "listeners[0].address.socket_address.address: 'localhost' is not an IP address");
  EXPECT_EQ(Error(kAddress + R"txt(udp_listener_config {}
                                  filter_chains {)txt" +
                  kTcpFilter + " }"),
            "listeners[0].udp_listener_config: not supported by pilotfish");
  EXPECT_EQ(Error(kAddress),
            "listeners[0]: at least one of filter_chains or default_filter_chain "
            "is required");
  // Errors from the terminal filter's own translation keep their full path.
  EXPECT_EQ(Error(kAddress + R"txt(filter_chains {
                                    filters {
                                      name: "tcp"
                                      typed_config {
                                        [type.googleapis.com/envoy.extensions.filters.network
                                             .tcp_proxy.v3.TcpProxy] { cluster: "c" }
                                      }
                                    }
                                  })txt"),
            "listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix: must not be empty");
}

}  // namespace
}  // namespace pilotfish::xds
