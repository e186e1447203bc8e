// Byte-exact tests for the HTTP/1 encoders, and encode -> parse round trips.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/http1/codec.h"
#include "proxy/http1/head_writer.h"

namespace pilotfish::http1 {
namespace {

http::ResponseHeaders Response(int status, std::vector<http::HeaderMap::Entry> entries,
                               std::string reason = "") {
  http::ResponseHeaders h;
  h.status = status;
  h.reason = std::move(reason);
  for (auto& [name, value] : entries) h.headers.Add(name, value);
  return h;
}

std::string EncodeResponse(const http::ResponseHeaders& h, int minor, bool head, bool keep_alive,
                           BodyFraming* framing) {
  std::string out;
  EncodeResponseHeaders(h, minor, head, keep_alive, out, framing);
  return out;
}

TEST(EncodeResponseTest, ContentLengthKeepAlive) {
  BodyFraming framing = BodyFraming::kNone;
  const auto h = Response(200, {{"content-type", "text/plain"}, {"content-length", "5"}});
  std::string out = "prefix:";  // appends
  EncodeResponseHeaders(h, 1, false, true, out, &framing);
  EXPECT_EQ(out, "prefix:HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kContentLength);
  EncodeBody("hello", true, framing, out);
  EXPECT_EQ(out.substr(out.size() - 9), "\r\n\r\nhello");
}

TEST(EncodeResponseTest, NoLengthBecomesChunkedForHttp11) {
  BodyFraming framing = BodyFraming::kNone;
  const auto h = Response(200, {{"x-a", "1"}});
  EXPECT_EQ(EncodeResponse(h, 1, false, true, &framing),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kChunked);
}

TEST(EncodeResponseTest, UpstreamChunkedKeptOnceForHttp11) {
  BodyFraming framing = BodyFraming::kNone;
  const auto h = Response(200, {{"transfer-encoding", "chunked"}, {"x-a", "1"}});
  EXPECT_EQ(EncodeResponse(h, 1, false, true, &framing),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kChunked);
}

TEST(EncodeResponseTest, UpstreamChunkedToHttp10ClientIsCloseDelimited) {
  BodyFraming framing = BodyFraming::kNone;
  const auto h = Response(200, {{"Transfer-Encoding", "chunked"}, {"x-a", "1"}});
  EXPECT_EQ(EncodeResponse(h, 0, false, true, &framing),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\nconnection: close\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kUntilClose);
  std::string body;
  EncodeBody("raw", false, framing, body);
  EncodeBody("", true, framing, body);
  EXPECT_EQ(body, "raw");
}

TEST(EncodeResponseTest, Http10KeepAliveWithContentLength) {
  BodyFraming framing = BodyFraming::kNone;
  const auto h = Response(200, {{"content-length", "2"}});
  EXPECT_EQ(EncodeResponse(h, 0, false, true, &framing),
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kContentLength);
  EXPECT_EQ(EncodeResponse(h, 0, false, false, &framing),
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n");
}

TEST(EncodeResponseTest, NotKeepAliveAddsConnectionCloseOnce) {
  BodyFraming framing = BodyFraming::kNone;
  const auto h = Response(503, {{"connection", "keep-alive"}, {"content-length", "0"}});
  EXPECT_EQ(EncodeResponse(h, 1, false, false, &framing),
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
}

TEST(EncodeResponseTest, ReasonPhrase) {
  BodyFraming framing = BodyFraming::kNone;
  EXPECT_EQ(
      EncodeResponse(Response(404, {{"content-length", "0"}}, "Nope"), 1, false, true, &framing),
      "HTTP/1.1 404 Nope\r\ncontent-length: 0\r\n\r\n");
  EXPECT_EQ(EncodeResponse(Response(599, {{"content-length", "0"}}), 1, false, true, &framing),
            "HTTP/1.1 599 Unknown\r\ncontent-length: 0\r\n\r\n");
  // A reason that would split the response is replaced.
  EXPECT_EQ(EncodeResponse(Response(200, {{"content-length", "0"}}, "OK\r\nx: y"), 1, false, true,
                           &framing),
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
}

TEST(EncodeResponseTest, HeadResponseKeepsLengthButHasNoBody) {
  BodyFraming framing = BodyFraming::kChunked;
  const auto h = Response(200, {{"content-length", "1234"}});
  EXPECT_EQ(EncodeResponse(h, 1, true, true, &framing),
            "HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kNone);
  std::string body;
  EncodeBody("ignored", true, framing, body);
  EXPECT_EQ(body, "");
  // Without a length, Envoy's guess: the GET would be chunked (HTTP/1.1; nothing for HTTP/1.0).
  EXPECT_EQ(EncodeResponse(Response(200, {}), 1, true, true, &framing),
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kNone);
  EXPECT_EQ(
      EncodeResponse(Response(200, {{"transfer-encoding", "chunked"}}), 1, true, true, &framing),
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
  EXPECT_EQ(EncodeResponse(Response(200, {}), 0, true, true, &framing),
            "HTTP/1.1 200 OK\r\nconnection: keep-alive\r\n\r\n");
}

TEST(EncodeResponseTest, NoContentAndNotModified) {
  BodyFraming framing = BodyFraming::kChunked;
  EXPECT_EQ(
      EncodeResponse(
          Response(204, {{"content-length", "0"}, {"transfer-encoding", "chunked"}, {"x-a", "1"}}),
          1, false, true, &framing),
      "HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kNone);
  framing = BodyFraming::kChunked;
  EXPECT_EQ(EncodeResponse(Response(304, {{"etag", "\"x\""}}), 1, false, true, &framing),
            "HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kNone);
}

TEST(EncodeResponseTest, NeverBothLengthAndChunked) {
  BodyFraming framing = BodyFraming::kNone;
  const auto h = Response(200, {{"transfer-encoding", "chunked"}, {"content-length", "3"}});
  EXPECT_EQ(EncodeResponse(h, 1, false, true, &framing),
            "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kContentLength);
}

TEST(EncodeResponseTest, DuplicateContentLengthWrittenOnce) {
  BodyFraming framing = BodyFraming::kNone;
  const auto h = Response(200, {{"content-length", "3"}, {"x-a", "1"}, {"Content-Length", "3"}});
  EXPECT_EQ(EncodeResponse(h, 1, false, true, &framing),
            "HTTP/1.1 200 OK\r\ncontent-length: 3\r\nx-a: 1\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kContentLength);
}

TEST(EncodeResponseTest, SwitchingProtocolsKeepsConnectionUpgrade) {
  BodyFraming framing = BodyFraming::kChunked;
  const auto h = Response(101, {{"connection", "Upgrade"}, {"upgrade", "websocket"}});
  EXPECT_EQ(
      EncodeResponse(h, 1, false, true, &framing),
      "HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n");
  EXPECT_EQ(framing, BodyFraming::kNone);
  EXPECT_EQ(EncodeResponse(Response(100, {}), 1, false, true, &framing),
            "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST(EncodeBodyTest, ChunkFraming) {
  std::string out;
  EncodeBody("hello", false, BodyFraming::kChunked, out);
  EXPECT_EQ(out, "5\r\nhello\r\n");
  out.clear();
  EncodeBody(std::string(300, 'x'), false, BodyFraming::kChunked, out);
  EXPECT_EQ(out, "12c\r\n" + std::string(300, 'x') + "\r\n");
  out.clear();
  EncodeBody("", false, BodyFraming::kChunked, out);  // an empty piece must not end the body
  EXPECT_EQ(out, "");
  EncodeBody("end", true, BodyFraming::kChunked, out);
  EXPECT_EQ(out, "3\r\nend\r\n0\r\n\r\n");
  out.clear();
  EncodeBody("", true, BodyFraming::kChunked, out);
  EXPECT_EQ(out, "0\r\n\r\n");
}

http::RequestHeaders Request(std::string method, std::string path, std::string authority,
                             std::vector<http::HeaderMap::Entry> entries) {
  http::RequestHeaders h;
  h.method = std::move(method);
  h.path = std::move(path);
  h.authority = std::move(authority);
  for (auto& [name, value] : entries) h.headers.Add(name, value);
  return h;
}

TEST(EncodeRequestTest, GetWithoutBody) {
  std::string out;
  EncodeRequestHeaders(Request("GET", "/a?b=c", "example.com", {{"accept", "*/*"}}),
                       BodyFraming::kNone, out);
  EXPECT_EQ(out, "GET /a?b=c HTTP/1.1\r\nhost: example.com\r\naccept: */*\r\n\r\n");
}

TEST(EncodeRequestTest, ContentLengthKept) {
  std::string out;
  EncodeRequestHeaders(
      Request("POST", "/p", "h:8080", {{"content-length", "3"}, {"transfer-encoding", "chunked"}}),
      BodyFraming::kContentLength, out);
  EXPECT_EQ(out, "POST /p HTTP/1.1\r\nhost: h:8080\r\ncontent-length: 3\r\n\r\n");
}

TEST(EncodeRequestTest, ChunkedHasSingleTransferEncoding) {
  std::string out;
  EncodeRequestHeaders(
      Request("POST", "/p", "h",
              {{"transfer-encoding", "chunked"}, {"x-a", "1"}, {"content-length", "9"}}),
      BodyFraming::kChunked, out);
  EXPECT_EQ(out, "POST /p HTTP/1.1\r\nhost: h\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n");
}

TEST(EncodeRequestTest, NoBodyDropsFramingExceptExplicitZero) {
  std::string out;
  EncodeRequestHeaders(Request("GET", "/", "h", {{"transfer-encoding", "chunked"}}),
                       BodyFraming::kNone, out);
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nhost: h\r\n\r\n");
  out.clear();
  EncodeRequestHeaders(Request("POST", "/", "h", {{"content-length", "0"}}), BodyFraming::kNone,
                       out);
  EXPECT_EQ(out, "POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n");
  out.clear();
  EncodeRequestHeaders(Request("POST", "/", "h", {{"content-length", "5"}}), BodyFraming::kNone,
                       out);
  EXPECT_EQ(out, "POST / HTTP/1.1\r\nhost: h\r\n\r\n");
}

TEST(EncodeRequestTest, HostNotDuplicatedAndPathDefaults) {
  std::string out;
  EncodeRequestHeaders(Request("GET", "", "new.example", {{"host", "old.example"}}),
                       BodyFraming::kNone, out);
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nhost: new.example\r\n\r\n");
}

TEST(EncodeRequestTest, ConnectUsesAuthorityForm) {
  std::string out;
  EncodeRequestHeaders(Request("CONNECT", "", "example.com:443", {}), BodyFraming::kNone, out);
  EXPECT_EQ(out, "CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n");
}

// ---------------------------------------------------------------------------------------------
// Round trips.

class ServerRecorder : public ServerCodecCallbacks {
 public:
  void OnRequestHeaders(http::RequestHeadersPtr h, bool end_stream) override {
    headers = std::move(h);
    headers_end = end_stream;
  }
  void OnRequestData(std::string_view data, bool end_stream) override {
    body.append(data);
    if (end_stream) ++ends;
  }
  http::RequestHeadersPtr headers;
  bool headers_end = false;
  std::string body;
  int ends = 0;
};

TEST(RoundTripTest, ChunkedRequestThroughServerCodec) {
  const auto req = Request("PUT", "/upload?id=7", "backend.internal:9000",
                           {{"content-type", "application/octet-stream"}, {"x-request-id", "abc"}});
  std::string wire;
  EncodeRequestHeaders(req, BodyFraming::kChunked, wire);
  EncodeBody("first piece,", false, BodyFraming::kChunked, wire);
  EncodeBody(std::string(4000, 'z'), false, BodyFraming::kChunked, wire);
  EncodeBody("last", true, BodyFraming::kChunked, wire);

  ServerRecorder cb;
  ServerCodec codec(cb, CodecLimits{});
  size_t consumed = 0;
  ASSERT_EQ(codec.Dispatch(wire, &consumed), DispatchStatus::kPaused);
  EXPECT_EQ(consumed, wire.size());
  ASSERT_NE(cb.headers, nullptr);
  EXPECT_EQ(cb.headers->method, "PUT");
  EXPECT_EQ(cb.headers->path, "/upload?id=7");
  EXPECT_EQ(cb.headers->authority, "backend.internal:9000");
  const std::vector<http::HeaderMap::Entry> expected = {
      {"content-type", "application/octet-stream"},
      {"x-request-id", "abc"},
      {"transfer-encoding", "chunked"}};
  EXPECT_EQ(cb.headers->headers.entries(), expected);
  EXPECT_FALSE(cb.headers_end);
  EXPECT_EQ(cb.body, "first piece," + std::string(4000, 'z') + "last");
  EXPECT_EQ(cb.ends, 1);
}

TEST(RoundTripTest, ContentLengthRequestThroughServerCodec) {
  const auto req = Request("POST", "/form", "h", {{"content-length", "7"}});
  std::string wire;
  EncodeRequestHeaders(req, BodyFraming::kContentLength, wire);
  EncodeBody("a=1&b=2", true, BodyFraming::kContentLength, wire);
  ServerRecorder cb;
  ServerCodec codec(cb, CodecLimits{});
  size_t consumed = 0;
  ASSERT_EQ(codec.Dispatch(wire, &consumed), DispatchStatus::kPaused);
  EXPECT_EQ(consumed, wire.size());
  EXPECT_EQ(cb.body, "a=1&b=2");
  EXPECT_EQ(cb.ends, 1);
}

class ClientRecorder : public ClientCodecCallbacks {
 public:
  void On1xxHeaders(http::ResponseHeadersPtr) override {}
  void OnResponseHeaders(http::ResponseHeadersPtr h, bool) override { headers = std::move(h); }
  void OnResponseData(std::string_view data, bool end_stream) override {
    body.append(data);
    if (end_stream) ++ends;
  }
  http::ResponseHeadersPtr headers;
  std::string body;
  int ends = 0;
};

TEST(RoundTripTest, ChunkedResponseThroughClientCodec) {
  BodyFraming framing = BodyFraming::kNone;
  std::string wire;
  EncodeResponseHeaders(Response(200, {{"content-type", "text/plain"}}), 1, false, true, wire,
                        &framing);
  ASSERT_EQ(framing, BodyFraming::kChunked);
  EncodeBody("hello ", false, framing, wire);
  EncodeBody("world", true, framing, wire);
  ClientRecorder cb;
  ClientCodec codec(cb, CodecLimits{});
  codec.ExpectResponse(false);
  size_t consumed = 0;
  ASSERT_EQ(codec.Dispatch(wire, &consumed), DispatchStatus::kPaused);
  EXPECT_EQ(consumed, wire.size());
  ASSERT_NE(cb.headers, nullptr);
  EXPECT_EQ(cb.headers->status, 200);
  EXPECT_EQ(cb.body, "hello world");
  EXPECT_EQ(cb.ends, 1);
  EXPECT_TRUE(codec.response_keep_alive());
}

// The writer appends after what the buffer holds, and grows it when its estimate was short.
TEST(HeadWriterTest, AppendsAfterExistingBytesAndGrowsPastItsEstimate) {
  for (size_t estimate : {0, 1, 7, 64, 4096}) {
    std::string out = "previous-bytes|";
    {
      HeadWriter w(out, estimate);
      w.Put("GET");
      w.Put(' ');
      w.Decimal(18446744073709551615ULL);
      w.Put(' ');
      w.Header("host", std::string(300, 'h'));
      w.Header("", "");
      w.Put("\r\n");
    }
    EXPECT_EQ(out, "previous-bytes|GET 18446744073709551615 host: " + std::string(300, 'h') +
                       "\r\n: \r\n\r\n")
        << "estimate " << estimate;
  }
  std::string empty;
  { HeadWriter w(empty, 100); }
  EXPECT_TRUE(empty.empty());  // nothing written: the estimate is given back
}

}  // namespace
}  // namespace pilotfish::http1
