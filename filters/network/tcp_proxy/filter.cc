// TcpProxySession: a downstream/upstream connection pair copying bytes until either side ends.
#include "filters/network/tcp_proxy/filter.h"

namespace pilotfish::filters::tcp_proxy {

class TcpProxySession : public server::Session {
 public:
  // `factory` owns `config` and the stats: the session keeps it alive, so a listener removed
  // by LDS while the connection lasts frees nothing under it.
  TcpProxySession(server::Worker& worker, std::shared_ptr<const TcpProxyFactory> factory,
                  const config::TcpProxy& config, net::ConnectionPtr downstream,
                  const TcpProxyStats* stats, const server::ListenerStats* listener_stats,
                  const net::ListenerInfo& info)
      : worker_(worker),
        factory_(std::move(factory)),
        config_(config),
        downstream_(std::move(downstream)),
        down_cb_(*this, true),
        up_cb_(*this, false),
        stats_(stats),
        listener_stats_(listener_stats),
        store_(info.stats),
        direction_(info.traffic_direction) {
    info_.start_time = worker.dispatcher().time().SystemNow();
    info_.start_mono = worker.dispatcher().time().Now();
    if (stats_ != nullptr) stats_->scope.Inc(stats_->downstream_cx_total);
    if (listener_stats_ != nullptr) {
      listener_stats_->scope.Inc(listener_stats_->downstream_cx_total);
      listener_stats_->downstream_cx_active.Inc();
    }
  }
  ~TcpProxySession() override {
    LogAccess();
    downstream_->SetCallbacks(nullptr);
    if (upstream_) upstream_->SetCallbacks(nullptr);
    if (listener_stats_ != nullptr) listener_stats_->downstream_cx_active.Dec();
    if (cluster_ != nullptr && upstream_counted_) cluster_->stats().upstream_cx_active.Dec();
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
    if (cluster != nullptr) info_.upstream_cluster = *cluster_name;
    if (!factory_->observers().empty()) {
      const access_log::LogContext ctx = Context();
      for (const auto& o : factory_->observers()) o->OnConnectionOpen(ctx);
    }
    upstream::LbContext lb_ctx;
    if (downstream_->local_address_restored()) lb_ctx.original_dst = &downstream_->local_address();
    upstream::HostSharedPtr host = cluster != nullptr ? cluster->lb->ChooseHost(&lb_ctx) : nullptr;
    if (host == nullptr) {
      if (cluster == nullptr && stats_ != nullptr) {
        stats_->scope.Inc(stats_->downstream_cx_no_route);
      }
      info_.SetFlag(cluster == nullptr ? http::kNoClusterFound : http::kNoHealthyUpstream);
      downstream_->Close();
      return;
    }
    info_.upstream_host = host->address();
    info_.attempt_count = 1;
    // The cluster's connection stats (Envoy's TCP pool counts them).
    cluster_ = cluster->info;
    const upstream::ClusterStats& cs = cluster_->stats();
    cs.Inc(cs.upstream_cx_total);
    cs.upstream_cx_active.Inc();
    host->Inc(&upstream::HostCounters::cx_total);
    host_ = host;
    upstream_counted_ = true;
    // Hold downstream bytes until the upstream is connected.
    downstream_->StartReading();
    downstream_->ReadDisable(true);
    upstream_ = net::Connection::Connect(worker_.dispatcher(), host->address(),
                                         cluster->info->config().connect_timeout,
                                         cluster->info->bind_address());
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

  // The session's access log lines, once, when its first side closes.
  void LogAccess() {
    if (logged_) return;
    logged_ = true;
    const access_log::AccessLoggerList& loggers = factory_->access_logs();
    if (loggers.empty() && factory_->observers().empty()) return;
    info_.end = worker_.dispatcher().time().Now();
    const access_log::LogContext ctx = Context();
    access_log::LogAll(loggers, ctx);
    for (const auto& o : factory_->observers()) o->OnStreamComplete(ctx);
  }
  access_log::LogContext Context() const {
    return access_log::LogContext{.info = info_,
                                  .downstream_local = &downstream_->local_address(),
                                  .downstream_remote = &downstream_->remote_address(),
                                  .connection_id = downstream_->id(),
                                  .stats = store_,
                                  .direction = direction_};
  }

  void ArmIdle() {
    if (!config_.idle_timeout || config_.idle_timeout->count() == 0) return;
    if (!idle_timer_) {
      idle_timer_ =
          std::make_unique<event::Timer>(worker_.dispatcher(), [this] { downstream_->Close(); });
    }
    idle_timer_->Enable(*config_.idle_timeout);
  }

  void OnUpstreamConnected() {
    upstream_connected_ = true;
    info_.upstream_local_address = upstream_->local_address();
    upstream_->StartReading();
    downstream_->ReadDisable(false);
  }
  void OnData(bool down, std::string_view data) {
    ArmIdle();
    (down ? info_.bytes_received : info_.bytes_sent) += data.size();
    if (stats_ != nullptr) {
      stats_->scope.Inc(
          down ? stats_->downstream_cx_rx_bytes_total : stats_->downstream_cx_tx_bytes_total,
          data.size());
    }
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
  void OnClose(bool down, net::CloseReason reason) {
    if (!down && !upstream_connected_ && cluster_ != nullptr &&
        (reason == net::CloseReason::kConnectFail || reason == net::CloseReason::kConnectTimeout)) {
      const upstream::ClusterStats& cs = cluster_->stats();
      cs.Inc(cs.upstream_cx_connect_fail);
      if (host_ != nullptr) host_->Inc(&upstream::HostCounters::cx_connect_fail);
      if (reason == net::CloseReason::kConnectTimeout) cs.Inc(cs.upstream_cx_connect_timeout);
      info_.SetFlag(http::kUpstreamConnectionFailure);
    }
    if (closing_) return;
    closing_ = true;
    LogAccess();
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
  std::shared_ptr<const TcpProxyFactory> factory_;
  const config::TcpProxy& config_;
  net::ConnectionPtr downstream_;
  net::ConnectionPtr upstream_;
  Side down_cb_, up_cb_;
  event::TimerPtr idle_timer_;
  bool down_eof_ = false, up_eof_ = false, closing_ = false;
  const TcpProxyStats* stats_;
  const server::ListenerStats* listener_stats_;
  stats::Store* store_;  // for stream observers; null: no stats
  config::TrafficDirection direction_;
  upstream::ClusterInfoSharedPtr cluster_;  // for its stats
  upstream::HostSharedPtr host_;            // for its connection counters
  bool upstream_counted_ = false;
  bool upstream_connected_ = false;
  bool logged_ = false;
  http::StreamInfo info_;  // for the access log
};

void TcpProxyFactory::OnNewConnection(server::Worker& worker, net::ConnectionPtr connection,
                                      const net::ListenerInfo& info) const {
  const TcpProxyStats* stats =
      info.stats != nullptr ? &stats_.Get(info.stats, stat_prefix_) : nullptr;
  const server::ListenerStats* listener_stats =
      info.stats != nullptr && !info.stat_prefix.empty()
          ? &listener_stats_.Get(info.stats, info.stat_prefix)
          : nullptr;
  auto s = std::make_unique<TcpProxySession>(worker, shared_from_this(), config_,
                                             std::move(connection), stats, listener_stats, info);
  TcpProxySession* raw = s.get();
  worker.AddSession(std::move(s));
  raw->Start();
}

}  // namespace pilotfish::filters::tcp_proxy
