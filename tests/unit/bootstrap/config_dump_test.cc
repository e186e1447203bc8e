// Tests for /config_dump on a static bootstrap: sections, ?resource/?mask edge cases, and a
// resource holding an Any of a type this binary does not know (it must still print).
#include "bootstrap/config_dump.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "envoy/admin/v3/config_dump.pb.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"

namespace pilotfish::bootstrap {
namespace {

using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

class ConfigDumpTest : public ::testing::Test {
 protected:
  ConfigDumpTest() {
    auto* sr = bootstrap_.mutable_static_resources();
    auto* cluster = sr->add_clusters();
    cluster->set_name("backend");
    cluster->set_type(envoy::config::cluster::v3::Cluster::STATIC);
    cluster->mutable_load_assignment()->add_endpoints();
    auto* listener = sr->add_listeners();
    listener->set_name("in");
    HttpConnectionManager hcm;
    hcm.set_stat_prefix("in");
    hcm.mutable_route_config()->set_name("in_routes");
    auto* optional = hcm.add_http_filters();  // an optional filter of a type not compiled in
    optional->set_name("istio.stats");
    optional->set_is_optional(true);
    optional->mutable_typed_config()->set_type_url("type.googleapis.com/stats.PluginConfig");
    optional->mutable_typed_config()->set_value(
        "\x0a\x03"
        "abc");
    listener->add_filter_chains()->add_filters()->mutable_typed_config()->PackFrom(hcm);
    bytes_ = bootstrap_.SerializeAsString();
  }

  admin::AdminResponse Dump(std::string_view query) {
    return HandleConfigDump({&bytes_, std::chrono::system_clock::now(), nullptr}, query);
  }

  envoy::admin::v3::ConfigDump Parse(const admin::AdminResponse& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    envoy::admin::v3::ConfigDump dump;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.body, &dump).ok()) << r.body;
    return dump;
  }

  envoy::config::bootstrap::v3::Bootstrap bootstrap_;
  std::string bytes_;
};

TEST_F(ConfigDumpTest, SectionsInEnvoysOrder) {
  envoy::admin::v3::ConfigDump dump = Parse(Dump(""));
  std::vector<std::string> types;
  for (const auto& c : dump.configs()) types.push_back(c.type_url());
  const std::string p = "type.googleapis.com/envoy.admin.v3.";
  EXPECT_EQ(types,
            (std::vector<std::string>{p + "BootstrapConfigDump", p + "ClustersConfigDump",
                                      p + "ListenersConfigDump", p + "ScopedRoutesConfigDump",
                                      p + "RoutesConfigDump", p + "SecretsConfigDump"}));
  dump = Parse(Dump("include_eds"));
  EXPECT_EQ(dump.configs(2).type_url(), p + "EndpointsConfigDump");
}

TEST_F(ConfigDumpTest, UnknownAnyTypeStillPrints) {
  const admin::AdminResponse r = Dump("");
  ASSERT_EQ(r.status, 200) << r.body;
  // Shown as a TypedStruct naming the type; everything else as loaded.
  EXPECT_NE(r.body.find("\"type_url\": \"type.googleapis.com/stats.PluginConfig\""),
            std::string::npos)
      << r.body;
  envoy::admin::v3::ConfigDump dump = Parse(r);
  envoy::admin::v3::BootstrapConfigDump b;
  ASSERT_TRUE(dump.configs(0).UnpackTo(&b));
  EXPECT_EQ(b.bootstrap().static_resources().clusters(0).name(), "backend");
  EXPECT_EQ(Parse(Dump("resource=static_route_configs")).configs_size(), 1);
}

TEST_F(ConfigDumpTest, ResourceAndMaskErrors) {
  EXPECT_EQ(Dump("resource=nope").status, 404);
  EXPECT_EQ(Dump("resource=bootstrap").status, 400);  // not repeated
  EXPECT_EQ(Dump("resource=static_clusters&mask=cluster.nope").status, 400);
  EXPECT_EQ(Dump("resource=static_clusters&mask=cluster,last_updated").status, 200);
  EXPECT_EQ(Dump("mask=nope").status, 400);
  EXPECT_EQ(Dump("name_regex=%5B").status, 400);
  envoy::admin::v3::ConfigDump dump = Parse(Dump("resource=static_clusters&mask=cluster.name"));
  ASSERT_EQ(dump.configs_size(), 1);
  envoy::admin::v3::ClustersConfigDump::StaticCluster sc;
  ASSERT_TRUE(dump.configs(0).UnpackTo(&sc));
  envoy::config::cluster::v3::Cluster c;
  ASSERT_TRUE(sc.cluster().UnpackTo(&c));
  EXPECT_EQ(c.name(), "backend");
  EXPECT_FALSE(c.has_load_assignment());
  EXPECT_FALSE(sc.has_last_updated());
}

}  // namespace
}  // namespace pilotfish::bootstrap
