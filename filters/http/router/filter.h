// The router: the terminal HTTP filter. Picks the cluster and host, forwards the request over a
// pooled upstream connection, streams the response back, retries failed attempts as the retry
// policy allows, and turns upstream failures and timeouts into Envoy's local replies.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "filters/http/router/retry_state.h"
#include "filters/http/router/shadow.h"
#include "proxy/common/thread_pooled.h"
#include "proxy/http/filter.h"
#include "proxy/upstream/cluster_manager.h"

namespace pilotfish::filters::router {

class RouterFilter : public http::DecoderFilter,
                     public upstream::PoolCallbacks,
                     public upstream::UpstreamStreamCallbacks,
                     public common::ThreadPooled<RouterFilter> {  // one per request
 public:
  RouterFilter() = default;
  ~RouterFilter() override;

  // http::DecoderFilter
  void SetDecoderFilterCallbacks(http::DecoderFilterCallbacks& cb) override { callbacks_ = &cb; }
  http::FilterHeadersStatus DecodeHeaders(http::RequestHeaders& headers, bool end_stream) override;
  http::FilterDataStatus DecodeData(std::string_view data, bool end_stream) override;
  void OnDestroy() override;
  void OnDownstreamAboveWriteHighWatermark() override;
  void OnDownstreamBelowWriteLowWatermark() override;
  void DecodeTunnelData(std::string_view data) override;
  void OnDownstreamTunnelEof() override;

  // upstream::PoolCallbacks
  void OnPoolReady(upstream::UpstreamClient& client) override;
  void OnPoolFailure(upstream::PoolFailure reason) override;

  // upstream::UpstreamStreamCallbacks
  void On1xxHeaders(http::ResponseHeadersPtr headers) override;
  void OnResponseHeaders(http::ResponseHeadersPtr headers, bool end_stream) override;
  void OnResponseData(std::string_view data, bool end_stream) override;
  void OnUpstreamReset(upstream::UpstreamResetReason reason) override;
  void OnUpstreamWriteHighWatermark() override;
  void OnUpstreamWriteLowWatermark() override;
  void OnUpstreamTunnelData(std::string_view data) override;
  void OnUpstreamTunnelEof() override;

 private:
  // One upstream attempt: host choice (skipping the previous host when the retry policy asks),
  // then a pooled connection.
  // `cluster`: the cluster when the caller just looked it up (the first attempt), else nullptr.
  void StartAttempt(upstream::WorkerClusterManager::Cluster* cluster = nullptr);
  void SendToUpstream(std::string_view data, bool end_stream);
  void OnGlobalTimeout();
  void StartGlobalTimer();
  void StopGlobalTimer() {
    global_timer_.Disable();
    global_timer_started_ = false;
  }
  // Arms the attempt's per_try_timeout and per_try_idle_timeout once its request is sent.
  void StartPerTryTimer();
  void OnPerTryTimeout();
  // Re-arms the per_try_idle_timeout (a response byte arrived); no-op when it is not running.
  void TouchPerTryIdleTimer();
  void OnPerTryIdleTimeout();
  // Both per-try timeouts: the attempt is reset and retried as a timeout, or the request ends
  // with 504 UT (or a reset, once the response has started).
  // `counter` is the cluster stat to count (upstream_rq_per_try_timeout or _idle_timeout).
  void OnAttemptTimeout(stats::Counter upstream::ClusterStats::*counter, std::string_view details);
  // Retries if `matched` (the failure is in retry_on) and a retry is allowed; sets URX when
  // retries are exhausted. Returns true when a retry was scheduled.
  bool MaybeRetry(bool matched);
  void ReleaseRetryResource();
  // 503 UO with x-envoy-overloaded: a circuit breaker refused the request.
  void SendOverflowReply();
  // upstream_rq_<code> / _<N>xx of this attempt's cluster: an upstream response, or the code of
  // the local reply an attempt ended with (504 timeout, 503 reset / connect failure / overflow).
  void ChargeUpstreamCode(int status);
  // Tells the cluster's outlier detector how this attempt's host did.
  void ReportToOutlierDetector(int status, bool local_origin_failure);
  int64_t NowMs() const;
  void CleanupUpstream(bool reusable);
  void ApplyRequestMutations(http::RequestHeaders& headers);

  http::DecoderFilterCallbacks* callbacks_ = nullptr;
  upstream::Http1ConnPool* pool_ = nullptr;
  upstream::Http1ConnPool::Pending* pending_ = nullptr;
  upstream::UpstreamClient* client_ = nullptr;
  http::RequestHeaders* request_ = nullptr;
  const config::WeightedClusterEntry* weighted_ = nullptr;
  std::string cluster_name_;
  upstream::HostSharedPtr host_;                 // this attempt's host
  upstream::ClusterInfoSharedPtr cluster_info_;  // this attempt's cluster (for its stats)
  std::unique_ptr<RetryState> retry_;
  // Request body kept for the upstream: what arrived before the connection, and, while retries
  // are possible (retain_body_), the whole body for replay, up to the buffer limit.
  std::string body_;
  bool retain_body_ = false;
  // Set while this request holds a slot of the cluster's retry circuit breaker (max_retries or
  // the retry budget); the cluster it was counted in, should a CDS update replace it.
  upstream::ClusterInfoSharedPtr counted_retry_;
  // Set while this attempt counts against the cluster's max_requests circuit breaker.
  upstream::ClusterInfoSharedPtr counted_request_;
  uint32_t attempt_ = 0;
  std::optional<uint64_t> hash_;  // from the route's hash_policy, for RING_HASH / MAGLEV
  // request_mirror_policies chosen for this request: the forwarded head and the whole body
  // (up to the buffer limit), sent when the request is complete.
  std::vector<std::string> mirror_clusters_;
  http::RequestHeadersPtr mirror_headers_;
  std::string mirror_body_;
  void LaunchMirrors();
  http1::BodyFraming framing_ = http1::BodyFraming::kNone;
  bool request_complete_ = false;
  bool upstream_request_complete_ = false;  // last byte handed to the upstream connection
  bool response_started_ = false;
  bool response_complete_ = false;
  bool upgrade_ = false;
  bool auto_host_rewrite_ = false;  // the route's auto_host_rewrite: Host = the chosen host's name
  bool tunnel_ = false;
  bool downstream_read_disabled_ = false;
  bool upstream_read_disabled_ = false;
  bool destroyed_ = false;
  bool upstream_keep_alive_ = true;
  std::chrono::milliseconds timeout_{0};
  std::chrono::steady_clock::time_point upstream_start_;
  // The route timeout: nearly every request has one, nearly always of a configured value, so
  // a queued timer (no libuv heap insert and removal per request).
  event::QueuedTimer global_timer_{
      [](void* self) { static_cast<RouterFilter*>(self)->OnGlobalTimeout(); }, this};
  bool global_timer_started_ = false;  // once per request (reset where it is stopped)
  event::TimerPtr per_try_timer_;
  // Created with the first attempt that needs it and only disabled between attempts (it may be
  // the timer whose callback is running), destroyed with the filter.
  event::TimerPtr per_try_idle_timer_;
  event::TimerPtr backoff_timer_;
};

class RouterFactory : public http::HttpFilterFactory {
 public:
  http::DecoderFilterPtr Create() const override { return std::make_unique<RouterFilter>(); }
};

}  // namespace pilotfish::filters::router
