// Request mirroring (request_mirror_policies): a copy of a finished request sent to another
// cluster, fire and forget. The shadow is owned by the worker, outlives the original stream,
// and its response, failure or timeout never touch the original response.
#pragma once

#include <memory>
#include <string>

#include "proxy/http/header_map.h"
#include "proxy/server/worker.h"
#include "proxy/upstream/http1_pool.h"

namespace pilotfish::filters::router {

class ShadowRequest : public server::Session,
                      public upstream::PoolCallbacks,
                      public upstream::UpstreamStreamCallbacks {
 public:
  // Starts mirroring `headers` (the request as forwarded, host suffixed "-shadow" here) and
  // `body` to `cluster` on `worker`; gives up after `timeout`.
  static void Start(server::Worker& worker, const std::string& cluster,
                    const http::RequestHeaders& headers, std::string body,
                    std::chrono::milliseconds timeout);
  ~ShadowRequest() override;

  // server::Session
  void StartDrain() override {}
  void CloseNow() override { Finish(false); }

  // upstream::PoolCallbacks
  void OnPoolReady(upstream::UpstreamClient& client) override;
  void OnPoolFailure(upstream::PoolFailure) override {
    pending_ = nullptr;  // the pool already dropped it
    Finish(false);
  }

  // upstream::UpstreamStreamCallbacks: the response is read and dropped.
  void On1xxHeaders(http::ResponseHeadersPtr) override {}
  void OnResponseHeaders(http::ResponseHeadersPtr headers, bool end_stream) override;
  void OnResponseData(std::string_view, bool end_stream) override;
  void OnUpstreamReset(upstream::UpstreamResetReason) override;

 private:
  ShadowRequest(server::Worker& worker, http::RequestHeaders headers, std::string body);
  void Finish(bool reusable);

  server::Worker& worker_;
  http::RequestHeaders headers_;
  std::string body_;
  upstream::Http1ConnPool* pool_ = nullptr;
  upstream::Http1ConnPool::Pending* pending_ = nullptr;
  upstream::UpstreamClient* client_ = nullptr;
  bool keep_alive_ = true;
  bool done_ = false;
  event::TimerPtr timer_;
};

}  // namespace pilotfish::filters::router
