// TcpProxySession: a downstream/upstream connection pair copying bytes until either side ends.
#include "filters/network/tcp_proxy/filter.h"

namespace pilotfish::filters::tcp_proxy {

class TcpProxySession : public server::Session {
 public:
  TcpProxySession(server::Worker& worker, const config::TcpProxy& config,
                  net::ConnectionPtr downstream)
      : worker_(worker),
        config_(config),
        downstream_(std::move(downstream)),
        down_cb_(*this, true),
        up_cb_(*this, false) {}
  ~TcpProxySession() override {
    downstream_->SetCallbacks(nullptr);
    if (upstream_) upstream_->SetCallbacks(nullptr);
  }

  void Start() {
    downstream_->SetCallbacks(&down_cb_);
    const std::string* cluster_name = &config_.cluster;
    if (cluster_name->empty() && !config_.weighted_clusters.empty()) {
      uint64_t total = 0;
      for (const auto& w : config_.weighted_clusters) total += w.weight;
      uint64_t pick = total == 0 ? 0 : worker_.Random() % total;
      for (const auto& w : config_.weighted_clusters) {
        if (pick < w.weight) {
          cluster_name = &w.name;
          break;
        }
        pick -= w.weight;
      }
    }
    auto* cluster = worker_.cluster_manager().Get(*cluster_name);
    upstream::HostSharedPtr host = cluster != nullptr ? cluster->lb->ChooseHost(nullptr) : nullptr;
    if (host == nullptr) {
      downstream_->Close();
      return;
    }
    // Hold downstream bytes until the upstream is connected.
    downstream_->StartReading();
    downstream_->ReadDisable(true);
    upstream_ = net::Connection::Connect(worker_.dispatcher(), host->address(),
                                         cluster->info->config().connect_timeout);
    upstream_->SetCallbacks(&up_cb_);
    upstream_->SetWriteBufferLimits(cluster->info->config().per_connection_buffer_limit_bytes);
    ArmIdle();
  }

  void StartDrain() override {}  // TCP has no graceful signal; the drain time ends it
  void CloseNow() override { downstream_->Close(); }

 private:
  struct Side : net::ConnectionCallbacks {
    Side(TcpProxySession& s, bool down) : s(s), down(down) {}
    void OnConnected() override { s.OnUpstreamConnected(); }
    void OnData(std::string_view data) override { s.OnData(down, data); }
    void OnEof() override { s.OnEof(down); }
    void OnClose(net::CloseReason reason) override { s.OnClose(down, reason); }
    void OnAboveWriteHighWatermark() override { s.Other(down).ReadDisable(true); }
    void OnBelowWriteLowWatermark() override { s.Other(down).ReadDisable(false); }
    TcpProxySession& s;
    bool down;
  };

  net::Connection& Other(bool down) { return down ? *upstream_ : *downstream_; }

  void ArmIdle() {
    if (!config_.idle_timeout || config_.idle_timeout->count() == 0) return;
    if (!idle_timer_) {
      idle_timer_ =
          std::make_unique<event::Timer>(worker_.dispatcher(), [this] { downstream_->Close(); });
    }
    idle_timer_->Enable(*config_.idle_timeout);
  }

  void OnUpstreamConnected() {
    upstream_->StartReading();
    downstream_->ReadDisable(false);
  }
  void OnData(bool down, std::string_view data) {
    ArmIdle();
    Other(down).Write(data);
  }
  void OnEof(bool down) {
    Other(down).ShutdownWrite();
    if (down)
      down_eof_ = true;
    else
      up_eof_ = true;
    if (down_eof_ && up_eof_) downstream_->Close(net::Connection::CloseType::kFlushWrite);
  }
  void OnClose(bool down, net::CloseReason) {
    if (closing_) return;
    closing_ = true;
    idle_timer_.reset();
    // Flush what we have to the other side, then close it.
    if (down) {
      if (upstream_) upstream_->Close(net::Connection::CloseType::kFlushWrite);
    } else {
      downstream_->Close(net::Connection::CloseType::kFlushWrite);
    }
    worker_.RemoveSession(this);
  }

  server::Worker& worker_;
  const config::TcpProxy& config_;
  net::ConnectionPtr downstream_;
  net::ConnectionPtr upstream_;
  Side down_cb_, up_cb_;
  event::TimerPtr idle_timer_;
  bool down_eof_ = false, up_eof_ = false, closing_ = false;
};

void TcpProxyFactory::OnNewConnection(server::Worker& worker, net::ConnectionPtr connection,
                                      const net::ListenerInfo&) const {
  auto s = std::make_unique<TcpProxySession>(worker, config_, std::move(connection));
  TcpProxySession* raw = s.get();
  worker.AddSession(std::move(s));
  raw->Start();
}

}  // namespace pilotfish::filters::tcp_proxy
