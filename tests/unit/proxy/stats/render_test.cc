// Renderings: /stats text, JSON and Prometheus 0.0.4 (families, label escaping, histograms,
// custom namespaces), and the admin handlers' query handling.
#include "proxy/stats/render.h"

#include <gtest/gtest.h>

#include "proxy/admin/stats_handlers.h"

namespace pilotfish::stats {
namespace {

class RenderTest : public testing::Test {
 protected:
  RenderTest() {
    store_.Inc(store_.CounterFor("cluster.backend.upstream_rq_total"), 3);
    store_.Inc(store_.CounterFor("cluster.backend.upstream_rq_200"), 2);
    store_.Inc(store_.CounterFor("cluster.backend.upstream_rq_503"), 1);
    store_.Inc(store_.CounterFor("cluster.backend.upstream_rq_2xx"), 2);
    store_.Inc(store_.CounterFor("cluster.backend.upstream_rq_5xx"), 1);
    store_.CounterFor("cluster.backend.upstream_rq_retry");  // never incremented
    store_.GaugeFor("server.live").Set(1);
    store_.GaugeFor("server.state").Set(0);
    store_.GaugeFor("cluster.backend.upstream_rq_active");  // never set
    Histogram h = store_.HistogramFor("http.ingress.downstream_rq_time");
    store_.Record(h, 3);
    store_.Record(h, 70);
    store_.HistogramFor("http.other.downstream_rq_time");  // empty
  }
  StatsSnapshot Snap() { return store_.Collect(); }
  Store store_;
};

TEST_F(RenderTest, Text) {
  const std::string text = RenderText(Snap(), {});
  const std::string numeric =
      "cluster.backend.upstream_rq_200: 2\n"
      "cluster.backend.upstream_rq_2xx: 2\n"
      "cluster.backend.upstream_rq_503: 1\n"
      "cluster.backend.upstream_rq_5xx: 1\n"
      "cluster.backend.upstream_rq_active: 0\n"
      "cluster.backend.upstream_rq_retry: 0\n"
      "cluster.backend.upstream_rq_total: 3\n"
      "server.live: 1\n"
      "server.state: 0\n"
      "http.ingress.downstream_rq_time: P0(nan,2) P25(nan,3.5) P50(nan,5) P75(nan,75.5) P90(nan,";
  EXPECT_EQ(text.substr(0, numeric.size()), numeric) << text;
  EXPECT_NE(text.find(" P99.9(nan,"), std::string::npos) << text;
  EXPECT_NE(text.find(" P100(nan,100)\nhttp.other.downstream_rq_time: No recorded values\n"),
            std::string::npos)
      << text;
}

TEST_F(RenderTest, TextUsedOnlyTypesAndBuckets) {
  RenderOptions used;
  used.used_only = true;
  const std::string text = RenderText(Snap(), used);
  EXPECT_EQ(text.find("upstream_rq_retry"), std::string::npos) << text;
  EXPECT_EQ(text.find("upstream_rq_active"), std::string::npos) << text;
  EXPECT_NE(text.find("server.state: 0\n"), std::string::npos) << text;  // set to 0: used
  EXPECT_EQ(text.find("http.other"), std::string::npos) << text;

  RenderOptions gauges;
  gauges.type = RenderOptions::Type::kGauges;
  EXPECT_EQ(RenderText(Snap(), gauges),
            "cluster.backend.upstream_rq_active: 0\nserver.live: 1\nserver.state: 0\n");

  RenderOptions buckets;
  buckets.type = RenderOptions::Type::kHistograms;
  buckets.used_only = true;
  buckets.buckets = RenderOptions::Buckets::kCumulative;
  EXPECT_EQ(RenderText(Snap(), buckets),
            "http.ingress.downstream_rq_time: B0.5(0,0) B1(0,0) B5(0,1) B10(0,1) B25(0,1) "
            "B50(0,1) B100(0,2) B250(0,2) B500(0,2) B1000(0,2) B2500(0,2) B5000(0,2) B10000(0,2) "
            "B30000(0,2) B60000(0,2) B300000(0,2) B600000(0,2) B1800000(0,2) B3600000(0,2)\n");
}

TEST_F(RenderTest, Json) {
  RenderOptions o;
  o.type = RenderOptions::Type::kGauges;
  EXPECT_EQ(RenderJson(Snap(), o),
            R"({"stats":[{"name":"cluster.backend.upstream_rq_active","value":0},)"
            R"({"name":"server.live","value":1},{"name":"server.state","value":0}]})");
  o.type = RenderOptions::Type::kHistograms;
  o.used_only = true;
  const std::string json = RenderJson(Snap(), o);
  const std::string head =
      R"({"stats":[{"histograms":{"supported_quantiles":[0,25,50,75,90,95,99,99.5,99.9,100],)"
      R"("computed_quantiles":[{"name":"http.ingress.downstream_rq_time","values":[)"
      R"({"interval":null,"cumulative":2},{"interval":null,"cumulative":3.5},)"
      R"({"interval":null,"cumulative":5},{"interval":null,"cumulative":75.5},)";
  EXPECT_EQ(json.substr(0, head.size()), head) << json;
  EXPECT_TRUE(json.ends_with(R"({"interval":null,"cumulative":100}]}]}}]})")) << json;
  o.buckets = RenderOptions::Buckets::kDisjoint;
  const std::string buckets = RenderJson(Snap(), o);
  EXPECT_NE(buckets.find(R"({"histograms":[{"name":"http.ingress.downstream_rq_time","buckets":[)"
                         R"({"upper_bound":0.5,"interval":0,"cumulative":0},)"),
            std::string::npos)
      << buckets;
  EXPECT_NE(buckets.find(R"({"upper_bound":100,"interval":0,"cumulative":1},)"), std::string::npos)
      << buckets;
  // Names are JSON-escaped.
  Store s;
  s.IncCounter("a\"b\\c");
  EXPECT_EQ(RenderJson(s.Collect(), {}), R"({"stats":[{"name":"a\"b\\c","value":1}]})");
}

TEST_F(RenderTest, Prometheus) {
  const std::string out = RenderPrometheus(Snap(), store_.tag_producer(), {}, {});
  EXPECT_EQ(
      out,
      "# TYPE envoy_cluster_upstream_rq counter\n"
      "envoy_cluster_upstream_rq{envoy_response_code=\"200\",envoy_cluster_name=\"backend\"} 2\n"
      "envoy_cluster_upstream_rq{envoy_response_code=\"503\",envoy_cluster_name=\"backend\"} 1\n"
      "# TYPE envoy_cluster_upstream_rq_retry counter\n"
      "envoy_cluster_upstream_rq_retry{envoy_cluster_name=\"backend\"} 0\n"
      "# TYPE envoy_cluster_upstream_rq_total counter\n"
      "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"backend\"} 3\n"
      "# TYPE envoy_cluster_upstream_rq_xx counter\n"
      "envoy_cluster_upstream_rq_xx{envoy_response_code_class=\"2\",envoy_cluster_name=\"backend\"}"
      " 2\n"
      "envoy_cluster_upstream_rq_xx{envoy_response_code_class=\"5\",envoy_cluster_name=\"backend\"}"
      " 1\n"
      "# TYPE envoy_cluster_upstream_rq_active gauge\n"
      "envoy_cluster_upstream_rq_active{envoy_cluster_name=\"backend\"} 0\n"
      "# TYPE envoy_server_live gauge\n"
      "envoy_server_live{} 1\n"
      "# TYPE envoy_server_state gauge\n"
      "envoy_server_state{} 0\n"
      "# TYPE envoy_http_downstream_rq_time histogram\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"0.5\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"1\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"5\"} "
      "1\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"10\"} "
      "1\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"25\"} "
      "1\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"50\"} "
      "1\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"100\"} "
      "2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"250\"} "
      "2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"500\"} "
      "2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"1000\"}"
      " 2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"2500\"}"
      " 2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"5000\"}"
      " 2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le="
      "\"10000\"} 2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le="
      "\"30000\"} 2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le="
      "\"60000\"} 2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le="
      "\"300000\"} 2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le="
      "\"600000\"} 2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le="
      "\"1800000\"} 2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le="
      "\"3600000\"} 2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"ingress\",le=\"+Inf\"}"
      " 2\n"
      "envoy_http_downstream_rq_time_sum{envoy_http_conn_manager_prefix=\"ingress\"} 73\n"
      "envoy_http_downstream_rq_time_count{envoy_http_conn_manager_prefix=\"ingress\"} 2\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"0.5\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"1\"} 0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"5\"} 0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"10\"} 0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"25\"} 0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"50\"} 0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"100\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"250\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"500\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"1000\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"2500\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"5000\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"10000\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"30000\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"60000\"} "
      "0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"300000\"}"
      " 0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"600000\"}"
      " 0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le="
      "\"1800000\"} 0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le="
      "\"3600000\"} 0\n"
      "envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix=\"other\",le=\"+Inf\"} "
      "0\n"
      "envoy_http_downstream_rq_time_sum{envoy_http_conn_manager_prefix=\"other\"} 0\n"
      "envoy_http_downstream_rq_time_count{envoy_http_conn_manager_prefix=\"other\"} 0\n");
}

TEST(PrometheusTest, LabelValuesAreEscapedAndNamesSanitized) {
  config::StatsConfig cfg;
  cfg.stats_tags.push_back({"tag", R"(^custom\.(([^.]*)\.)end$)", std::nullopt});
  Store store(cfg);
  store.IncCounter("custom.a\\b\"c\nd.end");
  store.IncCounter("cluster.outbound|9080||reviews.upstream_cx_total");
  const std::string out = RenderPrometheus(store.Collect(), store.tag_producer(), {}, {});
  EXPECT_NE(out.find("envoy_custom_end{tag=\"a\\\\b\\\"c\\nd\"} 1\n"), std::string::npos) << out;
  // Default cluster_name takes one dot-free token; the rest stays in the (sanitized) name.
  EXPECT_NE(
      out.find(
          "# TYPE envoy_cluster_upstream_cx_total counter\n"
          "envoy_cluster_upstream_cx_total{envoy_cluster_name=\"outbound|9080||reviews\"} 1\n"),
      std::string::npos)
      << out;
  EXPECT_EQ(PrometheusSanitizeName("a.b-c:d|e"), "a_b_c_d_e");
}

TEST(PrometheusTest, CustomNamespacesHaveNoEnvoyPrefix) {
  Store store;
  store.AddCustomNamespace("istiocustom");
  store.IncCounter("istiocustom.istio_requests_total");
  store.IncCounter("istiocustom.9bad");
  store.IncCounter("istio.other");
  const std::string out =
      RenderPrometheus(store.Collect(), store.tag_producer(), store.custom_namespaces(), {});
  EXPECT_EQ(out,
            "# TYPE envoy_istio_other counter\nenvoy_istio_other{} 1\n"
            "# TYPE istio_requests_total counter\nistio_requests_total{} 1\n");
  EXPECT_EQ(PrometheusMetricName("istiocustom.x.y", {"istiocustom"}), "x_y");
  EXPECT_EQ(PrometheusMetricName("istiocustom.", {"istiocustom"}), "");  // omitted
}

TEST(StatsHandlersTest, QueryParsing) {
  auto q = admin::ParseQuery("usedonly&filter=%5E(server%5C.state%7Clistener_manager)&x=1&x=2");
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q["usedonly"], "");
  EXPECT_EQ(q["filter"], "^(server\\.state|listener_manager)");
  EXPECT_EQ(q["x"], "2");
  EXPECT_EQ(admin::ParseQuery("a=%zz%4")["a"], "%zz%4");
}

TEST_F(RenderTest, Handlers) {
  // pilot-agent's readiness query.
  admin::AdminResponse r = admin::HandleStats(
      store_, "/stats",
      "usedonly&filter=%5E(server%5C.state%7Clistener_manager%5C.workers_started)");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "server.state: 0\n");
  r = admin::HandleStats(store_, "/stats", "filter=rq_5&format=json");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"stats":[{"name":"cluster.backend.upstream_rq_503","value":1},)"
                    R"({"name":"cluster.backend.upstream_rq_5xx","value":1}]})");
  r = admin::HandleStats(store_, "/stats/prometheus", "filter=server");
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body,
            "# TYPE envoy_server_live gauge\nenvoy_server_live{} 1\n"
            "# TYPE envoy_server_state gauge\nenvoy_server_state{} 0\n");
  EXPECT_EQ(admin::HandleStats(store_, "/stats", "format=prometheus&filter=server.live").body,
            "# TYPE envoy_server_live gauge\nenvoy_server_live{} 1\n");
  EXPECT_EQ(admin::HandleStats(store_, "/stats", "filter=(").status, 400);
  EXPECT_EQ(admin::HandleStats(store_, "/stats", "format=xml").status, 400);
}

TEST_F(RenderTest, InstalledHandlers) {
  event::Dispatcher dispatcher("admin_test");
  admin::AdminServer admin(dispatcher);
  admin::InstallStatsHandlers(admin, store_);
  EXPECT_EQ(admin.Handle({"GET", "/reset_counters", ""}).status, 405);  // mutating: POST only
  EXPECT_EQ(store_.CounterValue("cluster.backend.upstream_rq_total"), 3u);
  EXPECT_EQ(admin.Handle({"POST", "/reset_counters", ""}).body, "OK\n");
  EXPECT_EQ(store_.CounterValue("cluster.backend.upstream_rq_total"), 0u);
  EXPECT_NE(admin.Handle({"GET", "/stats", "filter=rq_total"}).body.find("upstream_rq_total: 0\n"),
            std::string::npos);
  EXPECT_EQ(admin.Handle({"GET", "/stats/prometheus", "filter=live"}).body,
            "# TYPE envoy_server_live gauge\nenvoy_server_live{} 1\n");
}

}  // namespace
}  // namespace pilotfish::stats
