// Worker: listener sockets on the worker's loop, original-dst hand-off, session ownership.
#include "proxy/server/worker.h"

#include <unistd.h>

#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "proxy/server/filter_chain_match.h"
#include "proxy/server/listener_stats.h"

namespace pilotfish::server {

class Worker::ActiveListener {
 public:
  ActiveListener(Worker& worker, std::shared_ptr<const config::Listener> config, int fd)
      : worker_(worker), config_(std::move(config)) {
    tcp_ = new uv_tcp_t;
    uv_tcp_init(worker.dispatcher().loop(), tcp_);
    tcp_->data = this;
    int rc = uv_tcp_open(tcp_, fd);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp_), 1024, &OnConnection);
    if (rc != 0) {
      fprintf(stderr, "worker %d: listener %s: listen failed: %s\n", worker.index(),
              config_->name.c_str(), uv_strerror(rc));
    }
  }
  ~ActiveListener() { event::Dispatcher::CloseAndDelete(tcp_); }

  const std::shared_ptr<const config::Listener>& config() const { return config_; }
  void set_config(std::shared_ptr<const config::Listener> c) { config_ = std::move(c); }

 private:
  static void OnConnection(uv_stream_t* server, int status) {
    auto* self = static_cast<ActiveListener*>(server->data);
    if (self == nullptr || status != 0) return;
    auto conn = net::Connection::Accept(self->worker_.dispatcher(), server);
    if (conn != nullptr) self->worker_.OnNewConnection(*self, std::move(conn));
  }

  Worker& worker_;
  std::shared_ptr<const config::Listener> config_;
  uv_tcp_t* tcp_;
};

Worker::Worker(int index, uint64_t seed)
    : index_(index),
      dispatcher_("worker_" + std::to_string(index)),
      cluster_manager_(dispatcher_, seed),
      rng_(seed) {}

Worker::~Worker() {
  listeners_.clear();
  for (auto& s : sessions_) s->CloseNow();
  sessions_.clear();
  cluster_manager_.DrainAll();
}

void Worker::Start() {
  thread_ = std::thread([this] { dispatcher_.Run(); });
}

void Worker::StopAndJoin() {
  dispatcher_.Post([this] {
    listeners_.clear();
    CloseAllSessions();
    cluster_manager_.DrainAll();
    dispatcher_.Exit();
  });
  if (thread_.joinable()) thread_.join();
}

void Worker::ApplySnapshot(SnapshotSharedPtr snapshot,
                           std::vector<std::pair<std::string, int>> listen_fds) {
  // Clusters: add/replace the changed ones, remove the gone ones. Membership comes separately.
  for (const auto& [name, info] : snapshot->clusters) {
    upstream::WorkerClusterManager::Cluster* existing = cluster_manager_.Get(name);
    if (existing == nullptr || existing->info != info) {
      cluster_manager_.AddOrUpdateCluster(
          info, existing != nullptr ? existing->hosts : std::make_shared<upstream::HostSet>());
    }
  }
  if (snapshot_ != nullptr) {
    for (const auto& [name, info] : snapshot_->clusters) {
      if (!snapshot->clusters.contains(name)) cluster_manager_.RemoveCluster(name);
    }
  }
  // Listeners: keep sockets of listeners present in both; open the new ones; close the removed.
  absl::flat_hash_set<std::string> changed;  // listeners whose connections must drain
  if (snapshot_ != nullptr) {
    for (const auto& old : snapshot_->listeners) {
      bool same = false;
      for (const auto& nl : snapshot->listeners) same |= nl == old;
      if (!same) changed.insert(old->name);
    }
  }
  auto has_new_socket = [&listen_fds](const std::string& name) {
    for (const auto& [n, fd] : listen_fds) {
      if (n == name) return true;
    }
    return false;
  };
  std::vector<std::unique_ptr<ActiveListener>> kept;
  for (auto& l : listeners_) {
    if (has_new_socket(l->config()->name)) continue;  // rebound elsewhere: closes
    for (const auto& nl : snapshot->listeners) {
      if (nl->name == l->config()->name) {
        l->set_config(nl);
        kept.push_back(std::move(l));
        break;
      }
    }
  }
  listeners_ = std::move(kept);
  for (const auto& [name, fd] : listen_fds) {
    for (const auto& nl : snapshot->listeners) {
      if (nl->name == name) listeners_.push_back(std::make_unique<ActiveListener>(*this, nl, fd));
    }
  }
  snapshot_ = std::move(snapshot);
  if (!changed.empty()) {
    std::vector<Session*> to_drain;
    for (auto& s : sessions_) {
      if (changed.contains(s->listener_name_)) to_drain.push_back(s.get());
    }
    for (Session* s : to_drain) s->StartDrain();
  }
}

void Worker::OnNewConnection(ActiveListener& listener, net::ConnectionPtr connection) {
  if (draining_) return;  // connection closes as it goes out of scope
  const config::Listener* target = listener.config().get();
  if (target->use_original_dst || target->original_dst_filter) {
    if (auto orig = net::GetOriginalDst(connection->fd())) {
      if (!(*orig == connection->local_address())) {
        connection->RestoreLocalAddress(*orig);
        if (target->use_original_dst) {
          // Hand off: exact ip:port listener first, then the wildcard one on that port.
          const config::Listener* wildcard = nullptr;
          const config::Listener* exact = nullptr;
          for (const auto& l : snapshot_->listeners) {
            auto a = net::Address::FromIpPort(l->address.address, l->address.port);
            if (!a || a->port() != orig->port()) continue;
            if (*a == *orig) exact = l.get();
            if (a->IsAnyAddress() && a->family() == orig->family()) wildcard = l.get();
          }
          if (exact != nullptr) {
            target = exact;
          } else if (wildcard != nullptr) {
            target = wildcard;
          }
        }
      }
    }
  }
  const config::FilterChain* chain =
      SelectFilterChain(*target, connection->local_address(), connection->remote_address());
  if (chain == nullptr || chain->terminal == nullptr) return;  // no chain: close (NR)
  net::ListenerInfo info;
  info.listener_name = target->name;
  info.stats = stats_;
  if (stats_ != nullptr) info.stat_prefix = ListenerStatPrefix(target->address);
  info.filter_chain_name = chain->name;
  info.per_connection_buffer_limit_bytes = target->per_connection_buffer_limit_bytes;
  info.traffic_direction = target->traffic_direction;
  info.drain_type = target->drain_type;
  connection->SetWriteBufferLimits(target->per_connection_buffer_limit_bytes);
  accepting_listener_ = target->name;
  chain->terminal->OnNewConnection(*this, std::move(connection), info);
  accepting_listener_.clear();
}

void Worker::AddSession(std::unique_ptr<Session> session) {
  Session* raw = session.get();
  sessions_.push_back(std::move(session));
  raw->pos_ = std::prev(sessions_.end());
  raw->listener_name_ = accepting_listener_;
  raw->registered_ = true;
  if (draining_) raw->StartDrain();
}

void Worker::RemoveSession(Session* session) {
  if (!session->registered_) return;
  session->registered_ = false;
  std::unique_ptr<Session> owned = std::move(*session->pos_);
  sessions_.erase(session->pos_);
  dispatcher_.DeferredDelete(std::move(owned));
}

void Worker::StopListeners() { listeners_.clear(); }

void Worker::StopListeners(const absl::flat_hash_set<std::string>& names) {
  std::erase_if(listeners_, [&names](const std::unique_ptr<ActiveListener>& l) {
    return names.contains(l->config()->name);
  });
}

void Worker::DrainListeners(const absl::flat_hash_set<std::string>& names) {
  std::vector<Session*> matching;  // StartDrain may remove sessions: iterate over a copy
  for (auto& s : sessions_) {
    if (names.contains(s->listener_name_)) matching.push_back(s.get());
  }
  for (Session* s : matching) s->StartDrain();
}

void Worker::DrainSessions() {
  draining_ = true;
  // StartDrain may remove sessions (idle ones close at once): iterate over a copy.
  std::vector<Session*> all;
  for (auto& s : sessions_) all.push_back(s.get());
  for (Session* s : all) s->StartDrain();
}

void Worker::CloseAllSessions() {
  std::vector<Session*> all;
  for (auto& s : sessions_) all.push_back(s.get());
  for (Session* s : all) s->CloseNow();
}

}  // namespace pilotfish::server
