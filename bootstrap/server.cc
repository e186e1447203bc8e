// Server: socket binding, worker start-up, DNS refresh, signals and drain (admin handlers are in
// admin_handlers.cc).
#include "bootstrap/server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <random>
#include <string_view>
#include <thread>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "bootstrap/access_logs.h"
#include "bootstrap/dynamic_config.h"
#include "proxy/admin/stats_handlers.h"
#include "proxy/common/log.h"
#include "proxy/upstream/outlier_sweeper.h"

namespace pilotfish::bootstrap {

// Resolves the hostnames of one STRICT_DNS / LOGICAL_DNS cluster on the main loop, now and
// every dns_refresh_rate, and publishes the resulting host set when it changes.
class Server::DnsResolver {
 public:
  DnsResolver(Server& server, config::Cluster cluster)
      : server_(server),
        cluster_(std::move(cluster)),
        timer_(std::make_unique<event::Timer>(server.main_, [this] { Resolve(); })) {}
  ~DnsResolver() {
    for (auto* r : in_flight_) r->data = nullptr;
  }

  void Resolve() {
    results_.assign(cluster_.endpoints.size(), {});
    outstanding_ = cluster_.endpoints.size();
    if (cluster_.type == config::ClusterType::kLogicalDns && outstanding_ > 1) outstanding_ = 1;
    for (size_t i = 0; i < outstanding_; ++i) {
      const config::Endpoint& ep = cluster_.endpoints[i];
      auto* req = new uv_getaddrinfo_t;
      req->data = new std::pair<DnsResolver*, size_t>(this, i);
      in_flight_.push_back(req);
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      hints.ai_family = cluster_.dns_lookup_family == config::DnsLookupFamily::kV4Only ? AF_INET
                        : cluster_.dns_lookup_family == config::DnsLookupFamily::kV6Only
                            ? AF_INET6
                            : AF_UNSPEC;
      uv_getaddrinfo(server_.main_.loop(), req, &OnResolved, ep.address.address.c_str(), nullptr,
                     &hints);
    }
    if (outstanding_ == 0) Publish();
  }

  // The server's initialization waits for this resolver's first answer; false when it has
  // already been published (a cluster without endpoints publishes at once).
  bool GateInit() {
    gates_init_ = first_;
    return first_;
  }

 private:
  static void OnResolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
    auto* ctx = static_cast<std::pair<DnsResolver*, size_t>*>(req->data);
    if (ctx == nullptr) {  // resolver gone
      uv_freeaddrinfo(res);
      delete req;
      return;
    }
    DnsResolver* self = ctx->first;
    size_t index = ctx->second;
    delete ctx;
    std::erase(self->in_flight_, req);
    delete req;
    const config::Endpoint& ep = self->cluster_.endpoints[index];
    if (status != 0) {
      PF_LOG(kWarning, "cluster %s: DNS resolution of %s failed: %s", self->cluster_.name.c_str(),
             ep.address.address.c_str(), uv_strerror(status));
    }
    // AUTO and V4_PREFERRED prefer IPv4 answers when there are any.
    bool have_v4 = false;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) have_v4 |= ai->ai_family == AF_INET;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      if (have_v4 && ai->ai_family != AF_INET &&
          self->cluster_.dns_lookup_family != config::DnsLookupFamily::kAll) {
        continue;
      }
      auto a = net::Address::FromSockaddr(ai->ai_addr);
      if (!a) continue;
      auto withport = net::Address::FromIpPort(a->ip(), ep.address.port);
      if (withport) self->results_[index].push_back(*withport);
      if (self->cluster_.type == config::ClusterType::kLogicalDns) break;  // first address only
    }
    uv_freeaddrinfo(res);
    if (--self->outstanding_ == 0) self->Publish();
  }

  void Publish() {
    std::vector<std::pair<net::Address, const config::Endpoint*>> now;
    for (size_t i = 0; i < results_.size(); ++i) {
      for (const auto& a : results_[i]) now.emplace_back(a, &cluster_.endpoints[i]);
    }
    bool changed = now.size() != current_.size();
    for (size_t i = 0; !changed && i < now.size(); ++i) changed = !(now[i].first == current_[i]);
    if (changed || first_) {
      first_ = false;
      std::vector<HostSpec> specs;
      current_.clear();
      for (const auto& [addr, ep] : now) {
        current_.push_back(addr);
        specs.push_back({addr, ep->hostname.empty() ? ep->address.address : ep->hostname,
                         ep->load_balancing_weight});
      }
      PF_LOG(kDebug, "cluster %s: DNS gave %zu hosts", cluster_.name.c_str(), current_.size());
      server_.SetHosts(cluster_.name, specs);
    }
    timer_->Enable(cluster_.dns_refresh_rate);
    if (gates_init_) {  // a bootstrap cluster's first answer (a failure counts) ends its wait
      gates_init_ = false;
      Server* server = &server_;
      server_.AfterWorkers([server] { server->OnInitialDnsDone(); });
    }
  }

  bool gates_init_ = false;

  Server& server_;
  const config::Cluster cluster_;
  event::TimerPtr timer_;
  std::vector<std::vector<net::Address>> results_;
  std::vector<net::Address> current_;
  std::vector<uv_getaddrinfo_t*> in_flight_;
  size_t outstanding_ = 0;
  bool first_ = true;
};

Server::Server(const Options& options) : options_(options), main_("main") {}

Server::~Server() {
  dynamic_.reset();
  outlier_sweeper_.reset();
  resolvers_.clear();
  admin_.reset();
  for (uv_signal_t* s : signals_) {
    uv_signal_stop(s);
    event::Dispatcher::CloseAndDelete(s);
  }
  for (auto& b : bound_) {
    for (int fd : b.fds) {
      if (fd >= 0) close(fd);
    }
  }
}

std::string Server::BoundAddress(const std::string& name) const {
  for (const auto& b : bound_) {
    if (b.name == name) return b.address;
  }
  return "";
}

void Server::ForgetBoundListener(const std::string& name) {
  std::erase_if(bound_, [&name](const BoundListener& b) { return b.name == name; });
}

void Server::RememberBoundListener(const std::string& name, const std::string& address) {
  ForgetBoundListener(name);
  bound_.push_back({name, address, {}});
}

absl::Status Server::BindListener(const config::Listener& l, BoundListener* out) {
  out->name = l.name;
  out->address = absl::StrCat(l.address.address, "_", l.address.port);
  if (!l.address.pipe_path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("listener ", l.name, ": pipe (Unix socket) listeners are not supported yet"));
  }
  auto addr = net::Address::FromIpPort(l.address.address, l.address.port);
  if (!addr) {
    return absl::InvalidArgumentError(absl::StrCat("listener ", l.name, ": address '",
                                                   l.address.address, "' is not an IP address"));
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    int fd = socket(addr->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError("socket() failed");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (l.transparent) setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
    if (bind(fd, addr->sockaddr_ptr(), addr->sockaddr_len()) != 0) {
      int err = errno;
      close(fd);
      for (int f : out->fds) close(f);
      out->fds.clear();
      return absl::InvalidArgumentError(absl::StrCat("listener ", l.name, ": cannot bind ",
                                                     addr->ToString(), ": ", strerror(err)));
    }
    if (i == 0 && addr->port() == 0) {
      // An ephemeral port: every worker's socket joins the port the first one got.
      sockaddr_storage ss{};
      socklen_t len = sizeof(ss);
      getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      addr = net::Address::FromSockaddr(reinterpret_cast<sockaddr*>(&ss));
    }
    out->fds.push_back(fd);
  }
  PF_LOG(kInfo, "listener %s bound to %s (%zu sockets)", l.name.c_str(), addr->ToString().c_str(),
         out->fds.size());
  return absl::OkStatus();
}

absl::Status Server::Initialize(ServerConfig config) {
  config_ = std::move(config);
  start_time_ = std::chrono::steady_clock::now();
  int n = options_.concurrency > 0 ? options_.concurrency
                                   : static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  stats_ = std::make_unique<stats::Store>(config_.stats_config);
  // Istio's standard metrics (filters/http/istio_stats) render without the "envoy_" prefix.
  stats_->AddCustomNamespace("istiocustom");
  server_stats_ = std::make_unique<server::ServerStats>(*stats_);
  PublishAccessLogStats(*stats_);
  stats_->AddRefresher([this] {  // on main, before every read
    server::ServerStats& s = *server_stats_;
    // Envoy: a failed health check (admin /healthcheck/fail) reads as DRAINING, live 0.
    const bool live = live_ && initialized_ && !draining_ && !health_check_failed_;
    s.live.Set(live ? 1 : 0);
    s.state.Set(draining_ || (health_check_failed_ && live_ && initialized_)
                    ? server::ServerStats::kDraining
                    : (live ? server::ServerStats::kLive : server::ServerStats::kInitializing));
    s.uptime.Set(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                  start_time_)
                     .count());
    s.concurrency.Set(workers_.size());
    s.workers_started.Set(live_ ? 1 : 0);
    s.total_listeners_active.Set(snapshot_ != nullptr ? snapshot_->listeners.size() : 0);
    s.active_clusters.Set(snapshot_ != nullptr ? snapshot_->clusters.size() : 0);
  });
  // Each worker's random draws (x-request-id, weighted clusters, fault and mirror percentages,
  // random picks, retry jitter) are seeded from the OS: two sidecars, or two workers, started
  // alike must not repeat each other's sequence.
  std::random_device os_random;
  for (int i = 0; i < n; ++i) {
    const uint64_t seed = (uint64_t{os_random()} << 32) ^ os_random();
    workers_.push_back(std::make_unique<server::Worker>(i, seed));
    workers_.back()->set_stats(stats_.get());
  }
  for (const auto& c : config_.clusters) {
    static_clusters_[c.name] = std::make_shared<upstream::ClusterInfo>(c, stats_.get());
  }
  for (const auto& l : config_.listeners) {
    static_listeners_.push_back(std::make_shared<config::Listener>(l));
    if (!l.bind_to_port) continue;
    BoundListener b;
    if (auto s = BindListener(l, &b); !s.ok()) return s;
    bound_.push_back(std::move(b));
  }
  const config::DynamicResources* dr = config_.dynamic ? &*config_.dynamic : nullptr;
  if (dr != nullptr &&
      (!dr->ads_cluster.empty() || !dr->lds_path.empty() || !dr->cds_path.empty() ||
       !dr->lds_grpc_cluster.empty() || !dr->cds_grpc_cluster.empty())) {
    auto find = [this](const std::string& name) -> const config::Cluster* {
      auto it = static_clusters_.find(name);
      return it == static_clusters_.end() ? nullptr : &it->second->config();
    };
    auto dyn =
        DynamicConfig::Create(*this, *dr, find, config_.filter_context, config_.static_rds_names);
    if (!dyn.ok()) return dyn.status();
    dynamic_ = *std::move(dyn);
  } else if (!config_.static_rds_names.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "route_config_name '", config_.static_rds_names[0].name,
        "': an HCM uses rds but there is no dynamic_resources.ads_config to fetch it from"));
  }
  if (config_.admin_address) {
    admin_ = std::make_unique<admin::AdminServer>(main_);
    InstallAdminHandlers();
    admin::InstallStatsHandlers(*admin_, *stats_);
    auto addr =
        net::Address::FromIpPort(config_.admin_address->address, config_.admin_address->port);
    std::string err;
    if (!addr) return absl::InvalidArgumentError("admin.address: not an IP address");
    if (!admin_->Listen(*addr, &err)) return absl::InvalidArgumentError(err);
    PF_LOG(kInfo, "admin listening on %s", admin_->bound_address().ToString().c_str());
  }
  return absl::OkStatus();
}

void Server::PublishSnapshot(std::vector<BoundListener> new_sockets,
                             std::function<void()> applied) {
  auto snap = std::make_shared<server::Snapshot>();
  snap->version = ++snapshot_version_;
  snap->listeners = static_listeners_;
  snap->clusters = static_clusters_;
  if (dynamic_ != nullptr) dynamic_->AddTo(*snap);
  snapshot_ = snap;
  if (outlier_sweeper_ == nullptr) {
    outlier_sweeper_ =
        std::make_unique<upstream::OutlierSweeper>(main_, [this](const std::string& cluster) {
          auto it = hosts_.find(cluster);
          return it == hosts_.end() ? nullptr : it->second;
        });
  }
  outlier_sweeper_->Sync(snap->clusters);
  auto remaining = std::make_shared<size_t>(workers_.size());
  auto done = std::make_shared<std::function<void()>>(std::move(applied));
  for (size_t i = 0; i < workers_.size(); ++i) {
    std::vector<std::pair<std::string, int>> fds;
    for (auto& b : new_sockets) {
      if (i < b.fds.size()) {
        fds.emplace_back(b.name, b.fds[i]);
        b.fds[i] = -1;  // the worker's loop owns it now
      }
    }
    server::Worker* w = workers_[i].get();
    w->dispatcher().Post([this, w, snap, fds, remaining, done] {
      w->ApplySnapshot(snap, fds);
      main_.Post([remaining, done] {
        if (--*remaining == 0 && *done) (*done)();
      });
    });
  }
  for (auto& b : new_sockets) {
    for (int fd : b.fds) {
      if (fd >= 0) close(fd);
    }
  }
}

void Server::AfterWorkers(std::function<void()> done) {
  auto remaining = std::make_shared<size_t>(workers_.size());
  auto cb = std::make_shared<std::function<void()>>(std::move(done));
  for (auto& w : workers_) {
    w->dispatcher().Post([this, remaining, cb] {
      main_.Post([remaining, cb] {
        if (--*remaining == 0) (*cb)();
      });
    });
  }
}

void Server::SetInitialized() {
  if (initialized_) return;
  if (initial_dns_pending_ > 0) {  // OnInitialDnsDone finishes it
    init_requested_ = true;
    return;
  }
  initialized_ = true;
  PF_LOG(kInfo, "initial configuration applied: %zu listeners, %zu clusters",
         snapshot_ != nullptr ? snapshot_->listeners.size() : 0,
         snapshot_ != nullptr ? snapshot_->clusters.size() : 0);
}

void Server::SetClusterEndpoints(const std::string& cluster,
                                 const std::vector<config::Endpoint>& endpoints) {
  std::vector<HostSpec> specs;
  for (const auto& ep : endpoints) {
    auto a = net::Address::FromIpPort(ep.address.address, ep.address.port);
    if (a) specs.push_back({*a, ep.hostname, ep.load_balancing_weight});
  }
  SetHosts(cluster, specs);
}

void Server::SetHosts(const std::string& cluster, const std::vector<HostSpec>& specs) {
  // Reuse the Host of an unchanged (address, hostname, weight): its pools and outlier state stay.
  auto hosts = std::make_shared<upstream::HostSet>();
  hosts->hosts.reserve(specs.size());  // kept for the cluster's life: no growth slack
  // The previous hosts by identity, so a cluster of n endpoints updates in O(n), not O(n^2);
  // the first of duplicate old hosts is the one reused, as a linear search would find.
  using Key = std::tuple<net::Address, std::string_view, uint32_t>;
  absl::flat_hash_map<Key, const upstream::HostSharedPtr*> previous;
  if (auto it = hosts_.find(cluster); it != hosts_.end()) {
    previous.reserve(it->second->hosts.size());
    for (const auto& h : it->second->hosts) {
      previous.try_emplace(Key{h->address(), h->hostname(), h->weight()}, &h);
    }
  }
  for (const auto& spec : specs) {
    auto found = previous.find(Key{spec.address, spec.hostname, spec.weight});
    hosts->hosts.push_back(found != previous.end() ? *found->second
                                                   : std::make_shared<upstream::Host>(
                                                         spec.address, spec.hostname, spec.weight));
  }
  hosts_[cluster] = hosts;
  PublishHosts(cluster, hosts);
}

void Server::StartClusterDiscovery(const config::Cluster& c) {
  if (c.type == config::ClusterType::kStrictDns || c.type == config::ClusterType::kLogicalDns) {
    auto r = std::make_unique<DnsResolver>(*this, c);
    r->Resolve();
    resolvers_[c.name] = std::move(r);
    return;
  }
  resolvers_.erase(c.name);
  if (c.type == config::ClusterType::kStatic) SetClusterEndpoints(c.name, c.endpoints);
}

void Server::StopClusterDiscovery(const std::string& cluster) {
  resolvers_.erase(cluster);
  hosts_.erase(cluster);
}

void Server::PublishHosts(const std::string& cluster, upstream::HostSetSharedPtr hosts) {
  for (auto& w : workers_) {
    w->dispatcher().Post(
        [w = w.get(), cluster, hosts] { w->cluster_manager().UpdateHosts(cluster, hosts); });
  }
}

void Server::StartDns() {
  for (const auto& c : config_.clusters) {
    StartClusterDiscovery(c);
    // Envoy initializes a bootstrap DNS cluster (a primary cluster) with its first resolution
    // before the server is LIVE: until then /ready says so and the cluster has no hosts.
    if (auto it = resolvers_.find(c.name); it != resolvers_.end() && it->second->GateInit()) {
      ++initial_dns_pending_;
    }
  }
}

void Server::OnInitialDnsDone() {
  if (--initial_dns_pending_ == 0 && init_requested_) SetInitialized();
}

int Server::Run() {
  PublishSnapshot(bound_);
  for (auto& b : bound_) b.fds.clear();  // the workers own them now
  // Static membership is queued behind the snapshot, so a worker has hosts before it accepts.
  StartDns();
  for (auto& w : workers_) w->Start();
  if (dynamic_ != nullptr) {
    dynamic_->Start();
  } else {
    SetInitialized();
  }
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
    auto* h = new uv_signal_t;
    uv_signal_init(main_.loop(), h);
    h->data = this;
    uv_signal_start(
        h,
        [](uv_signal_t* handle, int signum) {
          auto* self = static_cast<Server*>(handle->data);
          if (self == nullptr) return;
          if (signum == SIGHUP) {
            PF_LOG(kInfo, "SIGHUP ignored (hot restart is not used)");
            return;
          }
          if (signum == SIGUSR1) {  // Envoy's log rotation: reopen the access log files
            AccessLogFiles().Reopen();
            return;
          }
          PF_LOG(kInfo, "caught %s, draining", signum == SIGTERM ? "SIGTERM" : "SIGINT");
          self->StartDrainAndExit();
        },
        sig);
    signals_.push_back(h);
  }
  live_ = true;
  PF_LOG(kInfo, "pilotfish started: %zu workers", workers_.size());
  main_.Run();
  Shutdown();
  return 0;
}

void Server::SetHealthCheckFailed(bool failed) {
  health_check_failed_ = failed;
  for (auto& w : workers_) {
    w->dispatcher().Post([w = w.get(), failed] { w->set_health_check_failed(failed); });
  }
}

void Server::StartDrainAndExit() {
  if (draining_) return;
  draining_ = true;
  for (auto& w : workers_) {
    w->dispatcher().Post([w = w.get()] {
      w->StopListeners();
      w->DrainSessions();
    });
  }
  const auto drain = std::chrono::seconds(options_.drain_time_s);
  drain_deadline_timer_ = std::make_unique<event::Timer>(main_, [this] {
    PF_LOG(kInfo, "drain time over, exiting");
    main_.Exit();
  });
  drain_deadline_timer_->Enable(drain);
  drain_poll_timer_ = std::make_unique<event::Timer>(main_, [this] { CheckDrained(); });
  drain_poll_timer_->Enable(std::chrono::milliseconds(50));
}

void Server::CheckDrained() {
  // Ask each worker for its open sessions; exit early once all are gone.
  auto remaining = std::make_shared<std::atomic<size_t>>(0);
  auto answered = std::make_shared<std::atomic<size_t>>(0);
  size_t n = workers_.size();
  for (auto& w : workers_) {
    w->dispatcher().Post([this, w = w.get(), remaining, answered, n] {
      remaining->fetch_add(w->session_count());
      if (answered->fetch_add(1) + 1 == n) {
        size_t left = remaining->load();
        main_.Post([this, left] {
          if (left == 0) {
            PF_LOG(kInfo, "all connections drained, exiting");
            main_.Exit();
          } else {
            drain_poll_timer_->Enable(std::chrono::milliseconds(50));
          }
        });
      }
    });
  }
}

void Server::Shutdown() {
  dynamic_.reset();  // the xDS stream ends before the workers go
  for (auto& w : workers_) w->StopAndJoin();
  workers_.clear();
  drain_poll_timer_.reset();
  drain_deadline_timer_.reset();
  outlier_sweeper_.reset();
}

}  // namespace pilotfish::bootstrap
