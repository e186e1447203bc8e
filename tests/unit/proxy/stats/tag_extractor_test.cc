// Tag extraction: Envoy's default extractors on the names pilotfish emits, Istio's custom
// stats_tags (lookahead rewritten for RE2), fixed tags and use_all_default_tags.
#include "proxy/stats/tag_extractor.h"

#include <gtest/gtest.h>

namespace pilotfish::stats {
namespace {

struct Extracted {
  std::string name;
  std::vector<Tag> tags;
};

Extracted Produce(const TagProducer& p, std::string_view name) {
  Extracted e;
  e.name = p.Produce(name, &e.tags);
  return e;
}

TEST(TagExtractorTest, EnvoyDefaults) {
  TagProducer p{config::StatsConfig{}};
  Extracted e = Produce(p, "cluster.backend.upstream_rq_total");
  EXPECT_EQ(e.name, "cluster.upstream_rq_total");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"envoy.cluster_name", "backend"}}));

  e = Produce(p, "cluster.backend.upstream_rq_200");
  EXPECT_EQ(e.name, "cluster.upstream_rq");
  EXPECT_EQ(e.tags,
            (std::vector<Tag>{{"envoy.response_code", "200"}, {"envoy.cluster_name", "backend"}}));

  e = Produce(p, "cluster.backend.upstream_rq_5xx");
  EXPECT_EQ(e.name, "cluster.upstream_rq_xx");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"envoy.response_code_class", "5"},
                                      {"envoy.cluster_name", "backend"}}));

  e = Produce(p, "http.ingress_http.downstream_rq_2xx");
  EXPECT_EQ(e.name, "http.downstream_rq_xx");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"envoy.response_code_class", "2"},
                                      {"envoy.http_conn_manager_prefix", "ingress_http"}}));

  e = Produce(p, "cluster.backend.outlier_detection.ejections_active");
  EXPECT_EQ(e.name, "cluster.outlier_detection.ejections_active");

  e = Produce(p, "listener.0.0.0.0_15001.downstream_cx_total");
  EXPECT_EQ(e.name, "listener.downstream_cx_total");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"envoy.listener_address", "0.0.0.0_15001"}}));

  e = Produce(p, "listener.[__]_15006.downstream_cx_total");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"envoy.listener_address", "[__]_15006"}}));

  // "admin" is not a listener address.
  e = Produce(p, "listener.admin.downstream_cx_total");
  EXPECT_EQ(e.name, "listener.admin.downstream_cx_total");
  EXPECT_TRUE(e.tags.empty());

  e = Produce(p, "listener_manager.worker_1.dispatcher.loop_duration_us");
  EXPECT_EQ(e.name, "listener_manager.worker_dispatcher.loop_duration_us");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"envoy.worker_id", "1"}}));

  e = Produce(p, "tcp.outbound_tcp.downstream_cx_total");
  EXPECT_EQ(e.name, "tcp.downstream_cx_total");

  // Names without tags stay as they are.
  e = Produce(p, "server.live");
  EXPECT_EQ(e.name, "server.live");
  EXPECT_TRUE(e.tags.empty());
  e = Produce(p, "cluster_manager.cds.update_success");
  EXPECT_EQ(e.name, "cluster_manager.cds.update_success");
  EXPECT_TRUE(e.tags.empty());
}

// Istio's bootstrap: use_all_default_tags false and its own regexes (envoy_bootstrap.json).
config::StatsConfig IstioConfig() {
  config::StatsConfig c;
  c.use_all_default_tags = false;
  c.stats_tags = {
      {"cluster_name", R"(^cluster(\.(.+);))", std::nullopt},
      {"http_conn_manager_prefix",
       R"(^http\.(((?:[_.[:digit:]\w]*|[_\[\]aAbBcCdDeEfF[:digit:]\w\:]*));\.))", std::nullopt},
      {"response_code", R"(_rq(_(\d{3}))$)", std::nullopt},
      {"response_code_class", R"(_rq(_(\dxx))$)", std::nullopt},
      {"http_conn_manager_listener_prefix",
       R"(^listener(?=\.).*?\.http\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.))",
       std::nullopt},
      {"listener_address", R"(^listener\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.))",
       std::nullopt},
      {"reporter", R"((reporter=\.=(.*?);\.;))", std::nullopt},
  };
  return c;
}

TEST(TagExtractorTest, IstioCustomTags) {
  TagProducer p(IstioConfig());
  // Istio names its clusters' stats with alt_stat_name "<name>;".
  Extracted e = Produce(p, "cluster.xds-grpc;.upstream_rq_503");
  EXPECT_EQ(e.name, "cluster.upstream_rq");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"cluster_name", "xds-grpc"}, {"response_code", "503"}}));

  e = Produce(p, "cluster.outbound|9080||reviews.default.svc.cluster.local;.upstream_rq_2xx");
  EXPECT_EQ(e.name, "cluster.upstream_rq");
  EXPECT_EQ(e.tags,
            (std::vector<Tag>{{"cluster_name", "outbound|9080||reviews.default.svc.cluster.local"},
                              {"response_code_class", "2xx"}}));

  e = Produce(p, "http.outbound_0.0.0.0_9080;.downstream_rq_total");
  EXPECT_EQ(e.name, "http.downstream_rq_total");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"http_conn_manager_prefix", "outbound_0.0.0.0_9080"}}));

  // The lookahead form works once rewritten for RE2.
  e = Produce(p, "listener.10.0.0.1_9080.http.10.0.0.1_9080.downstream_rq_total");
  EXPECT_EQ(e.name, "listener.http.downstream_rq_total");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"http_conn_manager_listener_prefix", "10.0.0.1_9080"},
                                      {"listener_address", "10.0.0.1_9080"}}));

  e = Produce(p, "reporter=.=destination;.;istio_requests_total");
  EXPECT_EQ(e.name, "istio_requests_total");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"reporter", "destination"}}));

  // No default extractors: Envoy's cluster_name does not apply.
  e = Produce(p, "cluster_manager.cds.update_success");
  EXPECT_TRUE(e.tags.empty());
}

TEST(TagExtractorTest, FixedValuesAndDefaultsByName) {
  config::StatsConfig c;
  c.use_all_default_tags = false;
  c.stats_tags = {{"envoy.cluster_name", "", std::nullopt}, {"mesh", "", "prod"}};
  TagProducer p(c);
  Extracted e = Produce(p, "cluster.a.upstream_rq_200");
  EXPECT_EQ(e.name, "cluster.upstream_rq_200");  // response_code is not enabled
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"envoy.cluster_name", "a"}, {"mesh", "prod"}}));
}

TEST(TagExtractorTest, CustomTagReplacesTheDefaultOfItsName) {
  config::StatsConfig c;
  c.stats_tags = {{"envoy.cluster_name", R"(^cluster\.((.+?)\.)upstream)", std::nullopt}};
  TagProducer p(c);
  Extracted e = Produce(p, "cluster.a.b.upstream_rq_total");
  EXPECT_EQ(e.name, "cluster.upstream_rq_total");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"envoy.cluster_name", "a.b"}}));
}

TEST(TagExtractorTest, Re2Rewrite) {
  EXPECT_EQ(ToRe2TagRegex(R"(^listener(?=\.).*?\.http\.)"), R"(^listener\..*?\.http\.)");
  EXPECT_EQ(ToRe2TagRegex(R"(^a(?=\.)b)"), R"(^a(?=\.)b)");  // other uses are left alone
  EXPECT_EQ(TagExtractor::Create("x", R"(^a(?=\.)b)"), nullptr);
  EXPECT_EQ(TagExtractor::Create("x", "no_group"), nullptr);
}

TEST(TagExtractorTest, InlineIstioLabels) {
  TagProducer p(config::StatsConfig{});
  Extracted e =
      Produce(p,
              "istiocustom.reporter=.=source;.;destination_service=.=reviews.default.svc;.;"
              "grpc_response_status=.=;.;istio_requests_total");
  EXPECT_EQ(e.name, "istiocustom.istio_requests_total");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"reporter", "source"},
                                      {"destination_service", "reviews.default.svc"},
                                      {"grpc_response_status", ""}}));
  // Without the namespace, as Istio's wasm-era names were.
  e = Produce(p, "reporter=.=destination;.;istio_tcp_sent_bytes_total");
  EXPECT_EQ(e.name, "istio_tcp_sent_bytes_total");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"reporter", "destination"}}));
  // An unterminated segment is left alone.
  e = Produce(p, "istiocustom.reporter=.=source");
  EXPECT_EQ(e.name, "istiocustom.reporter=.=source");
  EXPECT_TRUE(e.tags.empty());
}

TEST(TagExtractorTest, InlineLabelsSkipWhatIstioStatsTagsTook) {
  // Istio's bootstrap extracts reporter itself: one tag, not two.
  TagProducer p(IstioConfig());
  Extracted e = Produce(p, "reporter=.=source;.;response_code=.=200;.;istio_requests_total");
  EXPECT_EQ(e.name, "istio_requests_total");
  EXPECT_EQ(e.tags, (std::vector<Tag>{{"reporter", "source"}, {"response_code", "200"}}));
}

}  // namespace
}  // namespace pilotfish::stats
