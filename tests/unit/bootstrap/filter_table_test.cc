// Tests for the filter table's HTTP side: the fault filter in an HCM chain and the resolution of
// typed_per_filter_config payloads (fault, FilterConfig wrapper, unknown types).
#include "bootstrap/filter_table.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "filters/http/fault/config.h"
#include "filters/network/http_connection_manager/filter.h"

namespace pilotfish::bootstrap {
namespace {

using envoy::extensions::filters::http::fault::v3::HTTPFault;
using filters::fault::FaultConfig;

constexpr char kFaultName[] = "envoy.filters.http.fault";

std::shared_ptr<const config::AnyConfig> FaultAny(const std::string& text) {
  HTTPFault proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &proto)) << text;
  return std::make_shared<const config::AnyConfig>(
      "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
      proto.SerializeAsString());
}

std::shared_ptr<const config::AnyConfig> Wrapped(const std::string& text) {
  envoy::config::route::v3::FilterConfig proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &proto)) << text;
  return std::make_shared<const config::AnyConfig>(
      "type.googleapis.com/envoy.config.route.v3.FilterConfig", proto.SerializeAsString());
}

config::RouteConfiguration OneRoute(config::PerFilterConfigMap vhost_configs,
                                    config::PerFilterConfigMap route_configs) {
  config::RouteConfiguration rc;
  config::VirtualHost vh;
  vh.name = "vh";
  vh.domains = {"*"};
  vh.typed_per_filter_config = std::move(vhost_configs);
  config::Route r;
  r.route.cluster = "c";
  r.typed_per_filter_config = std::move(route_configs);
  vh.routes.push_back(std::move(r));
  rc.virtual_hosts.push_back(std::move(vh));
  return rc;
}

const FaultConfig* AsFault(const config::PerFilterConfigMap& configs, size_t i = 0) {
  if (i >= configs.size()) return nullptr;
  return dynamic_cast<const FaultConfig*>(configs[i].second.get());
}

TEST(ResolvePerFilterConfigsTest, FaultOnVirtualHostAndRoute) {
  auto rc = OneRoute({{kFaultName, FaultAny("abort { http_status: 501 }")}},
                     {{kFaultName, FaultAny("delay { fixed_delay { seconds: 7 } }")}});
  ASSERT_TRUE(ResolvePerFilterConfigs(&rc, "rc", nullptr).ok());
  const FaultConfig* vhost = AsFault(rc.virtual_hosts[0].typed_per_filter_config);
  ASSERT_NE(vhost, nullptr);
  EXPECT_EQ(vhost->abort->http_status, 501u);
  const FaultConfig* route = AsFault(rc.virtual_hosts[0].routes[0].typed_per_filter_config);
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->delay->fixed, std::chrono::seconds(7));
  // Resolving twice is harmless (already parsed entries are kept).
  ASSERT_TRUE(ResolvePerFilterConfigs(&rc, "rc", nullptr).ok());
  EXPECT_EQ(AsFault(rc.virtual_hosts[0].typed_per_filter_config), vhost);
}

TEST(ResolvePerFilterConfigsTest, InvalidFaultNamesTheEntryAndField) {
  auto rc = OneRoute({}, {{kFaultName, FaultAny("abort { http_status: 700 }")}});
  absl::Status s = ResolvePerFilterConfigs(&rc, "rc", nullptr);
  EXPECT_EQ(s.message(),
            "rc.virtual_hosts[0].routes[0].typed_per_filter_config[\"envoy.filters.http.fault\"]"
            ".abort.http_status: must be in [200, 600), got 700");
}

TEST(ResolvePerFilterConfigsTest, UnknownTypeIsAnErrorNamingTheEntry) {
  auto rc =
      OneRoute({{"envoy.filters.http.cors",
                 std::make_shared<const config::AnyConfig>(
                     "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy", "")}},
               {});
  absl::Status s = ResolvePerFilterConfigs(&rc, "rc", nullptr);
  EXPECT_EQ(s.message(),
            "rc.virtual_hosts[0].typed_per_filter_config[\"envoy.filters.http.cors\"]: filter "
            "config type type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy is "
            "not supported by pilotfish");
}

TEST(ResolvePerFilterConfigsTest, FilterConfigWrapper) {
  auto rc = OneRoute({{"optional.unknown", Wrapped(R"txt(
          is_optional: true
          config { [type.googleapis.com/google.protobuf.Empty] {} })txt")}},
                     {{kFaultName, Wrapped(R"txt(
          config {
            [type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault] {
              abort { http_status: 418 }
            }
          })txt")}});
  std::vector<std::string> warnings;
  ASSERT_TRUE(ResolvePerFilterConfigs(&rc, "rc", &warnings).ok());
  EXPECT_TRUE(rc.virtual_hosts[0].typed_per_filter_config.empty());  // dropped
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "rc.virtual_hosts[0].typed_per_filter_config[\"optional.unknown\"].config: optional "
            "filter config type type.googleapis.com/google.protobuf.Empty is not supported by "
            "pilotfish; skipped");
  const FaultConfig* route = AsFault(rc.virtual_hosts[0].routes[0].typed_per_filter_config);
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->abort->http_status, 418u);

  auto disabled = OneRoute({}, {{kFaultName, Wrapped("disabled: true")}});
  EXPECT_EQ(ResolvePerFilterConfigs(&disabled, "rc", nullptr).message(),
            "rc.virtual_hosts[0].routes[0].typed_per_filter_config[\"envoy.filters.http.fault\"]"
            ".disabled: not supported by pilotfish yet");
  auto required = OneRoute({}, {{kFaultName, Wrapped("config { [type.googleapis.com/"
                                                     "google.protobuf.Empty] {} }")}});
  EXPECT_NE(ResolvePerFilterConfigs(&required, "rc", nullptr)
                .message()
                .find("[\"envoy.filters.http.fault\"].config: filter config type "
                      "type.googleapis.com/google.protobuf.Empty is not supported"),
            absl::string_view::npos);
}

absl::StatusOr<net::NetworkFilterFactorySharedPtr> CreateHcm(const std::string& text,
                                                             std::vector<std::string>* warnings) {
  envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager hcm;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &hcm)) << text;
  google::protobuf::Any any;
  any.PackFrom(hcm);
  return CreateNetworkFilter("hcm", any, "f", warnings);
}

constexpr char kChain[] = R"txt(
  http_filters {
    name: "envoy.filters.http.fault"
    typed_config {
      [type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault] {
        upstream_cluster: "c"
      }
    }
  }
  http_filters {
    name: "envoy.filters.http.router"
    typed_config { [type.googleapis.com/envoy.extensions.filters.http.router.v3.Router] {} }
  })txt";

TEST(FilterTableTest, HcmWithFaultFilterAndPerRouteFault) {
  std::vector<std::string> warnings;
  auto factory = CreateHcm(std::string(R"txt(
    stat_prefix: "s"
    route_config {
      virtual_hosts {
        name: "v"
        domains: "*"
        routes {
          match { prefix: "/" headers { name: "end-user" string_match { exact: "jason" } } }
          route { cluster: "c" }
          typed_per_filter_config {
            key: "envoy.filters.http.fault"
            value {
              [type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault] {
                abort { http_status: 500 percentage { numerator: 1000000 denominator: MILLION } }
              }
            }
          }
          typed_per_filter_config {
            key: "some.other.name"
            value { [type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault] {} }
          }
        }
        routes {
          match { prefix: "/w" }
          route { weighted_clusters { clusters { name: "c" weight { value: 1 } } } }
        }
      }
    })txt") + kChain,
                           &warnings);
  ASSERT_TRUE(factory.ok()) << factory.status();
  const auto* hcm = dynamic_cast<const filters::hcm::HcmFactory*>(factory->get());
  ASSERT_NE(hcm, nullptr);
  EXPECT_EQ(hcm->config()->filter_factories.size(), 2u);
  const auto* vhost = hcm->config()->route_table->FindVirtualHost("any.host");
  ASSERT_NE(vhost, nullptr);
  const auto& route = vhost->routes[0]->config();
  const FaultConfig* fault = AsFault(route.typed_per_filter_config);
  ASSERT_NE(fault, nullptr);
  EXPECT_EQ(fault->abort->http_status, 500u);
  EXPECT_EQ(fault->abort->percentage.numerator, 1000000u);
  EXPECT_EQ(warnings,
            (std::vector<std::string>{
                "f.typed_config.route_config.virtual_hosts[0].routes[0]."
                "typed_per_filter_config[\"some.other.name\"]: no HTTP filter of this "
                "connection manager has this name; unused",
                "f.typed_config.route_config.virtual_hosts[0].routes[1]: fault "
                "upstream_cluster never matches a weighted_clusters route in pilotfish"}));
}

TEST(FilterTableTest, InvalidFilterLevelFaultNamesTheField) {
  auto factory = CreateHcm(R"txt(
    stat_prefix: "s"
    route_config { virtual_hosts { name: "v" domains: "*" routes { match { prefix: "/" } route { cluster: "c" } } } }
    http_filters {
      name: "envoy.filters.http.fault"
      typed_config {
        [type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault] {
          delay { header_delay {} }
          abort { grpc_status: 14 }
        }
      }
    }
    http_filters { name: "envoy.filters.http.router" })txt",
                           nullptr);
  ASSERT_FALSE(factory.ok());
  EXPECT_EQ(factory.status().message(),
            "f.typed_config.http_filters[0].typed_config.abort.grpc_status: not supported by "
            "pilotfish yet");
}

TEST(FilterTableTest, FaultFilterByNameOnlyIsAnEmptyFault) {
  auto factory = CreateHcm(R"txt(
    stat_prefix: "s"
    route_config { virtual_hosts { name: "v" domains: "*" routes { match { prefix: "/" } route { cluster: "c" } } } }
    http_filters { name: "envoy.filters.http.fault" }
    http_filters { name: "envoy.filters.http.router" })txt",
                           nullptr);
  ASSERT_TRUE(factory.ok()) << factory.status();
}

}  // namespace
}  // namespace pilotfish::bootstrap
