// The HTTP connection manager: one per downstream connection. Parses requests with the HTTP/1
// codec, runs each through the HTTP filter chain (ending in the router), encodes responses,
// and owns keep-alive, pipelining, upgrades, timeouts and drain.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "filters/network/http_connection_manager/stats.h"
#include "proxy/access_log/access_logger.h"
#include "proxy/access_log/stream_observer.h"
#include "proxy/common/thread_pooled.h"
#include "proxy/config/hcm.h"
#include "proxy/http/filter.h"
#include "proxy/http1/codec.h"
#include "proxy/router/route_table.h"
#include "proxy/server/listener_stats.h"
#include "proxy/server/worker.h"

namespace pilotfish::filters::hcm {

// Everything a connection needs from config, shared read-only by all connections.
struct HcmRuntimeConfig {
  config::HttpConnectionManager config;
  ::pilotfish::router::RouteTableSharedPtr route_table;
  std::vector<http::HttpFilterFactorySharedPtr> filter_factories;
  access_log::AccessLoggerList access_logs;
  access_log::StreamObserverList observers;  // Istio's stats filter
  // http.<stat_prefix>.* and the listener's stats, created by the first connection (the store
  // comes with it) and kept here because connections hold this config to their end.
  stats::LazyStats<HcmStats> stats;
  stats::LazyStats<server::ListenerStats> listener_stats;
};
using HcmRuntimeConfigSharedPtr = std::shared_ptr<const HcmRuntimeConfig>;

class ConnectionManager;

class ActiveStream : public http::DecoderFilterCallbacks,
                     public event::DeferredDeletable,
                     public common::ThreadPooled<ActiveStream> {  // one per request
 public:
  ActiveStream(ConnectionManager& cm, http::RequestHeadersPtr headers);
  ~ActiveStream() override;

  void DecodeHeaders(bool end_stream);
  void DecodeData(std::string_view data, bool end_stream);
  void OnResetFromDownstream();  // connection gone
  bool response_started() const { return response_started_; }
  bool response_complete() const { return response_complete_; }
  bool request_complete() const { return request_complete_; }
  void DestroyFilters();
  // The stream idle timeout: the matched route's idle_timeout, else the HCM's.
  std::chrono::milliseconds IdleTimeout() const;
  // Writes the access log lines, once: when the stream completes or is reset.
  void LogAccess();

  // http::DecoderFilterCallbacks
  server::Worker& worker() override;
  event::Dispatcher& dispatcher() override;
  http::StreamInfo& stream_info() override { return info_; }
  const http::RequestHeaders& request_headers() override { return *headers_; }
  const net::Address& downstream_remote_address() const override;
  const net::Address* downstream_original_destination() const override;
  const ::pilotfish::router::CompiledRoute* route() override { return route_.route; }
  const ::pilotfish::router::CompiledVirtualHost* virtual_host() override { return route_.vhost; }
  void ContinueDecoding() override;
  void SendLocalReply(int status, std::string_view body, http::ResponseFlag flag,
                      std::string_view details) override;
  void Encode1xxHeaders(http::ResponseHeadersPtr headers) override;
  void EncodeHeaders(http::ResponseHeadersPtr headers, bool end_stream) override;
  void EncodeData(std::string_view data, bool end_stream) override;
  void EncodeTunnelData(std::string_view data) override;
  void EncodeTunnelEof() override;
  void ReadDisableDownstream(bool disable) override;
  void ResetStream() override;
  uint32_t buffer_limit() const override;
  bool suppress_envoy_headers() const override;
  bool UpgradeAllowedByHcm(std::string_view type) const override;
  const http::RouterStats* router_stats() const override;

 private:
  friend class ConnectionManager;
  void RunDecodeHeaders();
  void OnStreamIdleTimeout();

  ConnectionManager& cm_;
  http::RequestHeadersPtr headers_;
  http::ResponseHeadersPtr response_headers_;             // as sent, for the access log
  ::pilotfish::router::RouteTableSharedPtr route_table_;  // owns what route_ points into
  ::pilotfish::router::RouteTable::Match route_;
  absl::InlinedVector<http::DecoderFilterPtr, 4> filters_;  // no allocation for a short chain
  size_t next_filter_ = 0;
  bool headers_end_stream_ = false;
  bool stopped_ = false;       // a filter stopped header iteration
  std::string buffered_body_;  // body arriving while stopped
  bool buffered_end_stream_ = false;
  bool buffer_read_disabled_ = false;  // downstream reads paused: buffered_body_ over the limit
  bool request_complete_ = false;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool head_request_ = false;
  bool filters_destroyed_ = false;
  bool logged_ = false;
  bool synthetic_headers_ = false;  // made up for a codec error before any request line
  int read_disabled_ = 0;
  http1::BodyFraming response_framing_ = http1::BodyFraming::kNone;
  http::StreamInfo info_;
  event::TimerPtr request_timer_;
};

class ConnectionManager : public server::Session,
                          public net::ConnectionCallbacks,
                          public http1::ServerCodecCallbacks {
 public:
  // `stats` and `listener_stats` live in `config` (or are static).
  ConnectionManager(server::Worker& worker, HcmRuntimeConfigSharedPtr config,
                    net::ConnectionPtr connection, const net::ListenerInfo& info,
                    const HcmStats& stats = HcmStats::None(),
                    const server::ListenerStats* listener_stats = nullptr);
  ~ConnectionManager() override;

  void Start();
  const HcmStats& stats() const { return stats_; }
  server::Worker& worker() { return worker_; }
  const HcmRuntimeConfig& config() const { return *config_; }
  net::Connection& connection() { return *connection_; }
  const net::ListenerInfo& listener_info() const { return listener_info_; }

  // server::Session
  void StartDrain() override;
  void CloseNow() override;

  // net::ConnectionCallbacks
  void OnData(std::string_view data) override;
  void OnEof() override;
  void OnClose(net::CloseReason reason) override;
  void OnAboveWriteHighWatermark() override;
  void OnBelowWriteLowWatermark() override;

  // http1::ServerCodecCallbacks
  void OnRequestHeaders(http::RequestHeadersPtr headers, bool end_stream) override;
  void OnRequestData(std::string_view data, bool end_stream) override;

 private:
  friend class ActiveStream;
  void Dispatch(std::string_view data);
  void HandleCodecError();
  void MutateRequestHeaders(http::RequestHeaders& headers);
  // Answers the new stream's request with a local reply before any filter sees it. A body not
  // read yet (!end_stream) is not skipped: SendLocalReply then closes the connection after it.
  void RejectRequest(int status, std::string_view details, bool end_stream);
  void WriteResponseHeaders(ActiveStream& stream, http::ResponseHeaders& headers, bool end_stream);
  void OnStreamComplete();
  void ResetActiveStream(http::ResponseFlag flag);
  void Close(net::Connection::CloseType type);
  // Activity on the connection or its stream: pushes the idle deadline out. Cheap (no timer
  // operation unless the deadline moves earlier); the timer re-arms itself when it fires early.
  void Touch();
  void OnIdleTimer();
  std::chrono::milliseconds CurrentIdleTimeout() const;

  server::Worker& worker_;
  HcmRuntimeConfigSharedPtr config_;
  net::ConnectionPtr connection_;
  net::ListenerInfo listener_info_;
  const HcmStats& stats_;
  const server::ListenerStats* listener_stats_;
  bool counted_ = false;  // the connection is in the cx_active gauges
  std::unique_ptr<http1::ServerCodec> codec_;
  std::unique_ptr<ActiveStream> stream_;
  std::string pending_input_;  // pipelined bytes waiting for the active stream to finish
  bool draining_ = false;
  bool close_after_response_ = false;
  bool tunnel_ = false;
  bool closed_ = false;
  bool in_dispatch_ = false;
  bool upgrade_pending_ = false;
  uint32_t requests_ = 0;
  // One timer per connection: the stream idle timeout while a stream is active, the connection
  // idle timeout otherwise (HTTP/1 has at most one stream at a time).
  event::TimerPtr idle_timer_;
  uint64_t last_activity_ms_ = 0;
  uint64_t armed_deadline_ms_ = 0;
};

// The network filter factory the listener's filter chain ends in.
class HcmFactory : public net::NetworkFilterFactory {
 public:
  explicit HcmFactory(HcmRuntimeConfigSharedPtr config) : config_(std::move(config)) {}
  void OnNewConnection(server::Worker& worker, net::ConnectionPtr connection,
                       const net::ListenerInfo& info) const override;
  const HcmRuntimeConfigSharedPtr& config() const { return config_; }

 private:
  HcmRuntimeConfigSharedPtr config_;
};

}  // namespace pilotfish::filters::hcm
