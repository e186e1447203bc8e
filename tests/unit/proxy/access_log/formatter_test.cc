// Access log formats: every operator, header alternatives and truncation, START_TIME formats,
// JSON typing and escaping, and the errors Envoy gives at load.
#include "proxy/access_log/formatter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

namespace pilotfish::access_log {
namespace {

using std::chrono::milliseconds;

class FormatterTest : public ::testing::Test {
 protected:
  FormatterTest() {
    // 2024-03-05T06:07:08.123456789Z
    info_.start_time = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(1709618828123456789LL)));
    const auto t0 = std::chrono::steady_clock::time_point(std::chrono::seconds(1000));
    info_.start_mono = t0;
    info_.last_downstream_rx = t0 + milliseconds(2);
    info_.first_upstream_tx = t0 + milliseconds(3);
    info_.last_upstream_tx = t0 + milliseconds(4);
    info_.first_upstream_rx = t0 + milliseconds(10);
    info_.last_downstream_tx = t0 + milliseconds(15);
    info_.end = t0 + milliseconds(17);
    info_.response_code = 200;
    info_.response_code_details = "via_upstream";
    info_.route_name = "r1";
    info_.upstream_cluster = "backend";
    info_.upstream_host = *net::Address::FromIpPort("10.0.0.2", 8080);
    info_.upstream_local_address = *net::Address::FromIpPort("10.0.0.1", 40000);
    info_.attempt_count = 2;
    info_.bytes_received = 12;
    info_.bytes_sent = 345;
    req_.method = "POST";
    req_.path = "/api?x=1";
    req_.authority = "example.com";
    req_.headers.Add("user-agent", "curl/8");
    req_.headers.Add("x-request-id", "rid-1");
    resp_.status = 200;
    resp_.headers.Add("x-envoy-upstream-service-time", "7");
    resp_.headers.Add("content-length", "345");
  }

  std::string Text(std::string_view format, bool omit = false) {
    auto f = Formatter::Text(format, omit);
    EXPECT_TRUE(f.ok()) << f.status();
    if (!f.ok()) return "";
    std::string out;
    (*f)->Format(Context(), out);
    return out;
  }
  std::string Json(const std::vector<std::pair<std::string, std::string>>& fields, bool typed,
                   bool omit = false) {
    auto f = Formatter::Json(fields, typed, omit);
    EXPECT_TRUE(f.ok()) << f.status();
    if (!f.ok()) return "";
    std::string out;
    (*f)->Format(Context(), out);
    return out;
  }
  std::string Error(std::string_view format) {
    auto f = Formatter::Text(format);
    return f.ok() ? "ok" : std::string(f.status().message());
  }
  LogContext Context() {
    return LogContext{
        .info = info_,
        .request_headers = tcp_ ? nullptr : &req_,
        .response_headers = tcp_ ? nullptr : &resp_,
        .protocol = tcp_ ? nullptr : (req_.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1"),
        .downstream_local = &local_,
        .downstream_remote = &remote_,
        .connection_id = 42};
  }

  http::StreamInfo info_;
  http::RequestHeaders req_;
  http::ResponseHeaders resp_;
  net::Address local_ = *net::Address::FromIpPort("127.0.0.1", 10000);
  net::Address remote_ = *net::Address::FromIpPort("127.0.0.2", 5555);
  bool tcp_ = false;
};

TEST_F(FormatterTest, EnvoyDefaultFormat) {
  EXPECT_EQ(Text(""),
            "[2024-03-05T06:07:08.123Z] \"POST /api?x=1 HTTP/1.1\" 200 - 12 345 17 7 \"-\" "
            "\"curl/8\" \"rid-1\" \"example.com\" \"10.0.0.2:8080\"\n");
  req_.headers.Add("x-envoy-original-path", "/orig");
  req_.version_minor = 0;
  EXPECT_EQ(Text("%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"), "/orig HTTP/1.0");
}

TEST_F(FormatterTest, IstioDefaultFormat) {
  const char* istio =
      "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
      "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "
      "\"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
      "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
      "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW% "
      "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
      "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";
  EXPECT_EQ(Text(istio),
            "[2024-03-05T06:07:08.123Z] \"POST /api?x=1 HTTP/1.1\" 200 - via_upstream - \"-\" 12 "
            "345 17 7 \"-\" \"curl/8\" \"rid-1\" \"example.com\" \"10.0.0.2:8080\" backend "
            "10.0.0.1:40000 127.0.0.1:10000 127.0.0.2:5555 - r1\n");
}

TEST_F(FormatterTest, HeaderAlternativesAndTruncation) {
  EXPECT_EQ(Text("%REQ(X-MISSING?USER-AGENT)%|%REQ(USER-AGENT?X-REQUEST-ID)%"), "curl/8|curl/8");
  EXPECT_EQ(Text("%REQ(X-MISSING?X-ALSO-MISSING)%"), "-");
  EXPECT_EQ(Text("%REQ(USER-AGENT):3%|%REQ(:PATH):4%|%REQ(X-NOPE):2%"), "cur|/api|-");
  EXPECT_EQ(Text("%RESP(CONTENT-LENGTH)% %RESP(X-NOPE?x-envoy-upstream-service-time):0%"), "345 ");
  EXPECT_EQ(Text("%RESP(:STATUS)% %TRAILER(GRPC-STATUS)% %REQ(:AUTHORITY)% %REQ(HOST)%"),
            "200 - example.com example.com");
  req_.headers.Add("x-empty", "");
  EXPECT_EQ(Text("[%REQ(X-EMPTY)%]"), "[]");  // present but empty: not "-"
}

TEST_F(FormatterTest, StartTimeFormats) {
  EXPECT_EQ(Text("%START_TIME%"), "2024-03-05T06:07:08.123Z");
  EXPECT_EQ(Text("%START_TIME(%Y/%m/%d %H:%M:%S)%"), "2024/03/05 06:07:08");
  EXPECT_EQ(Text("%START_TIME(%s)%"), "1709618828");
  EXPECT_EQ(Text("%START_TIME(%s.%3f)%|%START_TIME(%s.%6f)%|%START_TIME(%f)%"),
            "1709618828.123|1709618828.123456|123456789");
  EXPECT_EQ(Text("%START_TIME(%Y-%m-%dT%H:%M:%E3SZ)%"), "2024-03-05T06:07:08.123Z");
  EXPECT_EQ(Text("%START_TIME(%E6S|%%s)%"), "08.123456|%s");
  // The per-thread cache of the default format follows the second.
  info_.start_time += std::chrono::seconds(61);
  EXPECT_EQ(Text("%START_TIME%"), "2024-03-05T06:08:09.123Z");
}

TEST_F(FormatterTest, StreamInfoOperators) {
  EXPECT_EQ(Text("%RESPONSE_CODE% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %REQUEST_DURATION% "
                 "%REQUEST_TX_DURATION% %RESPONSE_DURATION% %RESPONSE_TX_DURATION%"),
            "200 12 345 17 2 4 10 5");
  EXPECT_EQ(Text("%UPSTREAM_HOST% %UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %UPSTREAM_REMOTE_PORT% "
                 "%UPSTREAM_CLUSTER% %UPSTREAM_CLUSTER_RAW% %UPSTREAM_REQUEST_ATTEMPT_COUNT%"),
            "10.0.0.2:8080 10.0.0.2 8080 backend backend 2");
  EXPECT_EQ(Text("%UPSTREAM_LOCAL_ADDRESS% %UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% "
                 "%UPSTREAM_LOCAL_PORT%"),
            "10.0.0.1:40000 10.0.0.1 40000");
  EXPECT_EQ(
      Text("%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% "
           "%DOWNSTREAM_LOCAL_PORT% %DOWNSTREAM_REMOTE_ADDRESS% "
           "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_PORT% "
           "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS% %DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT% "
           "%DOWNSTREAM_DIRECT_REMOTE_PORT%"),
      "127.0.0.1:10000 127.0.0.1 10000 127.0.0.2:5555 127.0.0.2 5555 127.0.0.2:5555 "
      "127.0.0.2 5555");
  EXPECT_EQ(Text("%ROUTE_NAME% %CONNECTION_ID% %PROTOCOL% %UPSTREAM_PROTOCOL%"),
            "r1 42 HTTP/1.1 HTTP/1.1");
  // Envoy counts names and values, :method/:path/:authority and :status included.
  EXPECT_EQ(Text("%REQUEST_HEADERS_BYTES% %RESPONSE_HEADERS_BYTES% %RESPONSE_TRAILERS_BYTES%"),
            "78 57 0");
  EXPECT_EQ(Text("%REQUESTED_SERVER_NAME% %FILTER_STATE(a.b:PLAIN)% %UPSTREAM_FILTER_STATE(x)% "
                 "%DYNAMIC_METADATA(ns:key)% %VIRTUAL_CLUSTER_NAME% %DOWNSTREAM_PEER_URI_SAN%"),
            "- - - - - -");
}

TEST_F(FormatterTest, AddressForms) {
  remote_ = *net::Address::FromIpPort("192.168.100.255", 65535);
  local_ = *net::Address::FromIpPort("0.10.0.9", 1);
  EXPECT_EQ(Text("%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% "
                 "%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%"),
            "192.168.100.255:65535 0.10.0.9:1 0.10.0.9");
  remote_ = *net::Address::FromIpPort("::1", 8080);
  info_.upstream_host = *net::Address::FromIpPort("fd00::2", 9090);
  EXPECT_EQ(Text("%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% "
                 "%DOWNSTREAM_REMOTE_PORT% %UPSTREAM_HOST% %UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% "
                 "%UPSTREAM_REMOTE_PORT%"),
            "[::1]:8080 ::1 8080 [fd00::2]:9090 fd00::2 9090");
}

TEST_F(FormatterTest, FlagsDetailsAndFailureReasons) {
  EXPECT_EQ(Text("%RESPONSE_FLAGS%"), "-");
  info_.SetFlag(http::kUpstreamConnectionFailure);
  info_.SetFlag(http::kUpstreamRetryLimitExceeded);
  info_.response_code_details = "upstream_reset_before_response_started{connection failure}";
  info_.upstream_transport_failure_reason = "delayed connect error: 111";
  info_.connection_termination_details = "idle timeout";
  EXPECT_EQ(Text("%RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %UPSTREAM_TRANSPORT_FAILURE_REASON%"),
            "UF,URX upstream_reset_before_response_started{connection_failure} "
            "delayed_connect_error:_111");
  EXPECT_EQ(Text("%RESPONSE_CODE_DETAILS(ALLOW_WHITESPACES)%|%CONNECTION_TERMINATION_DETAILS%"),
            "upstream_reset_before_response_started{connection failure}|idle timeout");
}

TEST_F(FormatterTest, UnsetValues) {
  info_ = http::StreamInfo();
  info_.start_mono = std::chrono::steady_clock::time_point(std::chrono::seconds(5));
  tcp_ = true;
  EXPECT_EQ(
      Text("%RESPONSE_CODE% %PROTOCOL% %REQ(:PATH)% %UPSTREAM_HOST% %DURATION% "
           "%RESPONSE_DURATION% %ROUTE_NAME% %UPSTREAM_LOCAL_ADDRESS% %RESPONSE_CODE_DETAILS% "
           "%REQUEST_HEADERS_BYTES%"),
      "0 - - - - - - - - 0");
  EXPECT_EQ(Text("[%PROTOCOL%][%ROUTE_NAME%]", /*omit=*/true), "[][]");
}

TEST_F(FormatterTest, Constants) {
  setenv("PF_ACCESS_LOG_TEST", "value123", 1);
  EXPECT_EQ(Text("%ENVIRONMENT(PF_ACCESS_LOG_TEST)% %ENVIRONMENT(PF_ACCESS_LOG_TEST):5% "
                 "%ENVIRONMENT(PF_ACCESS_LOG_UNSET)%"),
            "value123 value -");
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  EXPECT_EQ(Text("%HOSTNAME%"), host);
}

TEST_F(FormatterTest, LiteralPercentAndText) {
  EXPECT_EQ(Text("100%% done %RESPONSE_CODE%%%\n"), "100% done 200%\n");
  EXPECT_EQ(Text("no operators"), "no operators");
}

TEST_F(FormatterTest, Errors) {
  EXPECT_EQ(Error("%FOO%"), "unknown command operator %FOO% (not supported by pilotfish)");
  EXPECT_EQ(Error("a %REQ% b"), "%REQ% requires a parameter, e.g. REQ(...)");
  EXPECT_EQ(Error("%PROTOCOL(x)%"), "%PROTOCOL% does not take parameters or a length");
  EXPECT_EQ(Error("%START_TIME:10%"), "%START_TIME% does not take a length");
  EXPECT_EQ(Error("%REQ(A?B?C)%"), "%REQ%: more than one alternative header in 'A?B?C'");
  EXPECT_EQ(Error("100% done"),
            "invalid command operator at position 3 of '100% done' (expected "
            "%COMMAND(SUBCOMMAND):LENGTH%; '%%' for '%')");
  EXPECT_NE(Error("%REQ(X"), "ok");
  EXPECT_NE(Error("%REQ(X):%"), "ok");
  EXPECT_NE(Error("%lower%"), "ok");
  EXPECT_NE(Error("trailing %"), "ok");
}

TEST_F(FormatterTest, TypedJson) {
  EXPECT_EQ(Json({{"code", "%RESPONSE_CODE%"},
                  {"dur", "%DURATION%"},
                  {"path", "%REQ(:PATH)%"},
                  {"missing", "%REQ(X-NOPE)%"},
                  {"mixed", "%RESPONSE_CODE%/%REQ(X-NOPE)%"},
                  {"flags", "%RESPONSE_FLAGS%"},
                  {"time", "%START_TIME%"},
                  {"literal", "text"},
                  {"port", "%DOWNSTREAM_REMOTE_PORT%"}},
                 /*typed=*/true),
            "{\"code\":200,\"dur\":17,\"path\":\"/api?x=1\",\"missing\":null,\"mixed\":\"200/-\","
            "\"flags\":\"-\",\"time\":\"2024-03-05T06:07:08.123Z\",\"literal\":\"text\","
            "\"port\":5555}\n");
}

TEST_F(FormatterTest, UntypedJsonAndOmitEmpty) {
  EXPECT_EQ(Json({{"code", "%RESPONSE_CODE%"}, {"missing", "%REQ(X-NOPE)%"}}, /*typed=*/false),
            "{\"code\":\"200\",\"missing\":\"-\"}\n");
  EXPECT_EQ(Json({{"missing", "%REQ(X-NOPE)%"}, {"code", "%RESPONSE_CODE%"}}, /*typed=*/true,
                 /*omit=*/true),
            "{\"code\":200}\n");
}

TEST_F(FormatterTest, JsonEscaping) {
  req_.headers.Add("x-weird", std::string("q\"b\\s/\n\t\x01\x7f\xc3\xa9", 12));
  EXPECT_EQ(Json({{"k\"ey", "%REQ(X-WEIRD)%"}}, true),
            "{\"k\\\"ey\":\"q\\\"b\\\\s/\\n\\t\\u0001\x7f\xc3\xa9\"}\n");
  auto bad = Formatter::Json({{"x", "%NOPE%"}}, true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "x: unknown command operator %NOPE% (not supported by pilotfish)");
}

}  // namespace
}  // namespace pilotfish::access_log
