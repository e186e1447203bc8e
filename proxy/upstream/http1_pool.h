// Per-worker, per-host HTTP/1.1 connection pool: reuses idle keep-alive connections, opens new
// ones within the cluster's circuit-breaker limits, and queues streams waiting for one.
#pragma once

#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/event/dispatcher.h"
#include "proxy/http1/codec.h"
#include "proxy/net/connection.h"
#include "proxy/upstream/host.h"

namespace pilotfish::upstream {

enum class PoolFailure { kConnectFail, kConnectTimeout, kOverflow };
enum class UpstreamResetReason { kConnectionTermination, kProtocolError, kLocalReset };

class Http1ConnPool;

// What the stream owner (the router) hears from its upstream connection.
class UpstreamStreamCallbacks : public http1::ClientCodecCallbacks {
 public:
  // The connection died before the response completed.
  virtual void OnUpstreamReset(UpstreamResetReason reason) = 0;
  virtual void OnUpstreamWriteHighWatermark() {}
  virtual void OnUpstreamWriteLowWatermark() {}
  // Raw bytes after a 101 (tunnel mode).
  virtual void OnUpstreamTunnelData(std::string_view data) {}
  virtual void OnUpstreamTunnelEof() {}
};

// One upstream HTTP/1.1 connection carrying at most one stream at a time.
class UpstreamClient : public net::ConnectionCallbacks, public event::DeferredDeletable {
 public:
  UpstreamClient(Http1ConnPool& pool, net::ConnectionPtr connection);
  ~UpstreamClient() override;

  // Binds a stream to this connection. The response of a HEAD request has no body.
  void StartStream(UpstreamStreamCallbacks* callbacks, bool head_request);
  void Write(std::string&& data) { connection_->Write(std::move(data)); }
  void Write(std::string_view data) { connection_->Write(data); }
  template <typename AppendFn>
  void WriteWith(AppendFn&& append) {
    connection_->WriteWith(std::forward<AppendFn>(append));
  }
  void ReadDisable(bool disable) { connection_->ReadDisable(disable); }
  // Switches to raw tunnelling (after a 101 was forwarded).
  void EnterTunnel();
  void ShutdownWrite() { connection_->ShutdownWrite(); }
  // The stream is over. `reusable` (complete request and response, keep-alive) returns the
  // connection to the pool; otherwise it is closed.
  void ReleaseStream(bool reusable);

  const HostSharedPtr& host() const;
  net::Connection& connection() { return *connection_; }
  uint32_t requests_served() const { return requests_; }
  // Whether the current response allows reusing the connection (no "connection: close").
  bool response_keep_alive() const { return codec_->response_keep_alive(); }

  // net::ConnectionCallbacks
  void OnConnected() override;
  void OnData(std::string_view data) override;
  void OnEof() override;
  void OnClose(net::CloseReason reason) override;
  void OnAboveWriteHighWatermark() override;
  void OnBelowWriteLowWatermark() override;

 private:
  friend class Http1ConnPool;
  void DispatchInput();
  void ResetStream(UpstreamResetReason reason);

  Http1ConnPool& pool_;
  net::ConnectionPtr connection_;
  std::unique_ptr<http1::ClientCodecCallbacks> forwarder_;
  std::unique_ptr<http1::ClientCodec> codec_;
  UpstreamStreamCallbacks* stream_ = nullptr;
  bool connected_ = false;
  bool tunnel_ = false;
  bool closed_ = false;
  bool in_dispatch_ = false;
  bool release_after_dispatch_ = false;
  uint32_t requests_ = 0;
  std::list<std::unique_ptr<UpstreamClient>>::iterator list_pos_;
  // Armed lazily: going idle arms it only if it is not armed already, and starting a stream
  // leaves it running; when it fires it closes the connection if it has been idle for the
  // whole timeout and otherwise re-arms for what is left (no timer-heap work per request).
  event::TimerPtr idle_timer_;
  uint64_t idle_since_ms_ = 0;  // dispatcher loop time when it last went idle (stream_ null)
};

class PoolCallbacks {
 public:
  virtual ~PoolCallbacks() = default;
  virtual void OnPoolReady(UpstreamClient& client) = 0;
  virtual void OnPoolFailure(PoolFailure reason) = 0;
};

class Http1ConnPool {
 public:
  Http1ConnPool(event::Dispatcher& dispatcher, HostSharedPtr host, ClusterInfoSharedPtr cluster);
  ~Http1ConnPool();

  struct Pending;
  // Either calls OnPoolReady/OnPoolFailure before returning (and returns nullptr) or returns a
  // handle that Cancel() withdraws. Callbacks never fire after Cancel().
  Pending* NewStream(PoolCallbacks& callbacks);
  void Cancel(Pending* pending);

  // Closes idle connections and lets busy ones finish (cluster or host removed).
  void Drain();
  bool Empty() const { return clients_.empty() && pending_.empty(); }

  const HostSharedPtr& host() const { return host_; }
  const ClusterInfoSharedPtr& cluster() const { return cluster_; }
  event::Dispatcher& dispatcher() { return dispatcher_; }

 private:
  friend class UpstreamClient;
  void CreateClient();
  void OnClientReady(UpstreamClient* client);
  void OnClientConnectFailed(UpstreamClient* client, net::CloseReason reason);
  void OnClientClosed(UpstreamClient* client);
  void AttachPending(UpstreamClient* client);

  event::Dispatcher& dispatcher_;
  HostSharedPtr host_;
  ClusterInfoSharedPtr cluster_;
  std::list<std::unique_ptr<Pending>> pending_;
  // Connected, no stream: a stack, as Envoy's ready list. The connection used last is used
  // next, so light traffic stays on few connections and the idle timeout reaps the rest.
  std::vector<UpstreamClient*> idle_;
  std::list<std::unique_ptr<UpstreamClient>> clients_;
  uint32_t connecting_ = 0;
  bool draining_ = false;
};

}  // namespace pilotfish::upstream
