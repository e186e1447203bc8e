// Tests for the client side of the HTTP/1 codec: response parsing and framing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/http1/codec.h"

namespace pilotfish::http1 {
namespace {

struct Response {
  http::ResponseHeadersPtr headers;
  bool headers_end_stream = false;
  std::string body;
  size_t data_calls = 0;
  int end_stream_calls = 0;
};

class Recorder : public ClientCodecCallbacks {
 public:
  void On1xxHeaders(http::ResponseHeadersPtr headers) override {
    EXPECT_TRUE(responses.empty() || responses.back().end_stream_calls > 0 ||
                responses.back().headers_end_stream)
        << "1xx in the middle of a response";
    interim.push_back(std::move(headers));
  }
  void OnResponseHeaders(http::ResponseHeadersPtr headers, bool end_stream) override {
    responses.emplace_back();
    responses.back().headers = std::move(headers);
    responses.back().headers_end_stream = end_stream;
  }
  void OnResponseData(std::string_view data, bool end_stream) override {
    ASSERT_FALSE(responses.empty());
    Response& r = responses.back();
    EXPECT_FALSE(r.headers_end_stream);
    EXPECT_EQ(r.end_stream_calls, 0);
    r.body.append(data);
    ++r.data_calls;
    if (end_stream) ++r.end_stream_calls;
  }
  std::vector<http::ResponseHeadersPtr> interim;
  std::vector<Response> responses;
};

class ClientCodecTest : public ::testing::Test {
 protected:
  DispatchStatus Dispatch(std::string_view data) { return codec_.Dispatch(data, &consumed_); }

  Recorder cb_;
  CodecLimits limits_;
  ClientCodec codec_{cb_, limits_};
  size_t consumed_ = 0;
};

TEST_F(ClientCodecTest, ContentLengthResponse) {
  codec_.ExpectResponse(false);
  const std::string resp =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Trim:  v "
      "\r\n\r\nhello";
  EXPECT_EQ(Dispatch(resp), DispatchStatus::kPaused);
  EXPECT_EQ(consumed_, resp.size());
  ASSERT_EQ(cb_.responses.size(), 1u);
  const Response& r = cb_.responses[0];
  EXPECT_EQ(r.headers->status, 200);
  EXPECT_EQ(r.headers->reason, "OK");
  EXPECT_FALSE(r.headers_end_stream);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.data_calls, 1u);  // the last piece carries end_stream
  EXPECT_EQ(r.end_stream_calls, 1);
  const std::vector<http::HeaderMap::Entry> expected = {
      {"content-type", "text/plain"}, {"content-length", "5"}, {"x-trim", "v"}};
  EXPECT_EQ(r.headers->headers.entries(), expected);
  EXPECT_TRUE(codec_.response_keep_alive());
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kOk);
}

TEST_F(ClientCodecTest, HeadResponseHasNoBody) {
  codec_.ExpectResponse(true);
  codec_.ExpectResponse(false);
  const std::string head_resp = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
  const std::string next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  EXPECT_EQ(Dispatch(head_resp + next), DispatchStatus::kPaused);
  EXPECT_EQ(consumed_, head_resp.size());
  ASSERT_EQ(cb_.responses.size(), 1u);
  EXPECT_TRUE(cb_.responses[0].headers_end_stream);
  EXPECT_EQ(cb_.responses[0].data_calls, 0u);
  EXPECT_TRUE(codec_.response_keep_alive());
  codec_.Resume();
  EXPECT_EQ(Dispatch(next), DispatchStatus::kPaused);
  ASSERT_EQ(cb_.responses.size(), 2u);
  EXPECT_EQ(cb_.responses[1].body, "ok");
}

TEST_F(ClientCodecTest, HeadResponseWithChunkedHasNoBody) {
  codec_.ExpectResponse(true);
  EXPECT_EQ(Dispatch("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            DispatchStatus::kPaused);
  ASSERT_EQ(cb_.responses.size(), 1u);
  EXPECT_TRUE(cb_.responses[0].headers_end_stream);
  EXPECT_TRUE(codec_.response_keep_alive());
}

TEST_F(ClientCodecTest, NoContentAndNotModifiedHaveNoBody) {
  for (int status : {204, 304}) {
    Recorder cb;
    ClientCodec codec(cb, limits_);
    codec.ExpectResponse(false);
    codec.ExpectResponse(false);
    // A (wrong) Content-Length on a 204/304 must not make us read a body.
    const std::string first =
        "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 5\r\n\r\n";
    const std::string second = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    size_t consumed = 0;
    ASSERT_EQ(codec.Dispatch(first + second, &consumed), DispatchStatus::kPaused) << status;
    EXPECT_EQ(consumed, first.size());
    codec.Resume();
    ASSERT_EQ(codec.Dispatch(second, &consumed), DispatchStatus::kPaused) << status;
    ASSERT_EQ(cb.responses.size(), 2u);
    EXPECT_EQ(cb.responses[0].headers->status, status);
    EXPECT_TRUE(cb.responses[0].headers_end_stream);
    EXPECT_EQ(cb.responses[1].headers->status, 200);
    EXPECT_TRUE(cb.responses[1].headers_end_stream);
  }
}

TEST_F(ClientCodecTest, CloseDelimitedBody) {
  codec_.ExpectResponse(false);
  EXPECT_EQ(Dispatch("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>"),
            DispatchStatus::kOk);
  ASSERT_EQ(cb_.responses.size(), 1u);
  EXPECT_FALSE(cb_.responses[0].headers_end_stream);
  EXPECT_FALSE(codec_.response_keep_alive());
  EXPECT_EQ(Dispatch("</html>"), DispatchStatus::kOk);
  EXPECT_EQ(cb_.responses[0].body, "<html></html>");
  EXPECT_EQ(cb_.responses[0].end_stream_calls, 0);
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kOk);
  EXPECT_EQ(cb_.responses[0].end_stream_calls, 1);
  EXPECT_EQ(cb_.responses[0].body, "<html></html>");
}

TEST_F(ClientCodecTest, Http10CloseDelimited) {
  codec_.ExpectResponse(false);
  EXPECT_EQ(Dispatch("HTTP/1.0 200 OK\r\n\r\nabc"), DispatchStatus::kOk);
  EXPECT_FALSE(codec_.response_keep_alive());
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kOk);
  ASSERT_EQ(cb_.responses.size(), 1u);
  EXPECT_EQ(cb_.responses[0].body, "abc");
  EXPECT_EQ(cb_.responses[0].end_stream_calls, 1);
}

constexpr const char* kChunkedResponse =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    "7\r\n{\"a\":1,\r\n"
    "11\r\n\"bbbbbbbbbbbb\":2}\r\n"
    "0\r\nX-Trailer: t\r\n\r\n";

TEST_F(ClientCodecTest, ChunkedByteAtATimeMatchesSingleShot) {
  codec_.ExpectResponse(false);
  EXPECT_EQ(Dispatch(kChunkedResponse), DispatchStatus::kPaused);
  EXPECT_EQ(consumed_, std::string_view(kChunkedResponse).size());

  Recorder cb;
  ClientCodec codec(cb, limits_);
  codec.ExpectResponse(false);
  const std::string_view in = kChunkedResponse;
  for (size_t i = 0; i < in.size(); ++i) {
    size_t consumed = 0;
    const DispatchStatus status = codec.Dispatch(in.substr(i, 1), &consumed);
    ASSERT_EQ(consumed, 1u);
    ASSERT_EQ(status, i + 1 == in.size() ? DispatchStatus::kPaused : DispatchStatus::kOk) << i;
  }
  ASSERT_EQ(cb.responses.size(), 1u);
  ASSERT_EQ(cb_.responses.size(), 1u);
  EXPECT_EQ(cb.responses[0].body, "{\"a\":1,\"bbbbbbbbbbbb\":2}");
  EXPECT_EQ(cb.responses[0].body, cb_.responses[0].body);
  EXPECT_EQ(cb.responses[0].headers->headers.entries(),
            cb_.responses[0].headers->headers.entries());
  EXPECT_EQ(cb.responses[0].end_stream_calls, 1);
  EXPECT_EQ(cb_.responses[0].end_stream_calls, 1);
  EXPECT_GT(cb.responses[0].data_calls, 20u);
  EXPECT_FALSE(cb_.responses[0].headers->headers.Has("x-trailer"));
  EXPECT_TRUE(codec_.response_keep_alive());
}

TEST_F(ClientCodecTest, InformationalThenFinal) {
  codec_.ExpectResponse(false);
  const std::string resp =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  EXPECT_EQ(Dispatch(resp), DispatchStatus::kPaused);
  EXPECT_EQ(consumed_, resp.size());
  ASSERT_EQ(cb_.interim.size(), 2u);
  EXPECT_EQ(cb_.interim[0]->status, 100);
  EXPECT_EQ(cb_.interim[0]->reason, "Continue");
  EXPECT_EQ(cb_.interim[1]->status, 103);
  EXPECT_EQ(*cb_.interim[1]->headers.Get("link"), "</style.css>; rel=preload");
  ASSERT_EQ(cb_.responses.size(), 1u);
  EXPECT_EQ(cb_.responses[0].headers->status, 201);
  EXPECT_EQ(cb_.responses[0].body, "ok");
}

TEST_F(ClientCodecTest, InformationalThenEofIsError) {
  codec_.ExpectResponse(false);
  EXPECT_EQ(Dispatch("HTTP/1.1 100 Continue\r\n\r\n"), DispatchStatus::kOk);
  EXPECT_EQ(cb_.interim.size(), 1u);
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kError);
  EXPECT_EQ(codec_.error_details(), "http1.premature_eof");
}

TEST_F(ClientCodecTest, SwitchingProtocols) {
  codec_.ExpectResponse(false);
  const std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  EXPECT_EQ(Dispatch(head + "\x81\x02hi"), DispatchStatus::kUpgrade);
  EXPECT_EQ(consumed_, head.size());
  EXPECT_TRUE(cb_.interim.empty());
  ASSERT_EQ(cb_.responses.size(), 1u);
  EXPECT_EQ(cb_.responses[0].headers->status, 101);
  EXPECT_FALSE(cb_.responses[0].headers_end_stream);
  EXPECT_EQ(cb_.responses[0].data_calls, 0u);
  EXPECT_FALSE(codec_.response_keep_alive());
}

TEST_F(ClientCodecTest, SwitchingProtocolsWithoutUpgradeHeaders) {
  // A 101 switches protocols whatever its headers say: the bytes after it are never HTTP.
  codec_.ExpectResponse(false);
  const std::string head = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
  EXPECT_EQ(Dispatch(head + "not http"), DispatchStatus::kUpgrade);
  EXPECT_EQ(consumed_, head.size());
  ASSERT_EQ(cb_.responses.size(), 1u);
  EXPECT_EQ(cb_.responses[0].headers->status, 101);
  EXPECT_TRUE(cb_.interim.empty());
}

TEST_F(ClientCodecTest, KeepAliveRules) {
  struct Case {
    std::string response;
    bool keep_alive;
  };
  const std::vector<Case> cases = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
      {"HTTP/1.1 204 No Content\r\n\r\n", true},
  };
  for (const Case& c : cases) {
    Recorder cb;
    ClientCodec codec(cb, limits_);
    codec.ExpectResponse(false);
    size_t consumed = 0;
    ASSERT_EQ(codec.Dispatch(c.response, &consumed), DispatchStatus::kPaused) << c.response;
    EXPECT_EQ(codec.response_keep_alive(), c.keep_alive) << c.response;
  }
}

TEST_F(ClientCodecTest, PipelinedResponses) {
  codec_.ExpectResponse(false);
  codec_.ExpectResponse(false);
  const std::string r1 = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na";
  const std::string r2 = "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nb";
  std::string_view in;
  const std::string all = r1 + r2;
  in = all;
  ASSERT_EQ(Dispatch(in), DispatchStatus::kPaused);
  EXPECT_EQ(consumed_, r1.size());
  in.remove_prefix(consumed_);
  codec_.Resume();
  ASSERT_EQ(Dispatch(in), DispatchStatus::kPaused);
  EXPECT_EQ(consumed_, r2.size());
  ASSERT_EQ(cb_.responses.size(), 2u);
  EXPECT_EQ(cb_.responses[1].headers->status, 404);
  EXPECT_EQ(cb_.responses[1].headers->reason, "Not Found");
}

TEST_F(ClientCodecTest, UnsolicitedResponseIsError) {
  EXPECT_EQ(Dispatch("HTTP/1.1 408 Request Timeout\r\n\r\n"), DispatchStatus::kError);
  EXPECT_EQ(codec_.error_details(), "http1.unexpected_response");
  EXPECT_TRUE(cb_.responses.empty());
}

TEST_F(ClientCodecTest, EofMidBodyIsError) {
  codec_.ExpectResponse(false);
  EXPECT_EQ(Dispatch("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), DispatchStatus::kOk);
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kError);
  EXPECT_EQ(codec_.error_details(), "http1.premature_eof");
  ASSERT_EQ(cb_.responses.size(), 1u);
  EXPECT_EQ(cb_.responses[0].end_stream_calls, 0);
}

TEST_F(ClientCodecTest, EofMidHeadersIsError) {
  codec_.ExpectResponse(false);
  EXPECT_EQ(Dispatch("HTTP/1.1 200 OK\r\nContent-Le"), DispatchStatus::kOk);
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kError);
}

TEST_F(ClientCodecTest, EofBetweenResponsesIsOk) {
  codec_.ExpectResponse(false);
  EXPECT_EQ(Dispatch("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), DispatchStatus::kPaused);
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kOk);
}

TEST_F(ClientCodecTest, FramingErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", "http1.invalid_transfer_encoding"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
       "http1.content_length_and_chunked_not_allowed"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       "http1.invalid_content_length"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "http1.invalid_chunk_size"},
      {"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "http1.obs_fold_not_allowed"},
      {"HTTP/1.1 200 OK\r\nBad Name: a\r\n\r\n", "http1.invalid_characters"},
      {"HTTP/1.1 99 Low\r\n\r\n", "http1.codec_error"},
      {"HTTP/2.0 200 OK\r\n\r\n", "http1.codec_error"},
      {"HTTP/1.1 2000 OK\r\n\r\n", "http1.codec_error"},
  };
  for (const auto& [input, details] : cases) {
    Recorder cb;
    ClientCodec codec(cb, limits_);
    codec.ExpectResponse(false);
    size_t consumed = 0;
    EXPECT_EQ(codec.Dispatch(input, &consumed), DispatchStatus::kError) << input;
    EXPECT_EQ(codec.error_details(), details) << input;
    EXPECT_EQ(codec.Dispatch("HTTP/1.1 200 OK\r\n\r\n", &consumed), DispatchStatus::kError);
  }
}

TEST_F(ClientCodecTest, HeaderLimits) {
  limits_.max_headers_bytes = 50;
  ClientCodec codec(cb_, limits_);
  codec.ExpectResponse(false);
  size_t consumed = 0;
  EXPECT_EQ(
      codec.Dispatch("HTTP/1.1 200 OK\r\nX-Big: " + std::string(60, 'x') + "\r\n\r\n", &consumed),
      DispatchStatus::kError);
  EXPECT_EQ(codec.error_details(), "http1.headers_too_large");
  EXPECT_TRUE(cb_.responses.empty());
}

TEST_F(ClientCodecTest, EmptyReason) {
  codec_.ExpectResponse(false);
  EXPECT_EQ(Dispatch("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), DispatchStatus::kPaused);
  ASSERT_EQ(cb_.responses.size(), 1u);
  EXPECT_EQ(cb_.responses[0].headers->reason, "");
}

}  // namespace
}  // namespace pilotfish::http1
