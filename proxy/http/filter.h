// The HTTP filter chain contract between the connection manager and its filters (router,
// fault, ...). Request-path ("decoder") filters only, for now.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "proxy/http/header_map.h"
#include "proxy/http/stream_info.h"
#include "proxy/net/address.h"

namespace pilotfish::event {
class Dispatcher;
}
namespace pilotfish::router {
class CompiledRoute;
struct CompiledVirtualHost;
}  // namespace pilotfish::router
namespace pilotfish::server {
class Worker;
}
namespace pilotfish::http {
struct RouterStats;
}

namespace pilotfish::http {

enum class FilterHeadersStatus { kContinue, kStopIteration };
enum class FilterDataStatus { kContinue, kStopIterationAndBuffer };

class DecoderFilterCallbacks {
 public:
  virtual ~DecoderFilterCallbacks() = default;
  virtual server::Worker& worker() = 0;
  virtual event::Dispatcher& dispatcher() = 0;
  virtual StreamInfo& stream_info() = 0;
  virtual const RequestHeaders& request_headers() = 0;
  // The downstream peer (for source-IP hashing and logs).
  virtual const net::Address& downstream_remote_address() const = 0;
  // Where the downstream connection was headed before iptables REDIRECT (the local address
  // restored by use_original_dst or the original_dst listener filter); nullptr otherwise.
  virtual const net::Address* downstream_original_destination() const { return nullptr; }
  // The route chosen for the request's current headers (nullptr: no route / no vhost).
  virtual const router::CompiledRoute* route() = 0;
  virtual const router::CompiledVirtualHost* virtual_host() = 0;
  // Resumes iteration after a filter returned kStopIteration.
  virtual void ContinueDecoding() = 0;
  // Ends the stream with a locally generated response (Envoy's local reply).
  virtual void SendLocalReply(int status, std::string_view body, ResponseFlag flag,
                              std::string_view details) = 0;
  virtual void Encode1xxHeaders(ResponseHeadersPtr headers) = 0;
  virtual void EncodeHeaders(ResponseHeadersPtr headers, bool end_stream) = 0;
  virtual void EncodeData(std::string_view data, bool end_stream) = 0;
  // Tunnel (after a 101): raw bytes to the downstream, and its half-close.
  virtual void EncodeTunnelData(std::string_view data) = 0;
  virtual void EncodeTunnelEof() = 0;
  // Flow control on the downstream connection's reads.
  virtual void ReadDisableDownstream(bool disable) = 0;
  // Aborts the stream and the downstream connection (response already started).
  virtual void ResetStream() = 0;
  virtual uint32_t buffer_limit() const = 0;
  virtual bool suppress_envoy_headers() const = 0;
  // Upgrade types the connection manager allows (e.g. "websocket").
  virtual bool UpgradeAllowedByHcm(std::string_view type) const = 0;
  // The router's stats under the connection manager's prefix; nullptr: no stats.
  virtual const RouterStats* router_stats() const { return nullptr; }
};

class DecoderFilter {
 public:
  virtual ~DecoderFilter() = default;
  virtual void SetDecoderFilterCallbacks(DecoderFilterCallbacks& callbacks) = 0;
  virtual FilterHeadersStatus DecodeHeaders(RequestHeaders& headers, bool end_stream) = 0;
  virtual FilterDataStatus DecodeData(std::string_view data, bool end_stream) = 0;
  // The stream is going away (complete or reset): release upstream resources, stop timers.
  virtual void OnDestroy() {}
  // The downstream connection's write buffer is over / back under its limit.
  virtual void OnDownstreamAboveWriteHighWatermark() {}
  virtual void OnDownstreamBelowWriteLowWatermark() {}
  // After an upgrade: raw bytes from the downstream, and its half-close.
  virtual void DecodeTunnelData(std::string_view data) {}
  virtual void OnDownstreamTunnelEof() {}
};
using DecoderFilterPtr = std::unique_ptr<DecoderFilter>;

class HttpFilterFactory {
 public:
  virtual ~HttpFilterFactory() = default;
  virtual DecoderFilterPtr Create() const = 0;
};
using HttpFilterFactorySharedPtr = std::shared_ptr<const HttpFilterFactory>;

}  // namespace pilotfish::http
