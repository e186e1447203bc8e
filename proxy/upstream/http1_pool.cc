// Http1ConnPool and UpstreamClient: connection reuse, pending queue and response dispatch.
#include "proxy/upstream/http1_pool.h"

namespace pilotfish::upstream {

struct Http1ConnPool::Pending {
  PoolCallbacks* callbacks;
  std::list<std::unique_ptr<Pending>>::iterator pos;
};

// ---------------------------------------------------------------------------- UpstreamClient
namespace {
// Forwards codec callbacks to whichever stream is bound to the connection.
class CodecForwarder : public http1::ClientCodecCallbacks {
 public:
  explicit CodecForwarder(UpstreamStreamCallbacks** stream) : stream_(stream) {}
  void On1xxHeaders(http::ResponseHeadersPtr h) override {
    if (*stream_ != nullptr) (*stream_)->On1xxHeaders(std::move(h));
  }
  void OnResponseHeaders(http::ResponseHeadersPtr h, bool end_stream) override {
    if (*stream_ != nullptr) (*stream_)->OnResponseHeaders(std::move(h), end_stream);
  }
  void OnResponseData(std::string_view data, bool end_stream) override {
    if (*stream_ != nullptr) (*stream_)->OnResponseData(data, end_stream);
  }

 private:
  UpstreamStreamCallbacks** stream_;
};
}  // namespace

UpstreamClient::UpstreamClient(Http1ConnPool& pool, net::ConnectionPtr connection)
    : pool_(pool), connection_(std::move(connection)) {
  forwarder_ = std::make_unique<CodecForwarder>(&stream_);
  codec_ = std::make_unique<http1::ClientCodec>(*forwarder_, http1::CodecLimits{});
  connection_->SetCallbacks(this);
  connection_->SetWriteBufferLimits(pool.cluster()->config().per_connection_buffer_limit_bytes);
}

UpstreamClient::~UpstreamClient() {
  connection_->SetCallbacks(nullptr);
  connection_->Close();
}

const HostSharedPtr& UpstreamClient::host() const { return pool_.host(); }

void UpstreamClient::StartStream(UpstreamStreamCallbacks* callbacks, bool head_request) {
  stream_ = callbacks;  // the idle timer, if armed, finds it busy and lets it be
  ++requests_;
  codec_->ExpectResponse(head_request);
  host()->rq_active.fetch_add(1, std::memory_order_relaxed);
  host()->Inc(&HostCounters::rq_total);
  const ClusterStats& stats = pool_.cluster()->stats();
  stats.Inc(stats.upstream_rq_total);
}

void UpstreamClient::EnterTunnel() { tunnel_ = true; }

void UpstreamClient::ReleaseStream(bool reusable) {
  if (stream_ == nullptr) return;
  stream_ = nullptr;
  host()->rq_active.fetch_sub(1, std::memory_order_relaxed);
  if (closed_) return;
  const uint32_t max_rq = pool_.cluster()->config().max_requests_per_connection;
  if (!reusable || tunnel_ || pool_.draining_ || (max_rq != 0 && requests_ >= max_rq)) {
    connection_->Close();
    return;
  }
  if (in_dispatch_) {
    release_after_dispatch_ = true;
    return;
  }
  pool_.OnClientReady(this);
}

void UpstreamClient::OnConnected() {
  connected_ = true;
  connection_->StartReading();
  pool_.connecting_--;
  pool_.OnClientReady(this);
}

void UpstreamClient::OnData(std::string_view data) {
  if (tunnel_) {
    if (stream_ != nullptr) stream_->OnUpstreamTunnelData(data);
    return;
  }
  if (stream_ == nullptr) {
    // Bytes with no request outstanding: the upstream is broken; do not reuse it.
    connection_->Close();
    return;
  }
  in_dispatch_ = true;
  while (!data.empty() && !closed_) {
    size_t consumed = 0;
    http1::DispatchStatus st = codec_->Dispatch(data, &consumed);
    data.remove_prefix(consumed);
    if (st == http1::DispatchStatus::kError) {
      in_dispatch_ = false;
      ResetStream(UpstreamResetReason::kProtocolError);
      return;
    }
    if (st == http1::DispatchStatus::kUpgrade) {
      tunnel_ = true;
      if (!data.empty() && stream_ != nullptr) stream_->OnUpstreamTunnelData(data);
      data = {};
      break;
    }
    if (st == http1::DispatchStatus::kPaused) {
      codec_->Resume();
      if (!data.empty() && stream_ == nullptr && !release_after_dispatch_) break;
    }
  }
  in_dispatch_ = false;
  if (closed_) return;
  if (!data.empty()) {
    connection_->Close();  // unsolicited bytes after a response
    return;
  }
  if (release_after_dispatch_) {
    release_after_dispatch_ = false;
    pool_.OnClientReady(this);
  }
}

void UpstreamClient::OnEof() {
  if (tunnel_) {
    if (stream_ != nullptr) stream_->OnUpstreamTunnelEof();
    return;
  }
  if (stream_ != nullptr) {
    // A close-delimited body ends here; otherwise the response was cut short.
    if (codec_->OnEof() == http1::DispatchStatus::kError) {
      ResetStream(UpstreamResetReason::kConnectionTermination);
      return;
    }
  }
  connection_->Close();
}

void UpstreamClient::ResetStream(UpstreamResetReason reason) {
  UpstreamStreamCallbacks* s = stream_;
  if (s != nullptr) {
    stream_ = nullptr;
    host()->rq_active.fetch_sub(1, std::memory_order_relaxed);
  }
  connection_->Close();
  if (s != nullptr) s->OnUpstreamReset(reason);
}

void UpstreamClient::OnClose(net::CloseReason reason) {
  closed_ = true;
  if (!connected_) {
    pool_.connecting_--;
    pool_.OnClientConnectFailed(this, reason);
    return;
  }
  UpstreamStreamCallbacks* s = stream_;
  if (s != nullptr) {
    stream_ = nullptr;
    host()->rq_active.fetch_sub(1, std::memory_order_relaxed);
  }
  Http1ConnPool& pool = pool_;
  pool.OnClientClosed(this);  // defers our deletion
  if (s != nullptr) {
    if (tunnel_) {
      s->OnUpstreamTunnelEof();
    } else {
      s->OnUpstreamReset(UpstreamResetReason::kConnectionTermination);
    }
  }
}

void UpstreamClient::OnAboveWriteHighWatermark() {
  if (stream_ != nullptr) stream_->OnUpstreamWriteHighWatermark();
}

void UpstreamClient::OnBelowWriteLowWatermark() {
  if (stream_ != nullptr) stream_->OnUpstreamWriteLowWatermark();
}

// ----------------------------------------------------------------------------- Http1ConnPool
Http1ConnPool::Http1ConnPool(event::Dispatcher& dispatcher, HostSharedPtr host,
                             ClusterInfoSharedPtr cluster)
    : dispatcher_(dispatcher), host_(std::move(host)), cluster_(std::move(cluster)) {}

Http1ConnPool::~Http1ConnPool() {
  pending_.clear();
  idle_.clear();
  for (auto& c : clients_) {
    if (!c->closed_) {
      c->closed_ = true;
      cluster_->resources().connections.fetch_sub(1, std::memory_order_relaxed);
      host_->cx_active.fetch_sub(1, std::memory_order_relaxed);
      cluster_->stats().upstream_cx_active.Dec();
    }
    c->connection_->SetCallbacks(nullptr);
  }
  clients_.clear();
}

Http1ConnPool::Pending* Http1ConnPool::NewStream(PoolCallbacks& callbacks) {
  if (!idle_.empty()) {
    UpstreamClient* c = idle_.back();
    idle_.pop_back();
    callbacks.OnPoolReady(*c);
    return nullptr;
  }
  const auto& cb = cluster_->config().circuit_breakers;
  ClusterResources& res = cluster_->resources();
  const ClusterStats& stats = cluster_->stats();
  if (res.pending_requests.load(std::memory_order_relaxed) >= cb.max_pending_requests) {
    stats.Inc(stats.upstream_rq_pending_overflow);
    callbacks.OnPoolFailure(PoolFailure::kOverflow);
    return nullptr;
  }
  stats.Inc(stats.upstream_rq_pending_total);
  auto p = std::make_unique<Pending>();
  p->callbacks = &callbacks;
  Pending* raw = p.get();
  pending_.push_back(std::move(p));
  raw->pos = std::prev(pending_.end());
  res.pending_requests.fetch_add(1, std::memory_order_relaxed);
  if (connecting_ < pending_.size()) CreateClient();
  return raw;
}

void Http1ConnPool::Cancel(Pending* pending) {
  cluster_->resources().pending_requests.fetch_sub(1, std::memory_order_relaxed);
  pending_.erase(pending->pos);
}

void Http1ConnPool::CreateClient() {
  ClusterResources& res = cluster_->resources();
  const ClusterStats& stats = cluster_->stats();
  if (res.connections.load(std::memory_order_relaxed) >=
      cluster_->config().circuit_breakers.max_connections) {
    stats.Inc(stats.upstream_cx_overflow);
    return;  // the pending stream waits for a connection to free up
  }
  const config::Cluster& cfg = cluster_->config();
  auto conn = net::Connection::Connect(dispatcher_, host_->address(), cfg.connect_timeout,
                                       cluster_->bind_address());
  res.connections.fetch_add(1, std::memory_order_relaxed);
  host_->cx_active.fetch_add(1, std::memory_order_relaxed);
  host_->Inc(&HostCounters::cx_total);
  stats.Inc(stats.upstream_cx_total);
  stats.upstream_cx_active.Inc();
  connecting_++;
  auto client = std::make_unique<UpstreamClient>(*this, std::move(conn));
  clients_.push_back(std::move(client));
  clients_.back()->list_pos_ = std::prev(clients_.end());
}

void Http1ConnPool::AttachPending(UpstreamClient* client) {
  std::unique_ptr<Pending> p = std::move(pending_.front());
  pending_.pop_front();
  cluster_->resources().pending_requests.fetch_sub(1, std::memory_order_relaxed);
  p->callbacks->OnPoolReady(*client);
}

void Http1ConnPool::OnClientReady(UpstreamClient* client) {
  if (!pending_.empty()) {
    AttachPending(client);
    return;
  }
  if (draining_) {
    client->connection_->Close();
    return;
  }
  idle_.push_back(client);
  const auto& timeout = cluster_->config().idle_timeout;
  if (!timeout || timeout->count() <= 0) return;
  client->idle_since_ms_ = dispatcher_.LoopNowMs();
  if (client->idle_timer_ == nullptr) {  // one per connection
    const auto t = static_cast<uint64_t>(timeout->count());
    event::Dispatcher& d = dispatcher_;  // the pool need not outlive the callback
    client->idle_timer_ = std::make_unique<event::Timer>(d, [&d, client, t] {
      if (client->stream_ != nullptr) return;  // busy: armed again when it next goes idle
      const uint64_t idle_for = d.LoopNowMs() - client->idle_since_ms_;
      if (idle_for >= t) {
        client->connection_->Close();
      } else {
        client->idle_timer_->Enable(std::chrono::milliseconds(t - idle_for));
      }
    });
  }
  if (!client->idle_timer_->Enabled()) client->idle_timer_->Enable(*timeout);
}

void Http1ConnPool::OnClientConnectFailed(UpstreamClient* client, net::CloseReason reason) {
  PoolFailure failure = reason == net::CloseReason::kConnectTimeout ? PoolFailure::kConnectTimeout
                                                                    : PoolFailure::kConnectFail;
  const ClusterStats& stats = cluster_->stats();
  stats.Inc(stats.upstream_cx_connect_fail);
  host_->Inc(&HostCounters::cx_connect_fail);
  if (failure == PoolFailure::kConnectTimeout) stats.Inc(stats.upstream_cx_connect_timeout);
  // Fail the streams that no other in-flight connection attempt will serve, before the slot is
  // released (releasing it would otherwise open a new connection for them).
  std::list<std::unique_ptr<Pending>> failed;
  while (pending_.size() > connecting_) {
    failed.push_back(std::move(pending_.front()));
    pending_.pop_front();
    cluster_->resources().pending_requests.fetch_sub(1, std::memory_order_relaxed);
  }
  OnClientClosed(client);
  for (auto& p : failed) p->callbacks->OnPoolFailure(failure);
}

void Http1ConnPool::OnClientClosed(UpstreamClient* client) {
  std::erase(idle_, client);
  cluster_->resources().connections.fetch_sub(1, std::memory_order_relaxed);
  host_->cx_active.fetch_sub(1, std::memory_order_relaxed);
  cluster_->stats().upstream_cx_active.Dec();
  client->idle_timer_.reset();
  std::unique_ptr<UpstreamClient> owned = std::move(*client->list_pos_);
  clients_.erase(client->list_pos_);
  dispatcher_.DeferredDelete(std::move(owned));
  // A freed connection slot may let a waiting stream connect.
  if (!draining_ && pending_.size() > connecting_) CreateClient();
}

void Http1ConnPool::Drain() {
  draining_ = true;
  std::vector<UpstreamClient*> idle;
  idle.swap(idle_);
  for (UpstreamClient* c : idle) c->connection_->Close();
}

}  // namespace pilotfish::upstream
