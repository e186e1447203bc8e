// Tests for the server side of the HTTP/1 codec: request parsing, limits and smuggling defences.
#include "proxy/http1/codec.h"

#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>
#include <vector>

namespace pilotfish::http1 {
namespace {

struct Request {
  http::RequestHeadersPtr headers;
  bool headers_end_stream = false;
  std::string body;
  std::vector<size_t> pieces;  // size of each OnRequestData call
  int end_stream_calls = 0;
};

class Recorder : public ServerCodecCallbacks {
 public:
  void OnRequestHeaders(http::RequestHeadersPtr headers, bool end_stream) override {
    requests.emplace_back();
    requests.back().headers = std::move(headers);
    requests.back().headers_end_stream = end_stream;
  }
  void OnRequestData(std::string_view data, bool end_stream) override {
    ASSERT_FALSE(requests.empty()) << "data before headers";
    Request& r = requests.back();
    EXPECT_EQ(r.end_stream_calls, 0) << "data after end_stream";
    EXPECT_FALSE(r.headers_end_stream) << "data after headers with end_stream";
    r.body.append(data);
    r.pieces.push_back(data.size());
    if (end_stream) ++r.end_stream_calls;
  }
  std::vector<Request> requests;
};

class ServerCodecTest : public ::testing::Test {
 protected:
  // Feeds `input` in one call per message, resuming after each kPaused. Returns the last status.
  DispatchStatus Feed(std::string_view input) {
    while (true) {
      size_t consumed = 0;
      const DispatchStatus status = codec_.Dispatch(input, &consumed);
      EXPECT_LE(consumed, input.size());
      input.remove_prefix(consumed);
      last_consumed_ = consumed;
      if (status != DispatchStatus::kPaused || input.empty()) {
        rest_ = std::string(input);
        return status;
      }
      codec_.Resume();
    }
  }

  // Feeds one byte per Dispatch() call.
  DispatchStatus FeedBytewise(std::string_view input) {
    for (size_t i = 0; i < input.size(); ++i) {
      size_t consumed = 0;
      const DispatchStatus status = codec_.Dispatch(input.substr(i, 1), &consumed);
      if (status == DispatchStatus::kError) return status;
      EXPECT_EQ(consumed, 1u) << "at byte " << i;
      if (status == DispatchStatus::kPaused) codec_.Resume();
    }
    return DispatchStatus::kOk;
  }

  void ExpectError(std::string_view input, int status, std::string_view details) {
    EXPECT_EQ(Feed(input), DispatchStatus::kError) << input;
    EXPECT_EQ(codec_.error_status(), status) << input;
    EXPECT_EQ(codec_.error_details(), details) << input;
  }

  Recorder cb_;
  CodecLimits limits_;
  ServerCodec codec_{cb_, limits_};
  size_t last_consumed_ = 0;
  std::string rest_;
};

// Every byte value in every position of a 17-byte header name, fed whole and split inside the
// name, is accepted exactly when it is an RFC 9110 tchar (llhttp and the codec's table both
// check), and the stored name is the ASCII lower-case of what was sent.
TEST(ServerCodecNameTest, EveryByteInEveryPositionOfAHeaderName) {
  const std::string tchars = "!#$%&'*+-.^_`|~";
  for (size_t pos = 0; pos < 17; ++pos) {
    for (int b = 0; b < 256; ++b) {
      if (b == ':') continue;  // ends the name there: a different, valid header
      if (pos == 0 && (b == '\r' || b == '\n')) continue;  // ends the header block there
      const char c = static_cast<char>(b);
      const bool tchar = std::isalnum(b) != 0 || (b != 0 && tchars.find(c) != std::string::npos);
      std::string name = "Abcdefgh-IJKLMNO9";
      name[pos] = c;
      std::string lower = name;
      for (char& l : lower) l = static_cast<char>(std::tolower(static_cast<unsigned char>(l)));
      const std::string req = "GET / HTTP/1.1\r\nHost: h\r\n" + name + ": v\r\n\r\n";
      for (size_t split : {req.size(), req.find(name) + 5}) {
        Recorder cb;
        CodecLimits limits;
        ServerCodec codec(cb, limits);
        size_t consumed = 0;
        DispatchStatus st = codec.Dispatch(std::string_view(req).substr(0, split), &consumed);
        if (st != DispatchStatus::kError && split < req.size()) {
          ASSERT_EQ(consumed, split);
          st = codec.Dispatch(std::string_view(req).substr(split), &consumed);
        }
        SCOPED_TRACE("byte " + std::to_string(b) + " at " + std::to_string(pos) + " split " +
                     std::to_string(split));
        if (!tchar) {
          EXPECT_EQ(st, DispatchStatus::kError);
          continue;
        }
        ASSERT_NE(st, DispatchStatus::kError) << codec.error_details();
        ASSERT_EQ(cb.requests.size(), 1u);
        const std::vector<http::HeaderMap::Entry> expected = {{lower, "v"}};
        EXPECT_EQ(cb.requests[0].headers->headers.entries(), expected);
      }
    }
  }
}

TEST_F(ServerCodecTest, SimpleGet) {
  const std::string req =
      "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\n"
      "X-Mixed-Case: Value With Spaces\r\nAccept: */*\r\n\r\n";
  size_t consumed = 0;
  EXPECT_EQ(codec_.Dispatch(req, &consumed), DispatchStatus::kPaused);
  EXPECT_EQ(consumed, req.size());
  ASSERT_EQ(cb_.requests.size(), 1u);
  const Request& r = cb_.requests[0];
  EXPECT_TRUE(r.headers_end_stream);
  EXPECT_TRUE(r.pieces.empty());
  EXPECT_EQ(r.headers->method, "GET");
  EXPECT_EQ(r.headers->path, "/index.html?q=1");
  EXPECT_EQ(r.headers->authority, "example.com");
  EXPECT_EQ(r.headers->scheme, "http");
  EXPECT_EQ(r.headers->version_minor, 1);
  const std::vector<http::HeaderMap::Entry> expected = {
      {"user-agent", "curl/8.0"}, {"x-mixed-case", "Value With Spaces"}, {"accept", "*/*"}};
  EXPECT_EQ(r.headers->headers.entries(), expected);
  EXPECT_FALSE(r.headers->headers.Has("host"));
  EXPECT_TRUE(codec_.request_keep_alive());
  EXPECT_FALSE(codec_.request_expects_continue());
  EXPECT_FALSE(codec_.request_is_upgrade());
  EXPECT_EQ(codec_.request_version_minor(), 1);
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kOk);
}

TEST_F(ServerCodecTest, PausedUntilResumed) {
  const std::string req = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  size_t consumed = 0;
  ASSERT_EQ(codec_.Dispatch(req, &consumed), DispatchStatus::kPaused);
  EXPECT_EQ(consumed, req.size() / 2);
  // Without Resume() nothing more is parsed.
  size_t again = 99;
  EXPECT_EQ(codec_.Dispatch(std::string_view(req).substr(consumed), &again),
            DispatchStatus::kPaused);
  EXPECT_EQ(again, 0u);
  EXPECT_EQ(cb_.requests.size(), 1u);
  codec_.Resume();
  EXPECT_EQ(codec_.Dispatch(std::string_view(req).substr(consumed), &again),
            DispatchStatus::kPaused);
  EXPECT_EQ(again, req.size() / 2);
  ASSERT_EQ(cb_.requests.size(), 2u);
  EXPECT_EQ(cb_.requests[1].headers->path, "/b");
}

TEST_F(ServerCodecTest, PipelinedRequestsOneAtATime) {
  const std::string r1 = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string r2 = "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  const std::string r3 =
      "PUT /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  const std::string r4_partial = "GET /4 HTTP/1.1\r\nHo";
  std::string all = r1 + r2 + r3 + r4_partial;
  std::string_view in = all;
  size_t consumed = 0;
  ASSERT_EQ(codec_.Dispatch(in, &consumed), DispatchStatus::kPaused);
  EXPECT_EQ(consumed, r1.size());
  EXPECT_EQ(cb_.requests.size(), 1u);
  in.remove_prefix(consumed);
  codec_.Resume();
  ASSERT_EQ(codec_.Dispatch(in, &consumed), DispatchStatus::kPaused);
  EXPECT_EQ(consumed, r2.size());
  EXPECT_EQ(cb_.requests.size(), 2u);
  in.remove_prefix(consumed);
  codec_.Resume();
  ASSERT_EQ(codec_.Dispatch(in, &consumed), DispatchStatus::kPaused);
  EXPECT_EQ(consumed, r3.size());
  in.remove_prefix(consumed);
  codec_.Resume();
  ASSERT_EQ(codec_.Dispatch(in, &consumed), DispatchStatus::kOk);
  EXPECT_EQ(consumed, r4_partial.size());
  ASSERT_EQ(cb_.requests.size(), 3u);
  EXPECT_EQ(cb_.requests[0].headers->path, "/1");
  EXPECT_EQ(cb_.requests[1].headers->method, "POST");
  EXPECT_EQ(cb_.requests[1].body, "hello");
  EXPECT_EQ(cb_.requests[2].headers->method, "PUT");
  EXPECT_EQ(cb_.requests[2].body, "abc");
  // The fourth request was cut short by the client.
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kError);
  EXPECT_EQ(codec_.error_status(), 400);
  EXPECT_EQ(codec_.error_details(), "http1.premature_eof");
}

TEST_F(ServerCodecTest, ContentLengthBodyStreamsAsItArrives) {
  const std::string head = "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n";
  size_t consumed = 0;
  EXPECT_EQ(codec_.Dispatch(head + "abc", &consumed), DispatchStatus::kOk);
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_FALSE(cb_.requests[0].headers_end_stream);
  EXPECT_EQ(cb_.requests[0].body, "abc");  // delivered before the rest arrives
  EXPECT_EQ(cb_.requests[0].end_stream_calls, 0);
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kError);  // mid-body EOF is an error...
}

TEST_F(ServerCodecTest, ContentLengthBodyEndsOnLastByte) {
  const std::string req = "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";
  EXPECT_EQ(Feed(req.substr(0, req.size() - 4)), DispatchStatus::kOk);
  EXPECT_EQ(Feed(req.substr(req.size() - 4)), DispatchStatus::kPaused);
  EXPECT_EQ(last_consumed_, 4u);
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_EQ(cb_.requests[0].body, "0123456789");
  EXPECT_EQ(cb_.requests[0].end_stream_calls, 1);
  // The last body piece carries end_stream itself: no extra empty call.
  EXPECT_EQ(cb_.requests[0].pieces, (std::vector<size_t>{6, 4}));
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kOk);
}

TEST_F(ServerCodecTest, ZeroContentLengthHasNoBody) {
  EXPECT_EQ(Feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
            DispatchStatus::kPaused);
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_TRUE(cb_.requests[0].headers_end_stream);
  EXPECT_TRUE(cb_.requests[0].pieces.empty());
  EXPECT_EQ(*cb_.requests[0].headers->headers.Get("content-length"), "0");
}

constexpr const char* kChunkedRequest =
    "POST /chunks?x=1 HTTP/1.1\r\n"
    "Host: upstream.local:8080\r\n"
    "User-Agent: test\r\n"
    "X-Long-Header-Name-For-Splitting: some fairly long header value, with commas\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Expect: 100-continue\r\n"
    "\r\n"
    "5\r\nhello\r\n"
    "1a;ext=val\r\nabcdefghijklmnopqrstuvwxyz\r\n"
    "A\r\n0123456789\r\n"
    "0\r\n"
    "Trailer-Field: dropped\r\n"
    "\r\n"
    "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";

TEST_F(ServerCodecTest, ChunkedBodyByteAtATimeMatchesSingleShot) {
  Recorder whole_cb;
  ServerCodec whole(whole_cb, limits_);
  std::string_view in = kChunkedRequest;
  size_t consumed = 0;
  ASSERT_EQ(whole.Dispatch(in, &consumed), DispatchStatus::kPaused);
  whole.Resume();
  in.remove_prefix(consumed);
  ASSERT_EQ(whole.Dispatch(in, &consumed), DispatchStatus::kPaused);
  ASSERT_EQ(whole_cb.requests.size(), 2u);

  ASSERT_EQ(FeedBytewise(kChunkedRequest), DispatchStatus::kOk);
  ASSERT_EQ(cb_.requests.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const Request& a = whole_cb.requests[i];
    const Request& b = cb_.requests[i];
    EXPECT_EQ(a.headers->method, b.headers->method);
    EXPECT_EQ(a.headers->path, b.headers->path);
    EXPECT_EQ(a.headers->authority, b.headers->authority);
    EXPECT_EQ(a.headers->headers.entries(), b.headers->headers.entries());
    EXPECT_EQ(a.headers_end_stream, b.headers_end_stream);
    EXPECT_EQ(a.body, b.body);
    EXPECT_EQ(a.end_stream_calls, b.end_stream_calls);
  }
  const Request& r = cb_.requests[0];
  EXPECT_EQ(r.headers->path, "/chunks?x=1");
  EXPECT_EQ(r.headers->authority, "upstream.local:8080");
  EXPECT_EQ(*r.headers->headers.Get("x-long-header-name-for-splitting"),
            "some fairly long header value, with commas");
  EXPECT_EQ(*r.headers->headers.Get("transfer-encoding"), "chunked");
  EXPECT_FALSE(r.headers->headers.Has("trailer-field"));
  EXPECT_FALSE(r.headers_end_stream);
  EXPECT_EQ(r.body, "helloabcdefghijklmnopqrstuvwxyz0123456789");
  EXPECT_EQ(r.end_stream_calls, 1);
  EXPECT_GT(r.pieces.size(), 10u);  // streamed, not buffered
  EXPECT_EQ(cb_.requests[1].headers->path, "/next");
  EXPECT_EQ(whole_cb.requests[0].pieces.size(), 4u);  // three chunks, then the empty end_stream
  EXPECT_EQ(whole_cb.requests[0].pieces.back(), 0u);
}

TEST_F(ServerCodecTest, EveryHeaderSplitPointParsesTheSame) {
  const std::string req =
      "GET /p HTTP/1.1\r\nHost: a.example\r\nX-A: 1\r\nX-Bb:  two words \t\r\n"
      "Content-Length: 3\r\n\r\nxyz";
  for (size_t split = 1; split < req.size(); ++split) {
    Recorder cb;
    ServerCodec codec(cb, limits_);
    size_t consumed = 0;
    ASSERT_EQ(codec.Dispatch(std::string_view(req).substr(0, split), &consumed),
              DispatchStatus::kOk)
        << split;
    ASSERT_EQ(codec.Dispatch(std::string_view(req).substr(split), &consumed),
              DispatchStatus::kPaused)
        << split;
    ASSERT_EQ(cb.requests.size(), 1u);
    EXPECT_EQ(cb.requests[0].headers->authority, "a.example") << split;
    const std::vector<http::HeaderMap::Entry> expected = {
        {"x-a", "1"}, {"x-bb", "two words"}, {"content-length", "3"}};
    EXPECT_EQ(cb.requests[0].headers->headers.entries(), expected) << split;
    EXPECT_EQ(cb.requests[0].body, "xyz") << split;
  }
}

// Each of these must fail the connection. Errors in the head are found before the request
// reaches the caller; errors in a chunked body (head_valid) after the headers went up, but the
// request never completes.
struct BadRequestCase {
  const char* name;
  std::string input;
  int status;
  const char* details;
  bool head_valid = false;
};

void PrintTo(const BadRequestCase& c, std::ostream* os) { *os << c.name; }

class SmugglingTest : public ServerCodecTest,
                      public ::testing::WithParamInterface<BadRequestCase> {};

TEST_P(SmugglingTest, Rejected) {
  const BadRequestCase& c = GetParam();
  ExpectError(c.input, c.status, c.details);
  if (c.head_valid) {
    ASSERT_EQ(cb_.requests.size(), 1u);
    EXPECT_EQ(cb_.requests[0].end_stream_calls, 0);
  } else {
    EXPECT_TRUE(cb_.requests.empty()) << "headers were delivered for a rejected request";
  }
  size_t consumed = 0;
  EXPECT_EQ(codec_.Dispatch("GET / HTTP/1.1\r\n\r\n", &consumed), DispatchStatus::kError);
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kError);
}

const std::string kHead = "POST / HTTP/1.1\r\nHost: h\r\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, SmugglingTest,
    ::testing::Values(
        BadRequestCase{"ClThenTe",
                       kHead + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                       400, "http1.content_length_and_chunked_not_allowed"},
        BadRequestCase{"TeThenCl",
                       kHead + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
                       400, "http1.content_length_and_chunked_not_allowed"},
        BadRequestCase{"ClWithOtherTe",
                       kHead + "Content-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400,
                       "http1.content_length_and_chunked_not_allowed"},
        BadRequestCase{"ConflictingCl",
                       kHead + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400,
                       "http1.invalid_content_length"},
        BadRequestCase{"RepeatedCl", kHead + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
                       400, "http1.invalid_content_length"},
        BadRequestCase{"ClList", kHead + "Content-Length: 3, 3\r\n\r\nabc", 400,
                       "http1.invalid_content_length"},
        BadRequestCase{"ClSigned", kHead + "Content-Length: +3\r\n\r\nabc", 400,
                       "http1.invalid_content_length"},
        BadRequestCase{"ClNegative", kHead + "Content-Length: -1\r\n\r\n", 400,
                       "http1.invalid_content_length"},
        BadRequestCase{"ClOverflow", kHead + "Content-Length: 99999999999999999999999\r\n\r\n", 400,
                       "http1.invalid_content_length"},
        BadRequestCase{"TeChunkedThenIdentity",
                       kHead + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400,
                       "http1.invalid_transfer_encoding"},
        BadRequestCase{"TeXchunked", kHead + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501,
                       "http1.invalid_transfer_encoding"},
        BadRequestCase{
            "TeChunkedTwice",
            kHead + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400, "http1.invalid_transfer_encoding"},
        BadRequestCase{"TeGzipOnly", kHead + "Transfer-Encoding: gzip\r\n\r\n", 501,
                       "http1.invalid_transfer_encoding"},
        BadRequestCase{"TeUnsupportedCodingBeforeChunked",
                       kHead + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
                       "http1.invalid_transfer_encoding"},
        BadRequestCase{"TeInHttp10",
                       "POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                       400, "http1.invalid_transfer_encoding"},
        BadRequestCase{"ObsFold", kHead + "X-A: first\r\n second\r\n\r\n", 400,
                       "http1.obs_fold_not_allowed"},
        BadRequestCase{"ObsFoldTab", kHead + "X-A: first\r\n\tsecond\r\n\r\n", 400,
                       "http1.obs_fold_not_allowed"},
        BadRequestCase{"ObsFoldAfterEmptyValue", kHead + "X-A:\r\n   second\r\n\r\n", 400,
                       "http1.obs_fold_not_allowed"},
        BadRequestCase{"ObsFoldOfTransferEncoding",
                       kHead + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400,
                       "http1.obs_fold_not_allowed"},
        BadRequestCase{"SpaceInHeaderName", kHead + "Transfer Encoding: chunked\r\n\r\n", 400,
                       "http1.invalid_characters"},
        BadRequestCase{"SpaceBeforeColon", kHead + "Transfer-Encoding : chunked\r\n\r\n", 400,
                       "http1.invalid_characters"},
        BadRequestCase{"EmptyHeaderName", kHead + ": value\r\n\r\n", 400,
                       "http1.invalid_characters"},
        BadRequestCase{"HeaderNameNonToken", kHead + "X(a): 1\r\n\r\n", 400,
                       "http1.invalid_characters"},
        BadRequestCase{"ControlCharInValue", kHead + "X-A: a\x01z\r\n\r\n", 400,
                       "http1.invalid_characters"},
        BadRequestCase{"DelInValue", kHead + "X-A: a\x7fz\r\n\r\n", 400,
                       "http1.invalid_characters"},
        BadRequestCase{"NulInValue", kHead + std::string("X-A: a\0z\r\n\r\n", 12), 400,
                       "http1.invalid_characters"},
        BadRequestCase{"BareCrInValue", kHead + "X-A: a\rz\r\n\r\n", 400,
                       "http1.invalid_characters"},
        BadRequestCase{"BareLfAfterHeader", kHead + "X-A: a\nX-B: b\r\n\r\n", 400,
                       "http1.invalid_characters"},
        BadRequestCase{"LeadingSpaceHeaderLine", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400,
                       "http1.invalid_characters"},
        BadRequestCase{"ChunkSizeNotHex",
                       kHead + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400,
                       "http1.invalid_chunk_size", true},
        BadRequestCase{"ChunkSizeNegative",
                       kHead + "Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", 400,
                       "http1.invalid_chunk_size", true},
        BadRequestCase{"ChunkSizeHexPrefix",
                       kHead + "Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", 400,
                       "http1.invalid_chunk_size", true},
        BadRequestCase{"ChunkSizeLeadingSpace",
                       kHead + "Transfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n", 400,
                       "http1.invalid_chunk_size", true},
        BadRequestCase{
            "ChunkSizeOverflow",
            kHead + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
            400, "http1.invalid_chunk_size", true},
        BadRequestCase{"ChunkSizeBareLf",
                       kHead + "Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400,
                       "http1.invalid_chunk_size", true},
        BadRequestCase{"DuplicateHost", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
                       "http.invalid_authority"},
        BadRequestCase{"BadHostChars", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400,
                       "http.invalid_authority"},
        BadRequestCase{"Http2Preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400,
                       "http1.codec_error"},
        BadRequestCase{"Http20", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 400, "http1.codec_error"},
        BadRequestCase{"Http30", "GET / HTTP/3.0\r\nHost: h\r\n\r\n", 400, "http1.codec_error"},
        BadRequestCase{"Http12", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 400, "http1.codec_error"},
        BadRequestCase{"Http09", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 400, "http1.codec_error"},
        BadRequestCase{"UnknownMethod", "FOO / HTTP/1.1\r\nHost: h\r\n\r\n", 400,
                       "http1.codec_error"},
        BadRequestCase{"RelativeTarget", "GET foo HTTP/1.1\r\nHost: h\r\n\r\n", 400,
                       "http1.invalid_url"},
        BadRequestCase{"AbsoluteNoHost", "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400,
                       "http1.invalid_url"},
        BadRequestCase{"AbsoluteUserinfo", "GET http://u@evil/x HTTP/1.1\r\nHost: h\r\n\r\n", 400,
                       "http1.invalid_url"},
        BadRequestCase{"ConnectWithPath", "CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n", 400,
                       "http1.invalid_url"},
        BadRequestCase{"ConnectWithBody",
                       "CONNECT h:443 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", 400,
                       "http1.body_disallowed"},
        BadRequestCase{"ConnectChunked",
                       "CONNECT h:443 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
                       501, "http1.invalid_transfer_encoding"}),
    [](const ::testing::TestParamInfo<BadRequestCase>& info) { return info.param.name; });

TEST_F(ServerCodecTest, ObsFoldSplitAcrossDispatches) {
  // The fold's CRLF and its leading space arrive in different reads.
  EXPECT_EQ(Feed(kHead + "X-A: first\r\n"), DispatchStatus::kOk);
  EXPECT_EQ(Feed(" second\r\n\r\n"), DispatchStatus::kError);
  EXPECT_EQ(codec_.error_details(), "http1.obs_fold_not_allowed");
}

TEST_F(ServerCodecTest, ObsFoldSplitInsideWhitespace) {
  EXPECT_EQ(Feed(kHead + "X-A:\r\n  "), DispatchStatus::kOk);
  EXPECT_EQ(Feed("  second\r\n\r\n"), DispatchStatus::kError);
  EXPECT_EQ(codec_.error_details(), "http1.obs_fold_not_allowed");
}

TEST_F(ServerCodecTest, ChunkedBodyErrorAfterHeadersStillFails) {
  // The head is valid, so headers are delivered; the bad chunk size then fails the connection.
  EXPECT_EQ(Feed(kHead + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nqq\r\n"),
            DispatchStatus::kError);
  EXPECT_EQ(codec_.error_status(), 400);
  EXPECT_EQ(codec_.error_details(), "http1.invalid_chunk_size");
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_EQ(cb_.requests[0].body, "abc");
  EXPECT_EQ(cb_.requests[0].end_stream_calls, 0);
}

TEST_F(ServerCodecTest, ChunkDataNotFollowedByCrlf) {
  EXPECT_EQ(Feed(kHead + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n"),
            DispatchStatus::kError);
  EXPECT_EQ(codec_.error_status(), 400);
}

TEST_F(ServerCodecTest, HeaderValueWhitespaceTrimmedAndObsTextKept) {
  EXPECT_EQ(Feed("GET / HTTP/1.1\r\nHost:   h  \r\nX-A:\t a b \t\r\nX-Utf8: caf\xc3\xa9\r\n"
                 "X-Empty:\r\n\r\n"),
            DispatchStatus::kPaused);
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_EQ(cb_.requests[0].headers->authority, "h");
  EXPECT_EQ(*cb_.requests[0].headers->headers.Get("x-a"), "a b");
  EXPECT_EQ(*cb_.requests[0].headers->headers.Get("x-utf8"), "caf\xc3\xa9");
  EXPECT_EQ(*cb_.requests[0].headers->headers.Get("x-empty"), "");
}

TEST_F(ServerCodecTest, HeadersTooLarge) {
  limits_.max_headers_bytes = 100;
  ServerCodec codec(cb_, limits_);
  size_t consumed = 0;
  const std::string big =
      "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(200, 'a') + "\r\n\r\n";
  EXPECT_EQ(codec.Dispatch(big, &consumed), DispatchStatus::kError);
  EXPECT_EQ(codec.error_status(), 431);
  EXPECT_EQ(codec.error_details(), "http1.headers_too_large");
  EXPECT_TRUE(cb_.requests.empty());
}

TEST_F(ServerCodecTest, HeadersTooLargeFedInPieces) {
  // Default limit (60 KiB) reached across many reads, by many small headers.
  std::string head = "GET / HTTP/1.1\r\nHost: h\r\n";
  std::string line = "X-Filler: " + std::string(1000, 'v') + "\r\n";
  limits_.max_headers_count = 1000;
  ServerCodec codec(cb_, limits_);
  size_t consumed = 0;
  ASSERT_EQ(codec.Dispatch(head, &consumed), DispatchStatus::kOk);
  DispatchStatus status = DispatchStatus::kOk;
  int lines = 0;
  while (status == DispatchStatus::kOk && lines < 100) {
    status = codec.Dispatch(line, &consumed);
    ++lines;
  }
  EXPECT_EQ(status, DispatchStatus::kError);
  EXPECT_EQ(codec.error_status(), 431);
  EXPECT_EQ(lines, 61);  // 61 * 1008 bytes > 61440
}

TEST_F(ServerCodecTest, UrlCountsTowardHeaderBytes) {
  limits_.max_headers_bytes = 64;
  ServerCodec codec(cb_, limits_);
  size_t consumed = 0;
  const std::string req = "GET /" + std::string(100, 'u') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(codec.Dispatch(req, &consumed), DispatchStatus::kError);
  EXPECT_EQ(codec.error_status(), 431);
}

TEST_F(ServerCodecTest, HeaderBytesAtLimitAccepted) {
  // url "/" (1) + "host" "h" (5) + "x" + value (1 + 57) = 64 bytes exactly.
  limits_.max_headers_bytes = 64;
  ServerCodec codec(cb_, limits_);
  size_t consumed = 0;
  const std::string ok = "GET / HTTP/1.1\r\nHost: h\r\nx: " + std::string(57, 'v') + "\r\n\r\n";
  EXPECT_EQ(codec.Dispatch(ok, &consumed), DispatchStatus::kPaused);
  Recorder cb2;
  ServerCodec codec2(cb2, limits_);
  const std::string over = "GET / HTTP/1.1\r\nHost: h\r\nx: " + std::string(58, 'v') + "\r\n\r\n";
  EXPECT_EQ(codec2.Dispatch(over, &consumed), DispatchStatus::kError);
  EXPECT_EQ(codec2.error_status(), 431);
}

TEST_F(ServerCodecTest, TooManyHeaders) {
  limits_.max_headers_count = 5;
  std::string req = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 4; ++i) req += "X-" + std::to_string(i) + ": v\r\n";
  {
    Recorder cb;
    ServerCodec codec(cb, limits_);
    size_t consumed = 0;
    EXPECT_EQ(codec.Dispatch(req + "\r\n", &consumed), DispatchStatus::kPaused);  // 5 headers
  }
  ServerCodec codec(cb_, limits_);
  size_t consumed = 0;
  EXPECT_EQ(codec.Dispatch(req + "X-5: v\r\n\r\n", &consumed), DispatchStatus::kError);
  EXPECT_EQ(codec.error_status(), 431);
  EXPECT_EQ(codec.error_details(), "http1.too_many_headers");
}

TEST_F(ServerCodecTest, AbsoluteFormTarget) {
  EXPECT_EQ(Feed("GET http://Example.com:8080/a/b?c=d HTTP/1.1\r\nHost: ignored\r\n\r\n"),
            DispatchStatus::kPaused);
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_EQ(cb_.requests[0].headers->authority, "Example.com:8080");
  EXPECT_EQ(cb_.requests[0].headers->path, "/a/b?c=d");
  EXPECT_EQ(cb_.requests[0].headers->scheme, "http");
  EXPECT_EQ(cb_.requests[0].headers->headers.size(), 0u);
}

// Whether the request named an authority at all: the HCM answers 400 when it did not.
TEST_F(ServerCodecTest, RequestHasAuthority) {
  struct Case {
    const char* request;
    bool has_authority;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost:\r\n\r\n", true},  // empty, but sent (RFC 9112 3.2)
      {"GET http://abs.example/ HTTP/1.1\r\n\r\n", true},
      {"CONNECT tunnel.example:443 HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    ServerCodec codec(cb_, limits_);
    size_t consumed = 0;
    const DispatchStatus status = codec.Dispatch(c.request, &consumed);
    EXPECT_NE(status, DispatchStatus::kError) << c.request;
    EXPECT_EQ(codec.request_has_authority(), c.has_authority) << c.request;
  }
  // A request without one, after one with a Host, on the same connection.
  EXPECT_EQ(Feed("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
            DispatchStatus::kPaused);
  EXPECT_FALSE(codec_.request_has_authority());
}

TEST_F(ServerCodecTest, AbsoluteFormDefaults) {
  EXPECT_EQ(Feed("GET HTTPS://example.com HTTP/1.1\r\n\r\n"
                 "GET http://example.com?q=1 HTTP/1.1\r\n\r\n"),
            DispatchStatus::kPaused);
  ASSERT_EQ(cb_.requests.size(), 2u);
  EXPECT_EQ(cb_.requests[0].headers->authority, "example.com");
  EXPECT_EQ(cb_.requests[0].headers->path, "/");
  EXPECT_EQ(cb_.requests[0].headers->scheme, "https");
  EXPECT_EQ(cb_.requests[1].headers->path, "/?q=1");
}

TEST_F(ServerCodecTest, OptionsAsterisk) {
  EXPECT_EQ(Feed("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), DispatchStatus::kPaused);
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_EQ(cb_.requests[0].headers->method, "OPTIONS");
  EXPECT_EQ(cb_.requests[0].headers->path, "*");
}

struct KeepAliveCase {
  std::string request;
  bool keep_alive;
  int minor;
};

class KeepAliveTest : public ::testing::TestWithParam<KeepAliveCase> {};

TEST_P(KeepAliveTest, Rules) {
  Recorder cb;
  ServerCodec codec(cb, CodecLimits{});
  size_t consumed = 0;
  ASSERT_EQ(codec.Dispatch(GetParam().request, &consumed), DispatchStatus::kPaused);
  EXPECT_EQ(codec.request_keep_alive(), GetParam().keep_alive) << GetParam().request;
  EXPECT_EQ(codec.request_version_minor(), GetParam().minor);
  ASSERT_EQ(cb.requests.size(), 1u);
  EXPECT_EQ(cb.requests[0].headers->version_minor, GetParam().minor);
}

INSTANTIATE_TEST_SUITE_P(
    Versions, KeepAliveTest,
    ::testing::Values(KeepAliveCase{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true, 1},
                      KeepAliveCase{"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false, 1},
                      KeepAliveCase{"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", false, 1},
                      KeepAliveCase{"GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", false, 1},
                      KeepAliveCase{"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", true, 1},
                      KeepAliveCase{"GET / HTTP/1.0\r\n\r\n", false, 0},
                      KeepAliveCase{"GET / HTTP/1.0\r\nHost: h\r\n\r\n", false, 0},
                      KeepAliveCase{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, 0},
                      KeepAliveCase{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true, 0},
                      KeepAliveCase{"POST / HTTP/1.0\r\nConnection: keep-alive\r\n"
                                    "Content-Length: 2\r\n\r\nab",
                                    true, 0}));

TEST_F(ServerCodecTest, Http10RequestWithBody) {
  EXPECT_EQ(Feed("POST /f HTTP/1.0\r\nContent-Length: 4\r\n\r\ndata"), DispatchStatus::kPaused);
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_EQ(cb_.requests[0].headers->version_minor, 0);
  EXPECT_EQ(cb_.requests[0].headers->authority, "");
  EXPECT_EQ(cb_.requests[0].body, "data");
  EXPECT_FALSE(codec_.request_keep_alive());
}

TEST_F(ServerCodecTest, WebSocketUpgrade) {
  const std::string head =
      "GET /chat HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const std::string tunnel = "\x81\x05hello";
  size_t consumed = 0;
  EXPECT_EQ(codec_.Dispatch(head + tunnel, &consumed), DispatchStatus::kUpgrade);
  EXPECT_EQ(consumed, head.size());
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_FALSE(cb_.requests[0].headers_end_stream);
  EXPECT_TRUE(cb_.requests[0].pieces.empty());
  EXPECT_TRUE(codec_.request_is_upgrade());
  EXPECT_EQ(*cb_.requests[0].headers->headers.Get("upgrade"), "websocket");
  EXPECT_EQ(*cb_.requests[0].headers->headers.Get("connection"), "Upgrade");
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kOk);
}

TEST_F(ServerCodecTest, UpgradeWithBodyTreatsBytesAsTunnel) {
  const std::string head =
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
      "Content-Length: 3\r\n\r\n";
  size_t consumed = 0;
  EXPECT_EQ(codec_.Dispatch(head + "abcdef", &consumed), DispatchStatus::kUpgrade);
  EXPECT_EQ(consumed, head.size());
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_TRUE(cb_.requests[0].body.empty());
}

TEST_F(ServerCodecTest, UpgradeHeaderWithoutConnectionUpgradeIsPlainRequest) {
  EXPECT_EQ(Feed("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"),
            DispatchStatus::kPaused);
  EXPECT_FALSE(codec_.request_is_upgrade());
}

TEST_F(ServerCodecTest, H2cUpgradeIsIgnored) {
  EXPECT_EQ(Feed("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                 "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"),
            DispatchStatus::kPaused);
  EXPECT_FALSE(codec_.request_is_upgrade());
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_TRUE(cb_.requests[0].headers_end_stream);
  EXPECT_FALSE(cb_.requests[0].headers->headers.Has("upgrade"));
  EXPECT_FALSE(cb_.requests[0].headers->headers.Has("http2-settings"));
  // The connection stays HTTP/1.1: a pipelined request after it still parses.
  codec_.Resume();
  EXPECT_EQ(Feed("GET /next HTTP/1.1\r\nHost: h\r\n\r\n"), DispatchStatus::kPaused);
  ASSERT_EQ(cb_.requests.size(), 2u);
  EXPECT_EQ(cb_.requests[1].headers->path, "/next");
}

TEST_F(ServerCodecTest, Connect) {
  const std::string head = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
  size_t consumed = 0;
  EXPECT_EQ(codec_.Dispatch(head + "\x16\x03\x01", &consumed), DispatchStatus::kUpgrade);
  EXPECT_EQ(consumed, head.size());
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_EQ(cb_.requests[0].headers->method, "CONNECT");
  EXPECT_EQ(cb_.requests[0].headers->authority, "example.com:443");
  EXPECT_EQ(cb_.requests[0].headers->path, "");
  EXPECT_FALSE(cb_.requests[0].headers_end_stream);
  EXPECT_TRUE(codec_.request_is_upgrade());
  // Further dispatches are refused: the bytes belong to the tunnel.
  EXPECT_EQ(codec_.Dispatch("GET / HTTP/1.1\r\n\r\n", &consumed), DispatchStatus::kUpgrade);
  EXPECT_EQ(consumed, 0u);
}

TEST_F(ServerCodecTest, ConnectWithZeroContentLength) {
  size_t consumed = 0;
  EXPECT_EQ(codec_.Dispatch("CONNECT h:443 HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &consumed),
            DispatchStatus::kUpgrade);
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_FALSE(cb_.requests[0].headers->headers.Has("content-length"));
}

TEST_F(ServerCodecTest, ExpectContinue) {
  EXPECT_EQ(Feed("PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n"),
            DispatchStatus::kOk);
  EXPECT_TRUE(codec_.request_expects_continue());
  ASSERT_EQ(cb_.requests.size(), 1u);
  EXPECT_EQ(Feed("abc"), DispatchStatus::kPaused);
  codec_.Resume();
  EXPECT_EQ(Feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), DispatchStatus::kPaused);
  EXPECT_FALSE(codec_.request_expects_continue());  // per request
}

TEST_F(ServerCodecTest, ExpectIgnoredForHttp10AndOtherValues) {
  EXPECT_EQ(Feed("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"),
            DispatchStatus::kPaused);
  EXPECT_FALSE(codec_.request_expects_continue());
  Recorder cb;
  ServerCodec codec(cb, limits_);
  size_t consumed = 0;
  EXPECT_EQ(codec.Dispatch("PUT / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", &consumed),
            DispatchStatus::kPaused);
  EXPECT_FALSE(codec.request_expects_continue());
}

TEST_F(ServerCodecTest, EofRules) {
  EXPECT_EQ(codec_.OnEof(), DispatchStatus::kOk);  // nothing received
  {
    Recorder cb;
    ServerCodec codec(cb, limits_);
    size_t consumed = 0;
    EXPECT_EQ(codec.Dispatch("GET / HTTP/1.1\r\nHost:", &consumed), DispatchStatus::kOk);
    EXPECT_EQ(codec.OnEof(), DispatchStatus::kError);
    EXPECT_EQ(codec.error_status(), 400);
    EXPECT_EQ(codec.error_details(), "http1.premature_eof");
  }
  {
    Recorder cb;
    ServerCodec codec(cb, limits_);
    size_t consumed = 0;
    EXPECT_EQ(codec.Dispatch(kHead + "Transfer-Encoding: chunked\r\n\r\n5\r\nab", &consumed),
              DispatchStatus::kOk);
    EXPECT_EQ(codec.OnEof(), DispatchStatus::kError);
  }
  {
    Recorder cb;
    ServerCodec codec(cb, limits_);
    size_t consumed = 0;
    // Stray CRLF between requests is not the start of a request.
    EXPECT_EQ(codec.Dispatch("GET / HTTP/1.1\r\n\r\n", &consumed), DispatchStatus::kPaused);
    codec.Resume();
    EXPECT_EQ(codec.Dispatch("\r\n", &consumed), DispatchStatus::kOk);
    EXPECT_EQ(codec.OnEof(), DispatchStatus::kOk);
  }
}

TEST_F(ServerCodecTest, MethodsAreReported) {
  for (const char* method : {"DELETE", "HEAD", "PATCH", "PUT", "OPTIONS", "TRACE", "PURGE"}) {
    Recorder cb;
    ServerCodec codec(cb, limits_);
    size_t consumed = 0;
    const std::string req = std::string(method) + " /x HTTP/1.1\r\nHost: h\r\n\r\n";
    ASSERT_EQ(codec.Dispatch(req, &consumed), DispatchStatus::kPaused) << method;
    ASSERT_EQ(cb.requests.size(), 1u);
    EXPECT_EQ(cb.requests[0].headers->method, method);
  }
}

}  // namespace
}  // namespace pilotfish::http1
