// Tests for HTTPFault parsing/validation and the fault decisions (match, delay, abort draws).
#include "filters/http/fault/config.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <random>

namespace pilotfish::filters::fault {
namespace {

using envoy::extensions::filters::http::fault::v3::HTTPFault;
using std::chrono::milliseconds;

HTTPFault Proto(const std::string& text) {
  HTTPFault proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &proto)) << text;
  return proto;
}

FaultConfigSharedPtr Parse(const std::string& text, std::vector<std::string>* warnings = nullptr) {
  auto config = ParseFaultConfig(Proto(text), "fault", warnings);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : nullptr;
}

std::string Error(const HTTPFault& proto) {
  auto config = ParseFaultConfig(proto, "fault", nullptr);
  EXPECT_FALSE(config.ok());
  return std::string(config.status().message());
}
std::string Error(const std::string& text) { return Error(Proto(text)); }

http::RequestHeaders Request(std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::RequestHeaders h;
  h.method = "GET";
  h.path = "/";
  h.authority = "example.com";
  for (const auto& [k, v] : headers) h.headers.Add(k, v);
  return h;
}

TEST(FaultConfigTest, EmptyConfigInjectsNothing) {
  auto config = Parse("");
  ASSERT_NE(config, nullptr);
  EXPECT_FALSE(config->delay);
  EXPECT_FALSE(config->abort);
  EXPECT_EQ(config->max_active_faults, std::numeric_limits<uint64_t>::max());
  const auto request = Request();
  EXPECT_TRUE(config->Matches(request, nullptr));
  EXPECT_FALSE(config->DelayFor(request, 0));
  EXPECT_FALSE(config->AbortFor(request, 0));
}

TEST(FaultConfigTest, PercentageDenominators) {
  auto config = Parse(R"txt(
    delay { fixed_delay { seconds: 1 nanos: 500000000 } percentage { numerator: 25 } }
    abort { http_status: 503 percentage { numerator: 7 denominator: TEN_THOUSAND } })txt");
  ASSERT_NE(config, nullptr);
  ASSERT_TRUE(config->delay);
  EXPECT_EQ(config->delay->fixed, milliseconds(1500));
  EXPECT_EQ(config->delay->percentage.numerator, 25u);
  EXPECT_EQ(config->delay->percentage.denominator, 100u);  // HUNDRED is the default
  ASSERT_TRUE(config->abort);
  EXPECT_EQ(config->abort->http_status, 503u);
  EXPECT_EQ(config->abort->percentage.denominator, 10000u);

  auto million = Parse(R"txt(
    abort { http_status: 500 percentage { numerator: 1000000 denominator: MILLION } })txt");
  ASSERT_NE(million, nullptr);
  EXPECT_EQ(million->abort->percentage.numerator, 1000000u);
  EXPECT_EQ(million->abort->percentage.denominator, 1000000u);
}

TEST(FaultConfigTest, UnsetPercentageNeverFires) {
  // Envoy: an unset FractionalPercent is 0/100 (Istio relies on it: no percentage, no fault).
  auto config = Parse(R"txt(
    delay { fixed_delay { seconds: 1 } }
    abort { http_status: 503 })txt");
  ASSERT_NE(config, nullptr);
  const auto request = Request();
  for (uint64_t r : {0ull, 1ull, 99ull, 12345678901ull}) {
    EXPECT_FALSE(config->DelayFor(request, r)) << r;
    EXPECT_FALSE(config->AbortFor(request, r)) << r;
  }
}

TEST(FaultConfigTest, DrawIsRandomModDenominatorBelowNumerator) {
  const Fraction ten_percent{10, 100};
  EXPECT_TRUE(ten_percent.Hit(0));
  EXPECT_TRUE(ten_percent.Hit(9));
  EXPECT_FALSE(ten_percent.Hit(10));
  EXPECT_FALSE(ten_percent.Hit(99));
  EXPECT_TRUE(ten_percent.Hit(109));
  const Fraction one_in_ten_thousand{1, 10000};
  EXPECT_TRUE(one_in_ten_thousand.Hit(20000));
  EXPECT_FALSE(one_in_ten_thousand.Hit(20001));
  const Fraction over_full{150, 100};  // numerator above the denominator: always
  EXPECT_TRUE(over_full.Hit(99));
  const Fraction zero{0, 1000000};
  EXPECT_FALSE(zero.Hit(0));
}

TEST(FaultConfigTest, AbortRateFollowsThePercentage) {
  // 12.5% via TEN_THOUSAND with independent draws from a seeded generator.
  auto config = Parse(R"txt(
    abort { http_status: 418 percentage { numerator: 1250 denominator: TEN_THOUSAND } })txt");
  ASSERT_NE(config, nullptr);
  std::mt19937_64 rng(42);
  const auto request = Request();
  int aborts = 0;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    auto status = config->AbortFor(request, rng());
    if (status) {
      EXPECT_EQ(*status, 418);
      ++aborts;
    }
  }
  EXPECT_NEAR(aborts / static_cast<double>(kDraws), 0.125, 0.01);
}

TEST(FaultConfigTest, InvalidHttpStatusNamesTheField) {
  EXPECT_EQ(Error("abort { http_status: 600 }"),
            "fault.abort.http_status: must be in [200, 600), got 600");
  EXPECT_EQ(Error("abort { http_status: 199 }"),
            "fault.abort.http_status: must be in [200, 600), got 199");
  EXPECT_EQ(Error("abort { http_status: 0 }"),
            "fault.abort.http_status: must be in [200, 600), got 0");
  EXPECT_TRUE(ParseFaultConfig(Proto("abort { http_status: 200 }"), "f", nullptr).ok());
  EXPECT_TRUE(ParseFaultConfig(Proto("abort { http_status: 599 }"), "f", nullptr).ok());
}

TEST(FaultConfigTest, RequiredOneofsAndPositiveDelay) {
  EXPECT_EQ(Error("abort { percentage { numerator: 1 } }"),
            "fault.abort: one of http_status, grpc_status or header_abort is required");
  EXPECT_EQ(Error("delay { percentage { numerator: 1 } }"),
            "fault.delay: one of fixed_delay or header_delay is required");
  EXPECT_NE(Error("delay { fixed_delay {} }").find("fault.delay.fixed_delay"), std::string::npos);
  HTTPFault bad_denominator = Proto("abort { http_status: 503 }");
  bad_denominator.mutable_abort()->mutable_percentage()->set_denominator(
      static_cast<envoy::type::v3::FractionalPercent::DenominatorType>(7));
  EXPECT_EQ(Error(bad_denominator), "fault.abort.percentage.denominator: unknown denominator");
}

TEST(FaultConfigTest, UnimplementedFeaturesAreErrorsNamingTheField) {
  EXPECT_EQ(Error("abort { grpc_status: 14 percentage { numerator: 100 } }"),
            "fault.abort.grpc_status: not supported by pilotfish yet");
  EXPECT_EQ(Error("response_rate_limit { fixed_limit { limit_kbps: 1 } }"),
            "fault.response_rate_limit: not supported by pilotfish yet");
}

TEST(FaultConfigTest, RuntimeKeysAcceptedFilterMetadataWarned) {
  std::vector<std::string> warnings;
  auto config = Parse(R"txt(
    abort { http_status: 503 percentage { numerator: 5 } }
    abort_percent_runtime: "my.abort"
    delay_percent_runtime: "my.delay"
    max_active_faults { value: 3 }
    disable_downstream_cluster_stats: true
    filter_metadata { fields { key: "k" value { string_value: "v" } } })txt",
                      &warnings);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->max_active_faults, 3u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "fault.filter_metadata: ignored by pilotfish");
}

TEST(FaultConfigTest, HeadersMatchLikeRouteHeaders) {
  auto config = Parse(R"txt(
    abort { http_status: 500 percentage { numerator: 100 } }
    headers { name: "end-user" string_match { exact: "jason" } })txt");
  ASSERT_NE(config, nullptr);
  EXPECT_TRUE(config->Matches(Request({{"end-user", "jason"}}), nullptr));
  EXPECT_FALSE(config->Matches(Request({{"end-user", "json"}}), nullptr));
  EXPECT_FALSE(config->Matches(Request(), nullptr));
  EXPECT_NE(Error(R"txt(headers { name: "x" safe_regex_match { regex: "(" } })txt")
                .find("fault.headers[0]"),
            std::string::npos);
}

TEST(FaultConfigTest, DownstreamNodes) {
  auto config = Parse(R"txt(
    abort { http_status: 500 percentage { numerator: 100 } }
    downstream_nodes: "a" downstream_nodes: "b")txt");
  ASSERT_NE(config, nullptr);
  EXPECT_TRUE(config->Matches(Request({{"x-envoy-downstream-service-node", "b"}}), nullptr));
  EXPECT_FALSE(config->Matches(Request({{"x-envoy-downstream-service-node", "c"}}), nullptr));
  EXPECT_FALSE(config->Matches(Request(), nullptr));
}

std::unique_ptr<router::CompiledRoute> MakeRoute(const std::string& cluster,
                                                 const std::string& cluster_header,
                                                 std::vector<std::string> weighted) {
  config::Route r;
  r.route.cluster = cluster;
  r.route.cluster_header = cluster_header;
  for (auto& name : weighted) r.route.weighted_clusters.push_back({name, 1, {}});
  auto compiled = router::CompiledRoute::Create(r);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return std::move(*compiled);
}

TEST(FaultConfigTest, UpstreamClusterComparesTheRoutesCluster) {
  auto config = Parse(R"txt(
    abort { http_status: 500 percentage { numerator: 100 } }
    upstream_cluster: "ratings")txt");
  ASSERT_NE(config, nullptr);
  const auto request = Request({{"x-cluster", "ratings"}});
  EXPECT_TRUE(config->Matches(request, MakeRoute("ratings", "", {}).get()));
  EXPECT_FALSE(config->Matches(request, MakeRoute("reviews", "", {}).get()));
  EXPECT_TRUE(config->Matches(request, MakeRoute("", "x-cluster", {}).get()));
  EXPECT_FALSE(config->Matches(Request(), MakeRoute("", "x-cluster", {}).get()));
  // The weighted pick is the router's, after this filter: documented as never matching.
  EXPECT_FALSE(config->Matches(request, MakeRoute("", "", {"ratings"}).get()));
  EXPECT_FALSE(config->Matches(request, nullptr));
}

TEST(FaultConfigTest, HeaderControlledDelay) {
  auto config = Parse(R"txt(
    delay { header_delay {} percentage { numerator: 50 } })txt");
  ASSERT_NE(config, nullptr);
  EXPECT_FALSE(config->DelayFor(Request(), 0));  // no header: no delay
  EXPECT_EQ(config->DelayFor(Request({{"x-envoy-fault-delay-request", "250"}}), 0),
            milliseconds(250));
  EXPECT_FALSE(config->DelayFor(Request({{"x-envoy-fault-delay-request", "250"}}), 50));
  EXPECT_FALSE(config->DelayFor(Request({{"x-envoy-fault-delay-request", "abc"}}), 0));
  EXPECT_FALSE(config->DelayFor(Request({{"x-envoy-fault-delay-request", "0"}}), 0));
  // The percentage header lowers the configured numerator, never raises it.
  const auto lowered = Request(
      {{"x-envoy-fault-delay-request", "10"}, {"x-envoy-fault-delay-request-percentage", "5"}});
  EXPECT_TRUE(config->DelayFor(lowered, 4));
  EXPECT_FALSE(config->DelayFor(lowered, 5));
  const auto raised = Request(
      {{"x-envoy-fault-delay-request", "10"}, {"x-envoy-fault-delay-request-percentage", "90"}});
  EXPECT_TRUE(config->DelayFor(raised, 49));
  EXPECT_FALSE(config->DelayFor(raised, 50));
}

TEST(FaultConfigTest, HeaderControlledAbort) {
  auto config = Parse(R"txt(
    abort { header_abort {} percentage { numerator: 100 } })txt");
  ASSERT_NE(config, nullptr);
  EXPECT_FALSE(config->AbortFor(Request(), 0));
  EXPECT_EQ(config->AbortFor(Request({{"x-envoy-fault-abort-request", "429"}}), 0), 429);
  EXPECT_FALSE(config->AbortFor(Request({{"x-envoy-fault-abort-request", "600"}}), 0));
  EXPECT_FALSE(config->AbortFor(Request({{"x-envoy-fault-abort-request", "199"}}), 0));
  EXPECT_FALSE(config->AbortFor(Request({{"x-envoy-fault-abort-request", "5x"}}), 0));
  const auto zero = Request(
      {{"x-envoy-fault-abort-request", "503"}, {"x-envoy-fault-abort-request-percentage", "0"}});
  EXPECT_FALSE(config->AbortFor(zero, 0));
}

TEST(FaultConfigTest, FixedFaultsIgnoreControlHeaders) {
  auto config = Parse(R"txt(
    delay { fixed_delay { nanos: 5000000 } percentage { numerator: 100 } }
    abort { http_status: 503 percentage { numerator: 100 } })txt");
  ASSERT_NE(config, nullptr);
  const auto request = Request({{"x-envoy-fault-delay-request", "999"},
                                {"x-envoy-fault-delay-request-percentage", "0"},
                                {"x-envoy-fault-abort-request", "404"},
                                {"x-envoy-fault-abort-request-percentage", "0"}});
  EXPECT_EQ(config->DelayFor(request, 7), milliseconds(5));
  EXPECT_EQ(config->AbortFor(request, 7), 503);
}

TEST(FaultConfigTest, FromAnyConfig) {
  HTTPFault proto = Proto("abort { http_status: 503 percentage { numerator: 100 } }");
  const config::AnyConfig any(
      "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
      proto.SerializeAsString());
  auto config = ParseFaultConfig(&any, "fault", nullptr);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->AbortFor(Request(), 0), 503);

  auto empty = ParseFaultConfig(nullptr, "fault", nullptr);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE((*empty)->abort);

  const config::AnyConfig wrong(
      "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", "");
  auto error = ParseFaultConfig(&wrong, "fault", nullptr);
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.status().message().find("fault: expected type"), absl::string_view::npos);
}

}  // namespace
}  // namespace pilotfish::filters::fault
