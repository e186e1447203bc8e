// Istio stats filter: config parsing (fields, warnings, errors), the workload identity from node
// metadata, the labels of a request per direction, stat names and counting into a store.
#include <gtest/gtest.h>

#include <algorithm>

#include "filters/http/istio_stats/config.h"
#include "filters/http/istio_stats/filter.h"
#include "google/protobuf/util/json_util.h"
#include "proxy/stats/store.h"
#include "udpa/type/v1/typed_struct.pb.h"

namespace pilotfish::filters::istio_stats {
namespace {

google::protobuf::Any Typed(const std::string& value_json,
                            const std::string& type = "type.googleapis.com/stats.PluginConfig") {
  udpa::type::v1::TypedStruct typed;
  typed.set_type_url(type);
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(value_json, typed.mutable_value()).ok());
  google::protobuf::Any any;
  any.PackFrom(typed);
  return any;
}

envoy::config::core::v3::Node IstioNode() {
  envoy::config::core::v3::Node node;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"metadata": {"WORKLOAD_NAME": "reviews-v2", "NAMESPACE": "bookinfo",
                      "CLUSTER_ID": "east", "LABELS": {"app": "reviews", "version": "v2",
                      "service.istio.io/canonical-revision": "r2"}}})",
                  &node)
                  .ok());
  return node;
}

std::string Label(const LabelList& labels, const std::string& key) {
  for (const auto& [k, v] : labels) {
    if (k == key) return v;
  }
  return "<absent>";
}

TEST(IstioStatsConfigTest, ParsesIstioFieldsAndWarnsAboutUnappliedOnes) {
  std::vector<std::string> warnings;
  auto c = ParseIstioStatsConfig(
      Typed(R"({"reporter": "SERVER_GATEWAY", "disable_host_header_fallback": true,
                "metrics": [{"name": "requests_total", "tags_to_remove": ["source_app"]},
                            {"name": "request_bytes", "drop": true},
                            {"dimensions": {"x": "request.host"}}],
                "tcp_reporting_duration": "5s"})"),
      "f.typed_config", IstioNode(), &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->reporter, IstioStatsConfig::Reporter::kServerGateway);
  EXPECT_TRUE((*c)->disable_host_header_fallback);
  EXPECT_TRUE((*c)->Dropped("request_bytes"));
  EXPECT_FALSE((*c)->Dropped("requests_total"));
  EXPECT_TRUE((*c)->Removes("requests_total", "source_app"));
  EXPECT_FALSE((*c)->Removes("response_bytes", "source_app"));
  // A Struct's fields come in no fixed order: so do the warnings.
  ASSERT_EQ(warnings.size(), 2u);
  std::sort(warnings.begin(), warnings.end());
  EXPECT_NE(warnings[0].find("f.typed_config.value.metrics[2].dimensions"), std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("f.typed_config.value.tcp_reporting_duration"), std::string::npos)
      << warnings[1];
}

TEST(IstioStatsConfigTest, RejectsUnknownFieldsAndBadValues) {
  std::vector<std::string> warnings;
  auto c = ParseIstioStatsConfig(Typed(R"({"reportr": "x"})"), "f", IstioNode(), &warnings);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("f.value.reportr"), std::string::npos) << c.status();
  c = ParseIstioStatsConfig(Typed(R"({"reporter": "CLIENT"})"), "f", IstioNode(), &warnings);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("f.value.reporter"), std::string::npos) << c.status();
  google::protobuf::Any not_typed;
  not_typed.set_type_url("type.googleapis.com/stats.PluginConfig");
  EXPECT_FALSE(ParseIstioStatsConfig(not_typed, "f", IstioNode(), &warnings).ok());
}

TEST(IstioStatsConfigTest, MetadataExchangeIsAcceptedWithAWarning) {
  std::vector<std::string> warnings;
  EXPECT_TRUE(CheckMetadataExchangeConfig(
                  Typed(R"({"protocol": "istio-peer-exchange", "enable_discovery": true})",
                        "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange"),
                  "mx", &warnings)
                  .ok());
  EXPECT_EQ(warnings.size(), 1u);
  EXPECT_FALSE(CheckMetadataExchangeConfig(Typed(R"({"bogus": 1})"), "mx", &warnings).ok());
}

TEST(IstioStatsConfigTest, LocalIdentityDefaults) {
  PeerIdentity id = LocalIdentity(IstioNode());
  EXPECT_EQ(id.workload, "reviews-v2");
  EXPECT_EQ(id.workload_namespace, "bookinfo");
  EXPECT_EQ(id.cluster, "east");
  EXPECT_EQ(id.app, "reviews");
  EXPECT_EQ(id.canonical_service, "reviews");  // no canonical-name label: the app label
  EXPECT_EQ(id.canonical_revision, "r2");
  // Without labels: the workload name, and revision "latest".
  envoy::config::core::v3::Node bare;
  (*bare.mutable_metadata()->mutable_fields())["WORKLOAD_NAME"].set_string_value("w");
  id = LocalIdentity(bare);
  EXPECT_EQ(id.canonical_service, "w");
  EXPECT_EQ(id.canonical_revision, "latest");
  EXPECT_EQ(id.app, "unknown");
  EXPECT_EQ(id.workload_namespace, "unknown");
}

class LabelsTest : public ::testing::Test {
 protected:
  LabelsTest() {
    std::vector<std::string> warnings;
    config_ = *ParseIstioStatsConfig(Typed("{}"), "f", IstioNode(), &warnings);
    headers_.authority = "ratings.bookinfo:9080";
    headers_.method = "GET";
    headers_.path = "/";
    info_.response_code = 503;
    info_.SetFlag(http::kNoHealthyUpstream);
  }
  access_log::LogContext Ctx(config::TrafficDirection d) {
    return access_log::LogContext{
        .info = info_, .request_headers = &headers_, .protocol = "HTTP/1.1", .direction = d};
  }
  IstioStatsConfigSharedPtr config_;
  http::RequestHeaders headers_;
  http::StreamInfo info_;
};

TEST_F(LabelsTest, OutboundReportsAsSourceWithTheServiceFromTheClusterName) {
  info_.upstream_cluster = "outbound|9080|v1|reviews.bookinfo.svc.cluster.local";
  LabelList l = BuildLabels(*config_, Ctx(config::TrafficDirection::kOutbound), false);
  ASSERT_EQ(l.size(), 25u);
  EXPECT_EQ(std::string(l.front().first), "reporter");
  EXPECT_EQ(Label(l, "reporter"), "source");
  EXPECT_EQ(Label(l, "source_workload"), "reviews-v2");
  EXPECT_EQ(Label(l, "source_canonical_revision"), "r2");
  EXPECT_EQ(Label(l, "destination_workload"), "unknown");
  EXPECT_EQ(Label(l, "destination_service"), "reviews.bookinfo.svc.cluster.local");
  EXPECT_EQ(Label(l, "destination_service_name"), "reviews");
  EXPECT_EQ(Label(l, "destination_service_namespace"), "bookinfo");
  EXPECT_EQ(Label(l, "response_code"), "503");
  EXPECT_EQ(Label(l, "response_flags"), "UH");
  EXPECT_EQ(Label(l, "request_protocol"), "http");
  EXPECT_EQ(Label(l, "grpc_response_status"), "");
  EXPECT_EQ(Label(l, "connection_security_policy"), "unknown");
}

TEST_F(LabelsTest, InboundReportsAsDestinationAndFallsBackToTheHostHeader) {
  info_.upstream_cluster = "inbound|9080||";
  LabelList l = BuildLabels(*config_, Ctx(config::TrafficDirection::kInbound), false);
  EXPECT_EQ(Label(l, "reporter"), "destination");
  EXPECT_EQ(Label(l, "source_workload"), "unknown");
  EXPECT_EQ(Label(l, "destination_workload"), "reviews-v2");
  EXPECT_EQ(Label(l, "destination_app"), "reviews");
  EXPECT_EQ(Label(l, "destination_service"), "ratings.bookinfo");
  EXPECT_EQ(Label(l, "destination_service_namespace"), "bookinfo");
  EXPECT_EQ(Label(l, "connection_security_policy"), "none");
  // With the fallback disabled the service is unknown.
  std::vector<std::string> warnings;
  auto no_fallback = *ParseIstioStatsConfig(Typed(R"({"disable_host_header_fallback": true})"), "f",
                                            IstioNode(), &warnings);
  l = BuildLabels(*no_fallback, Ctx(config::TrafficDirection::kInbound), false);
  EXPECT_EQ(Label(l, "destination_service"), "unknown");
}

TEST_F(LabelsTest, GrpcAndTcpAndGateway) {
  headers_.headers.Add("content-type", "application/grpc+proto");
  http::ResponseHeaders resp;
  resp.headers.Add("grpc-status", "14");
  access_log::LogContext ctx = Ctx(config::TrafficDirection::kOutbound);
  ctx.response_headers = &resp;
  LabelList l = BuildLabels(*config_, ctx, false);
  EXPECT_EQ(Label(l, "request_protocol"), "grpc");
  EXPECT_EQ(Label(l, "grpc_response_status"), "14");
  l = BuildLabels(*config_, ctx, true);
  EXPECT_EQ(Label(l, "request_protocol"), "tcp");
  EXPECT_EQ(Label(l, "response_code"), "<absent>");
  std::vector<std::string> warnings;
  auto gw = *ParseIstioStatsConfig(Typed(R"({"reporter": "SERVER_GATEWAY"})"), "f", IstioNode(),
                                   &warnings);
  EXPECT_EQ(Label(BuildLabels(*gw, ctx, false), "reporter"), "waypoint");
}

TEST_F(LabelsTest, StatNamesAndCounting) {
  std::vector<std::string> warnings;
  auto trimmed = *ParseIstioStatsConfig(
      Typed(R"({"metrics": [{"name": "requests_total", "tags_to_remove": ["source_app"]},
                            {"name": "request_bytes", "drop": true}]})"),
      "f", IstioNode(), &warnings);
  info_.upstream_cluster = "outbound|9080||reviews.bookinfo.svc.cluster.local";
  const LabelList l = BuildLabels(*trimmed, Ctx(config::TrafficDirection::kOutbound), false);
  const std::string name = StatName(*trimmed, l, "requests_total");
  EXPECT_EQ(name.rfind("istiocustom.reporter=.=source;.;source_workload=.=reviews-v2;.;", 0), 0u)
      << name;
  EXPECT_EQ(name.find("source_app"), std::string::npos);
  EXPECT_NE(StatName(*trimmed, l, "response_bytes").find("source_app=.=reviews;.;"),
            std::string::npos);

  stats::Store store;
  IstioStats observer(trimmed);
  access_log::LogContext ctx = Ctx(config::TrafficDirection::kOutbound);
  ctx.stats = &store;
  for (int i = 0; i < 3; ++i) observer.OnStreamComplete(ctx);
  EXPECT_EQ(store.CounterValue(name), 3u);
  EXPECT_EQ(store.HistogramValue(StatName(*trimmed, l, "response_bytes")).count(), 3u);
  EXPECT_EQ(store.HistogramValue(StatName(*trimmed, l, "request_bytes")).count(), 0u);  // dropped
  // A different response code is a different series.
  info_.response_code = 200;
  observer.OnStreamComplete(ctx);
  EXPECT_EQ(store.CounterValue(name), 3u);
}

// The per-worker cache keys streams by what their labels are computed from: every one of those
// facts must give its own series.
TEST_F(LabelsTest, EachLabelInputIsItsOwnSeries) {
  stats::Store store;
  IstioStats observer(config_);
  auto count = [&](config::TrafficDirection d) {
    access_log::LogContext ctx = Ctx(d);
    ctx.stats = &store;
    observer.OnStreamComplete(ctx);
    return store.CounterValue(
        StatName(*config_, BuildLabels(*config_, ctx, false), "requests_total"));
  };
  const auto in = config::TrafficDirection::kInbound;
  const auto out = config::TrafficDirection::kOutbound;
  info_.upstream_cluster = "inbound|9080||";
  EXPECT_EQ(count(in), 1u);
  EXPECT_EQ(count(in), 2u);
  headers_.authority = "details.bookinfo:9080";  // inbound: the service is the Host header's
  EXPECT_EQ(count(in), 1u);
  EXPECT_EQ(count(out), 1u);  // reporter=source
  info_.response_code = 200;
  EXPECT_EQ(count(in), 1u);
  info_.response_flags = 0;
  EXPECT_EQ(count(in), 1u);
  headers_.headers.Set("content-type", "application/grpc");
  EXPECT_EQ(count(in), 1u);
  info_.upstream_cluster = "outbound|9080||reviews.bookinfo.svc.cluster.local";
  EXPECT_EQ(count(out), 1u);
  headers_.authority = "other:80";  // the cluster names the service: the Host header is unused
  EXPECT_EQ(count(out), 2u);
  EXPECT_EQ(count(in), 1u);
}

}  // namespace
}  // namespace pilotfish::filters::istio_stats
