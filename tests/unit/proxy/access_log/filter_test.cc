// Access log filters: status code and duration comparisons, response flags, and/or trees.
#include "proxy/access_log/filter.h"

#include <gtest/gtest.h>

namespace pilotfish::access_log {
namespace {

using Kind = config::AccessLogFilter::Kind;
using Op = config::AccessLogFilter::Op;

config::AccessLogFilter Compare(Kind kind, Op op, uint32_t value) {
  config::AccessLogFilter f;
  f.kind = kind;
  f.op = op;
  f.value = value;
  return f;
}

class FilterTest : public ::testing::Test {
 protected:
  bool Eval(const config::AccessLogFilter& config) {
    auto f = Filter::Create(config);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() && f->Evaluate(LogContext{info_});
  }
  void SetDuration(int ms) {
    info_.start_mono = std::chrono::steady_clock::time_point(std::chrono::seconds(100));
    info_.end = info_.start_mono + std::chrono::milliseconds(ms);
  }
  http::StreamInfo info_;
};

TEST_F(FilterTest, StatusCode) {
  info_.response_code = 503;
  EXPECT_TRUE(Eval(Compare(Kind::kStatusCode, Op::kGe, 500)));
  EXPECT_TRUE(Eval(Compare(Kind::kStatusCode, Op::kEq, 503)));
  EXPECT_FALSE(Eval(Compare(Kind::kStatusCode, Op::kLe, 499)));
  info_.response_code = 200;
  EXPECT_FALSE(Eval(Compare(Kind::kStatusCode, Op::kGe, 500)));
  info_.response_code = 0;  // no response (TCP, or the client went away): compares as 0
  EXPECT_TRUE(Eval(Compare(Kind::kStatusCode, Op::kEq, 0)));
}

TEST_F(FilterTest, Duration) {
  SetDuration(250);
  EXPECT_TRUE(Eval(Compare(Kind::kDuration, Op::kGe, 200)));
  EXPECT_FALSE(Eval(Compare(Kind::kDuration, Op::kLe, 100)));
  EXPECT_TRUE(Eval(Compare(Kind::kDuration, Op::kEq, 250)));
  info_.end = {};  // not finished: Envoy's duration filter does not match
  EXPECT_FALSE(Eval(Compare(Kind::kDuration, Op::kGe, 0)));
}

TEST_F(FilterTest, ResponseFlags) {
  config::AccessLogFilter f;
  f.kind = Kind::kResponseFlag;
  EXPECT_FALSE(Eval(f));  // no names: any flag
  info_.SetFlag(http::kUpstreamConnectionFailure);
  EXPECT_TRUE(Eval(f));
  f.flags = {"UH", "NR"};
  EXPECT_FALSE(Eval(f));
  f.flags = {"UH", "UF"};
  EXPECT_TRUE(Eval(f));
  f.flags = {"RL"};  // known to Envoy, never set by pilotfish
  EXPECT_FALSE(Eval(f));
  f.flags = {"XX"};
  auto bad = Filter::Create(f);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unknown response flag 'XX'");
  EXPECT_TRUE(IsEnvoyResponseFlagName("UMSDR"));
  EXPECT_FALSE(IsEnvoyResponseFlagName("uf"));
}

TEST_F(FilterTest, NotHealthCheckAndTrees) {
  config::AccessLogFilter not_hc;
  not_hc.kind = Kind::kNotHealthCheck;
  EXPECT_TRUE(Eval(not_hc));
  info_.response_code = 404;
  SetDuration(5);
  config::AccessLogFilter both;
  both.kind = Kind::kAnd;
  both.filters = {Compare(Kind::kStatusCode, Op::kGe, 400), not_hc,
                  Compare(Kind::kDuration, Op::kGe, 10)};
  EXPECT_FALSE(Eval(both));
  config::AccessLogFilter either = both;
  either.kind = Kind::kOr;
  EXPECT_TRUE(Eval(either));
  both.filters.pop_back();
  EXPECT_TRUE(Eval(both));
  either.filters = {Compare(Kind::kStatusCode, Op::kGe, 500),
                    Compare(Kind::kDuration, Op::kGe, 10)};
  EXPECT_FALSE(Eval(either));
}

}  // namespace
}  // namespace pilotfish::access_log
