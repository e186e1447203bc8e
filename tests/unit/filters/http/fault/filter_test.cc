// Tests for FaultFilter driven through its callbacks: delays on the worker's loop, aborts,
// max_active_faults, per-route overrides, cancellation on destroy and independent draws.
#include "filters/http/fault/filter.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "proxy/router/route_table.h"
#include "proxy/server/worker.h"

namespace pilotfish::filters::fault {
namespace {

using envoy::extensions::filters::http::fault::v3::HTTPFault;

FaultConfigSharedPtr Fault(const std::string& text) {
  HTTPFault proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &proto)) << text;
  auto config = ParseFaultConfig(proto, "fault", nullptr);
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

constexpr char kFilterName[] = "envoy.filters.http.fault";

class FakeCallbacks : public http::DecoderFilterCallbacks {
 public:
  explicit FakeCallbacks(server::Worker& worker) : worker_(worker) {
    headers_.method = "GET";
    headers_.path = "/";
    headers_.authority = "example.com";
  }

  server::Worker& worker() override { return worker_; }
  event::Dispatcher& dispatcher() override { return worker_.dispatcher(); }
  http::StreamInfo& stream_info() override { return info_; }
  const http::RequestHeaders& request_headers() override { return headers_; }
  const net::Address& downstream_remote_address() const override { return remote_; }
  const router::CompiledRoute* route() override { return match_.route; }
  const router::CompiledVirtualHost* virtual_host() override { return match_.vhost; }
  void ContinueDecoding() override {
    ++continued;
    worker_.dispatcher().Exit();
  }
  void SendLocalReply(int status, std::string_view body, http::ResponseFlag flag,
                      std::string_view details) override {
    local_status = status;
    local_body = std::string(body);
    info_.SetFlag(flag);
    local_details = std::string(details);
    worker_.dispatcher().Exit();
  }
  void Encode1xxHeaders(http::ResponseHeadersPtr) override {}
  void EncodeHeaders(http::ResponseHeadersPtr, bool) override {}
  void EncodeData(std::string_view, bool) override {}
  void EncodeTunnelData(std::string_view) override {}
  void EncodeTunnelEof() override {}
  void ReadDisableDownstream(bool) override {}
  void ResetStream() override {}
  uint32_t buffer_limit() const override { return 1 << 20; }
  bool suppress_envoy_headers() const override { return false; }
  bool UpgradeAllowedByHcm(std::string_view) const override { return false; }

  http::RequestHeaders headers_;
  router::RouteTable::Match match_;
  http::StreamInfo info_;
  int continued = 0;
  int local_status = 0;
  std::string local_body;
  std::string local_details;

 private:
  server::Worker& worker_;
  net::Address remote_;
};

class FaultFilterTest : public ::testing::Test {
 protected:
  FaultFilterTest() : worker_(0, 1234) {}

  std::unique_ptr<FaultFilter> MakeFilter(FakeCallbacks& callbacks,
                                          const std::shared_ptr<FaultFilterFactory>& factory) {
    http::DecoderFilterPtr created = factory->Create();
    std::unique_ptr<FaultFilter> filter(static_cast<FaultFilter*>(created.release()));
    filter->SetDecoderFilterCallbacks(callbacks);
    return filter;
  }

  // Runs the worker's loop until a callback calls Exit(), with a guard against hanging.
  void RunUntilCallback() {
    event::Timer guard(worker_.dispatcher(), [this] {
      ADD_FAILURE() << "no callback within 5 s";
      worker_.dispatcher().Exit();
    });
    guard.Enable(std::chrono::seconds(5));
    worker_.dispatcher().Run();
  }

  bool LoopHasActiveHandles() { return uv_loop_alive(worker_.dispatcher().loop()) != 0; }

  server::Worker worker_;
};

TEST_F(FaultFilterTest, AbortSendsLocalReplyWithFlag) {
  auto factory = std::make_shared<FaultFilterFactory>(
      kFilterName, Fault("abort { http_status: 503 percentage { numerator: 100 } }"));
  FakeCallbacks cb(worker_);
  auto filter = MakeFilter(cb, factory);
  EXPECT_EQ(filter->DecodeHeaders(cb.headers_, true), http::FilterHeadersStatus::kStopIteration);
  EXPECT_EQ(cb.local_status, 503);
  EXPECT_EQ(cb.local_body, "fault filter abort");
  EXPECT_EQ(cb.local_details, "fault_filter_abort");
  EXPECT_EQ(http::ResponseFlagsToString(cb.info_.response_flags), "FI");
  filter->OnDestroy();
}

TEST_F(FaultFilterTest, NoFaultContinues) {
  auto factory = std::make_shared<FaultFilterFactory>(kFilterName, Fault(""));
  FakeCallbacks cb(worker_);
  auto filter = MakeFilter(cb, factory);
  EXPECT_EQ(filter->DecodeHeaders(cb.headers_, true), http::FilterHeadersStatus::kContinue);
  EXPECT_EQ(filter->DecodeData("x", true), http::FilterDataStatus::kContinue);
  EXPECT_EQ(cb.info_.response_flags, 0u);
  filter->OnDestroy();
}

TEST_F(FaultFilterTest, DelayHoldsThenContinues) {
  auto factory = std::make_shared<FaultFilterFactory>(
      kFilterName,
      Fault("delay { fixed_delay { nanos: 30000000 } percentage { numerator: 100 } }"));
  FakeCallbacks cb(worker_);
  auto filter = MakeFilter(cb, factory);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(filter->DecodeHeaders(cb.headers_, true), http::FilterHeadersStatus::kStopIteration);
  EXPECT_EQ(http::ResponseFlagsToString(cb.info_.response_flags), "DI");
  EXPECT_EQ(cb.continued, 0);
  RunUntilCallback();
  EXPECT_EQ(cb.continued, 1);
  EXPECT_EQ(cb.local_status, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(29));
  filter->OnDestroy();
}

TEST_F(FaultFilterTest, DelayThenAbort) {
  auto factory = std::make_shared<FaultFilterFactory>(kFilterName, Fault(R"txt(
        delay { fixed_delay { nanos: 1000000 } percentage { numerator: 100 } }
        abort { http_status: 502 percentage { numerator: 100 } })txt"));
  FakeCallbacks cb(worker_);
  auto filter = MakeFilter(cb, factory);
  EXPECT_EQ(filter->DecodeHeaders(cb.headers_, true), http::FilterHeadersStatus::kStopIteration);
  EXPECT_EQ(cb.local_status, 0);  // the abort comes after the delay
  RunUntilCallback();
  EXPECT_EQ(cb.local_status, 502);
  EXPECT_EQ(cb.continued, 0);
  EXPECT_EQ(http::ResponseFlagsToString(cb.info_.response_flags), "DI,FI");
  filter->OnDestroy();
}

TEST_F(FaultFilterTest, DestroyCancelsTheDelay) {
  auto factory = std::make_shared<FaultFilterFactory>(
      kFilterName, Fault("delay { fixed_delay { seconds: 60 } percentage { numerator: 100 } }"));
  FakeCallbacks cb(worker_);
  auto filter = MakeFilter(cb, factory);
  EXPECT_EQ(filter->DecodeHeaders(cb.headers_, true), http::FilterHeadersStatus::kStopIteration);
  EXPECT_TRUE(LoopHasActiveHandles());  // the delay timer
  filter->OnDestroy();
  EXPECT_FALSE(LoopHasActiveHandles());  // nothing left that could call back
  filter.reset();
  uv_run(worker_.dispatcher().loop(), UV_RUN_NOWAIT);
  EXPECT_EQ(cb.continued, 0);
}

TEST_F(FaultFilterTest, MaxActiveFaultsBoundsConcurrentFaults) {
  auto factory = std::make_shared<FaultFilterFactory>(kFilterName, Fault(R"txt(
        delay { fixed_delay { seconds: 60 } percentage { numerator: 100 } }
        max_active_faults { value: 1 })txt"));
  FakeCallbacks cb1(worker_), cb2(worker_), cb3(worker_);
  auto first = MakeFilter(cb1, factory);
  auto second = MakeFilter(cb2, factory);
  EXPECT_EQ(first->DecodeHeaders(cb1.headers_, true), http::FilterHeadersStatus::kStopIteration);
  EXPECT_EQ(second->DecodeHeaders(cb2.headers_, true), http::FilterHeadersStatus::kContinue);
  EXPECT_EQ(cb2.info_.response_flags, 0u);
  first->OnDestroy();  // the fault ends: room for another
  auto third = MakeFilter(cb3, factory);
  EXPECT_EQ(third->DecodeHeaders(cb3.headers_, true), http::FilterHeadersStatus::kStopIteration);
  third->OnDestroy();
  second->OnDestroy();
}

TEST_F(FaultFilterTest, PerRouteOverrideWinsOverVirtualHostAndFilterLevel) {
  config::RouteConfiguration rc;
  config::VirtualHost vh;
  vh.name = "vh";
  vh.domains = {"*"};
  vh.typed_per_filter_config.emplace_back(
      kFilterName, Fault("abort { http_status: 501 percentage { numerator: 100 } }"));
  config::Route jason;
  jason.match.kind = config::PathMatchKind::kPrefix;
  jason.match.value = "/jason";
  jason.route.cluster = "c";
  jason.typed_per_filter_config.emplace_back(
      kFilterName, Fault("abort { http_status: 500 percentage { numerator: 100 } }"));
  config::Route other_name = jason;
  other_name.match.value = "/other";
  other_name.typed_per_filter_config = {
      {"another.fault", Fault("abort { http_status: 555 percentage { numerator: 100 } }")}};
  vh.routes = {jason, other_name};
  rc.virtual_hosts.push_back(vh);
  config::VirtualHost plain;
  plain.name = "plain";
  plain.domains = {"plain.example"};
  config::Route any_route;
  any_route.route.cluster = "c";
  plain.routes.push_back(any_route);
  rc.virtual_hosts.push_back(plain);
  auto table = router::RouteTable::Create(rc);
  ASSERT_TRUE(table.ok()) << table.status();

  auto factory = std::make_shared<FaultFilterFactory>(
      kFilterName, Fault("abort { http_status: 503 percentage { numerator: 100 } }"));
  auto status_for = [&](const std::string& authority, const std::string& path) {
    FakeCallbacks cb(worker_);
    cb.headers_.authority = authority;
    cb.headers_.path = path;
    cb.match_ = (*table)->Find(cb.headers_, 0);
    auto filter = MakeFilter(cb, factory);
    filter->DecodeHeaders(cb.headers_, true);
    filter->OnDestroy();
    return cb.local_status;
  };
  EXPECT_EQ(status_for("example.com", "/jason"), 500);  // route
  EXPECT_EQ(status_for("example.com", "/other"), 501);  // vhost (route's key is another name)
  EXPECT_EQ(status_for("plain.example", "/"), 503);     // filter level
}

TEST_F(FaultFilterTest, EachRequestDrawsFromTheWorkersRandom) {
  auto factory = std::make_shared<FaultFilterFactory>(
      kFilterName, Fault("abort { http_status: 503 percentage { numerator: 10 } }"));
  int aborts = 0;
  constexpr int kRequests = 20000;
  for (int i = 0; i < kRequests; ++i) {
    FakeCallbacks cb(worker_);
    auto filter = MakeFilter(cb, factory);
    if (filter->DecodeHeaders(cb.headers_, true) == http::FilterHeadersStatus::kStopIteration) {
      EXPECT_EQ(cb.local_status, 503);
      ++aborts;
    }
    filter->OnDestroy();
  }
  EXPECT_NEAR(aborts / static_cast<double>(kRequests), 0.10, 0.015);
}

}  // namespace
}  // namespace pilotfish::filters::fault
