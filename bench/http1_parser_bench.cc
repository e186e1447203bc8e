// Micro-benchmarks for the HTTP/1 codec: request and response-head parsing, head encoding.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "proxy/http1/codec.h"

namespace pilotfish::http1 {
namespace {

// A typical browser-ish GET: ~400 bytes, 8 headers.
constexpr std::string_view kRequest =
    "GET /api/v1/users/12345/profile?fields=name,email&lang=en HTTP/1.1\r\n"
    "Host: service.example.internal:8080\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "X-Request-Id: 7f3c2a1e-9b4d-4e8f-a6c5-1d2e3f4a5b6c\r\n"
    "Cookie: session=abcdef0123456789\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

constexpr std::string_view kResponseHead =
    "HTTP/1.1 200 OK\r\n"
    "Date: Mon, 27 Jul 2024 12:28:53 GMT\r\n"
    "Server: nginx/1.25.3\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 0\r\n"
    "Cache-Control: no-cache, no-store, must-revalidate\r\n"
    "X-Request-Id: 7f3c2a1e-9b4d-4e8f-a6c5-1d2e3f4a5b6c\r\n"
    "Vary: Accept-Encoding\r\n"
    "\r\n";

class NullServerCallbacks : public ServerCodecCallbacks {
 public:
  void OnRequestHeaders(http::RequestHeadersPtr headers, bool end_stream) override {
    benchmark::DoNotOptimize(headers.get());
  }
  void OnRequestData(std::string_view data, bool end_stream) override {}
};

class NullClientCallbacks : public ClientCodecCallbacks {
 public:
  void On1xxHeaders(http::ResponseHeadersPtr headers) override {}
  void OnResponseHeaders(http::ResponseHeadersPtr headers, bool end_stream) override {
    benchmark::DoNotOptimize(headers.get());
  }
  void OnResponseData(std::string_view data, bool end_stream) override {}
};

// One keep-alive connection parsing request after request, as a worker does.
void BM_ParseRequest(benchmark::State& state) {
  NullServerCallbacks callbacks;
  ServerCodec codec(callbacks, CodecLimits{});
  for (auto _ : state) {
    size_t consumed = 0;
    if (codec.Dispatch(kRequest, &consumed) != DispatchStatus::kPaused) {
      state.SkipWithError("request did not parse");
      break;
    }
    codec.Resume();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kRequest.size()));
}
BENCHMARK(BM_ParseRequest);

void BM_ParseResponseHead(benchmark::State& state) {
  NullClientCallbacks callbacks;
  ClientCodec codec(callbacks, CodecLimits{});
  for (auto _ : state) {
    codec.ExpectResponse(false);
    size_t consumed = 0;
    if (codec.Dispatch(kResponseHead, &consumed) != DispatchStatus::kPaused) {
      state.SkipWithError("response did not parse");
      break;
    }
    codec.Resume();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kResponseHead.size()));
}
BENCHMARK(BM_ParseResponseHead);

void BM_EncodeResponseHead(benchmark::State& state) {
  http::ResponseHeaders headers;
  headers.status = 200;
  headers.headers.Add("date", "Mon, 27 Jul 2024 12:28:53 GMT");
  headers.headers.Add("server", "pilotfish");
  headers.headers.Add("content-type", "application/json; charset=utf-8");
  headers.headers.Add("content-length", "1234");
  headers.headers.Add("cache-control", "no-cache, no-store, must-revalidate");
  headers.headers.Add("x-request-id", "7f3c2a1e-9b4d-4e8f-a6c5-1d2e3f4a5b6c");
  std::string out;
  for (auto _ : state) {
    out.clear();
    BodyFraming framing;
    EncodeResponseHeaders(headers, 1, false, true, out, &framing);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeResponseHead);

}  // namespace
}  // namespace pilotfish::http1

BENCHMARK_MAIN();
