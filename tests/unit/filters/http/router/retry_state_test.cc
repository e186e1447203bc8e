// RetryState: which failures and responses are retried, header overrides, and back-off.
#include "filters/http/router/retry_state.h"

#include <gtest/gtest.h>

#include <deque>

namespace pilotfish::filters::router {
namespace {

http::RequestHeaders Request() {
  http::RequestHeaders h;
  h.method = "GET";
  h.path = "/";
  h.authority = "svc";
  return h;
}

config::RetryPolicy Policy(std::vector<std::string> retry_on, uint32_t n) {
  config::RetryPolicy p;
  p.retry_on = std::move(retry_on);
  p.num_retries = n;
  return p;
}

config::HeaderMatcher RegexHeader(std::string name, std::string pattern) {
  config::HeaderMatcher m;
  m.name = std::move(name);
  m.kind = config::HeaderMatcher::Kind::kString;
  m.string_match.kind = config::StringMatchKind::kSafeRegex;
  m.string_match.value = std::move(pattern);
  return m;
}

// Policies compiled as a route table compiles them; each points into its config, which the test
// keeps alive.
class RetryStateTest : public ::testing::Test {
 protected:
  const RetryState::Policy* C(const config::RetryPolicy& p) {
    auto compiled = RetryState::Policy::Create(p);
    EXPECT_TRUE(compiled.ok()) << compiled.status();
    return &compiled_.emplace_back(std::move(*compiled));
  }

 private:
  std::deque<RetryState::Policy> compiled_;
};

http::ResponseHeaders Response(int status) {
  http::ResponseHeaders r;
  r.status = status;
  return r;
}

TEST_F(RetryStateTest, NoPolicyNoHeadersMeansNoRetry) {
  auto h = Request();
  EXPECT_EQ(RetryState::Create(nullptr, nullptr, h), nullptr);
}

TEST_F(RetryStateTest, PerTryIdleTimeoutAloneKeepsAState) {
  // Without retry_on the idle timeout still has to run (it then ends the request with 504).
  config::RetryPolicy p;
  p.num_retries = 0;
  p.per_try_idle_timeout = std::chrono::milliseconds(250);
  auto h = Request();
  auto s = RetryState::Create(C(p), nullptr, h);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->per_try_idle_timeout().count(), 250);
  EXPECT_FALSE(s->MatchesReset(RetryState::Reset::kPerTryTimeout, true));
  auto q = Policy({"5xx"}, 1);
  auto s2 = RetryState::Create(C(q), nullptr, h);
  ASSERT_NE(s2, nullptr);
  EXPECT_EQ(s2->per_try_idle_timeout().count(), 0);
}

TEST_F(RetryStateTest, FiveXxCoversResponsesAndResets) {
  auto p = Policy({"5xx"}, 3);
  auto h = Request();
  auto s = RetryState::Create(C(p), nullptr, h);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->MatchesResponse(Response(500)));
  EXPECT_TRUE(s->MatchesResponse(Response(503)));
  EXPECT_FALSE(s->MatchesResponse(Response(404)));
  EXPECT_FALSE(s->MatchesResponse(Response(200)));
  EXPECT_TRUE(s->MatchesReset(RetryState::Reset::kConnectFailure, false));
  EXPECT_TRUE(s->MatchesReset(RetryState::Reset::kConnectionTermination, true));
  EXPECT_TRUE(s->MatchesReset(RetryState::Reset::kPerTryTimeout, true));
  EXPECT_FALSE(s->MatchesReset(RetryState::Reset::kOverflow, false));
}

TEST_F(RetryStateTest, GatewayErrorIsOnly502To504) {
  auto p = Policy({"gateway-error"}, 1);
  auto h = Request();
  auto s = RetryState::Create(C(p), nullptr, h);
  EXPECT_FALSE(s->MatchesResponse(Response(500)));
  EXPECT_TRUE(s->MatchesResponse(Response(502)));
  EXPECT_TRUE(s->MatchesResponse(Response(503)));
  EXPECT_TRUE(s->MatchesResponse(Response(504)));
}

TEST_F(RetryStateTest, ConnectFailureOnlyRetriesConnectFailures) {
  auto p = Policy({"connect-failure"}, 1);
  auto h = Request();
  auto s = RetryState::Create(C(p), nullptr, h);
  EXPECT_TRUE(s->MatchesReset(RetryState::Reset::kConnectFailure, false));
  EXPECT_FALSE(s->MatchesReset(RetryState::Reset::kConnectionTermination, true));
  EXPECT_FALSE(s->MatchesResponse(Response(503)));
}

TEST_F(RetryStateTest, ResetBeforeRequestOnlyBeforeTheRequestWasSent) {
  auto p = Policy({"reset-before-request"}, 1);
  auto h = Request();
  auto s = RetryState::Create(C(p), nullptr, h);
  EXPECT_TRUE(s->MatchesReset(RetryState::Reset::kConnectFailure, false));
  EXPECT_FALSE(s->MatchesReset(RetryState::Reset::kConnectionTermination, true));
}

TEST_F(RetryStateTest, Retriable4xxAndStatusCodesAndGrpc) {
  auto p = Policy({"retriable-4xx", "retriable-status-codes", "unavailable"}, 1);
  p.retriable_status_codes = {418};
  auto h = Request();
  auto s = RetryState::Create(C(p), nullptr, h);
  EXPECT_TRUE(s->MatchesResponse(Response(409)));
  EXPECT_TRUE(s->MatchesResponse(Response(418)));
  EXPECT_FALSE(s->MatchesResponse(Response(429)));
  auto grpc = Response(200);
  grpc.headers.Add("grpc-status", "14");
  EXPECT_TRUE(s->MatchesResponse(grpc));
  grpc.headers.Set("grpc-status", "2");
  EXPECT_FALSE(s->MatchesResponse(grpc));
}

TEST_F(RetryStateTest, RetriableHeadersMatchResponseHeaders) {
  auto p = Policy({"retriable-headers"}, 1);
  config::HeaderMatcher m;
  m.name = "x-upstream-pushback";
  m.kind = config::HeaderMatcher::Kind::kPresent;
  p.retriable_headers.push_back(m);
  auto h = Request();
  auto s = RetryState::Create(C(p), nullptr, h);
  auto r = Response(200);
  EXPECT_FALSE(s->MatchesResponse(r));
  r.headers.Add("x-upstream-pushback", "1");
  EXPECT_TRUE(s->MatchesResponse(r));
}

TEST_F(RetryStateTest, RouteWinsOverVirtualHost) {
  auto route = Policy({"connect-failure"}, 1);
  auto vhost = Policy({"5xx"}, 5);
  auto h = Request();
  auto s = RetryState::Create(C(route), C(vhost), h);
  EXPECT_FALSE(s->MatchesResponse(Response(500)));
  auto h2 = Request();
  auto v = RetryState::Create(nullptr, C(vhost), h2);
  EXPECT_TRUE(v->MatchesResponse(Response(500)));
}

TEST_F(RetryStateTest, RequestHeadersEnableAndOverrideThenAreRemoved) {
  auto h = Request();
  h.headers.Add("x-envoy-retry-on", "5xx,retriable-status-codes");
  h.headers.Add("x-envoy-max-retries", "4");
  h.headers.Add("x-envoy-retriable-status-codes", "418,420");
  h.headers.Add("x-envoy-upstream-rq-per-try-timeout-ms", "250");
  auto s = RetryState::Create(nullptr, nullptr, h);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->MatchesResponse(Response(500)));
  EXPECT_TRUE(s->MatchesResponse(Response(420)));
  EXPECT_EQ(s->per_try_timeout(), std::chrono::milliseconds(250));
  int taken = 0;
  while (s->retries_left()) {
    s->ConsumeRetry(0);
    ++taken;
  }
  EXPECT_EQ(taken, 4);
  EXPECT_EQ(h.headers.size(), 0u) << "x-envoy retry headers must not go upstream";
}

TEST_F(RetryStateTest, RetriableRequestHeadersGateRetries) {
  auto p = Policy({"5xx"}, 2);
  config::HeaderMatcher m;
  m.name = ":method";
  m.kind = config::HeaderMatcher::Kind::kString;
  m.string_match.value = "GET";
  p.retriable_request_headers.push_back(m);
  auto get = Request();
  EXPECT_NE(RetryState::Create(C(p), nullptr, get), nullptr);
  auto post = Request();
  post.method = "POST";
  EXPECT_EQ(RetryState::Create(C(p), nullptr, post), nullptr);
}

TEST_F(RetryStateTest, FullJitterExponentialBackOffCappedAtTenTimesBase) {
  auto p = Policy({"5xx"}, 5);  // base 25 ms
  auto h = Request();
  auto s = RetryState::Create(C(p), nullptr, h);
  // Windows: 25, 75, 175, 375, 775 ms; the cap is 250 ms. random % window, then the cap.
  EXPECT_EQ(s->ConsumeRetry(1000).count(), 1000 % 25);
  EXPECT_EQ(s->ConsumeRetry(1000).count(), 1000 % 75);
  EXPECT_EQ(s->ConsumeRetry(174).count(), 174);
  EXPECT_EQ(s->ConsumeRetry(374).count(), 250);
  EXPECT_EQ(s->ConsumeRetry(10).count(), 10);
  EXPECT_FALSE(s->retries_left());
}

TEST_F(RetryStateTest, MaxIntervalOverridesTheCap) {
  auto p = Policy({"5xx"}, 3);
  p.base_interval = std::chrono::milliseconds(100);
  p.max_interval = std::chrono::milliseconds(120);
  auto h = Request();
  auto s = RetryState::Create(C(p), nullptr, h);
  EXPECT_EQ(s->ConsumeRetry(99).count(), 99);
  EXPECT_EQ(s->ConsumeRetry(299).count(), 120);
}

TEST_F(RetryStateTest, DisableRetriesStopsFurtherRetries) {
  auto p = Policy({"5xx"}, 3);
  auto h = Request();
  auto s = RetryState::Create(C(p), nullptr, h);
  EXPECT_TRUE(s->retries_left());
  s->DisableRetries();
  EXPECT_FALSE(s->retries_left());
  EXPECT_TRUE(s->MatchesResponse(Response(500))) << "matching is independent of the count";
}

TEST_F(RetryStateTest, RetriableHeaderMatchersAreCompiledWithThePolicy) {
  // A matcher that cannot compile fails the policy (and so its route table), naming the field,
  // instead of being dropped per request.
  auto p = Policy({"retriable-headers"}, 1);
  const config::HeaderMatcher bad = RegexHeader("x-retry", "(unclosed");
  p.retriable_request_headers.push_back(bad);
  auto compiled = RetryState::Policy::Create(p);
  ASSERT_FALSE(compiled.ok());
  EXPECT_NE(compiled.status().message().find("retry_policy.retriable_request_headers[0]"),
            std::string::npos)
      << compiled.status();
  p.retriable_request_headers.clear();
  p.retriable_headers.push_back(bad);
  compiled = RetryState::Policy::Create(p);
  ASSERT_FALSE(compiled.ok());
  EXPECT_NE(compiled.status().message().find("retry_policy.retriable_headers[0]"),
            std::string::npos)
      << compiled.status();
}

TEST_F(RetryStateTest, RegexRetriableHeadersMatch) {
  auto p = Policy({"retriable-headers"}, 1);
  p.retriable_headers.push_back(RegexHeader(":status", "42[0-9]"));
  auto h = Request();
  auto s = RetryState::Create(C(p), nullptr, h);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->MatchesResponse(Response(429)));
  EXPECT_FALSE(s->MatchesResponse(Response(430)));
}

}  // namespace
}  // namespace pilotfish::filters::router
