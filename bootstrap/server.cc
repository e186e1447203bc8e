// Server: socket binding, worker start-up, DNS refresh, admin handlers, signals and drain.
#include "bootstrap/server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include "absl/strings/str_cat.h"
#include "proxy/common/log.h"

namespace pilotfish::bootstrap {

// Resolves the hostnames of one STRICT_DNS / LOGICAL_DNS cluster on the main loop, now and
// every dns_refresh_rate, and publishes the resulting host set when it changes.
class Server::DnsResolver {
 public:
  DnsResolver(Server& server, const config::Cluster& cluster)
      : server_(server),
        cluster_(cluster),
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
      auto hosts = std::make_shared<upstream::HostSet>();
      current_.clear();
      for (const auto& [addr, ep] : now) {
        current_.push_back(addr);
        hosts->hosts.push_back(std::make_shared<upstream::Host>(
            addr, ep->hostname.empty() ? ep->address.address : ep->hostname,
            ep->load_balancing_weight));
      }
      PF_LOG(kDebug, "cluster %s: DNS gave %zu hosts", cluster_.name.c_str(), current_.size());
      server_.PublishHosts(cluster_.name, hosts);
    }
    timer_->Enable(cluster_.dns_refresh_rate);
  }

  Server& server_;
  const config::Cluster& cluster_;
  event::TimerPtr timer_;
  std::vector<std::vector<net::Address>> results_;
  std::vector<net::Address> current_;
  std::vector<uv_getaddrinfo_t*> in_flight_;
  size_t outstanding_ = 0;
  bool first_ = true;
};

Server::Server(const Options& options) : options_(options), main_("main") {}

Server::~Server() {
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

absl::Status Server::BindListener(const config::Listener& l, BoundListener* out) {
  out->name = l.name;
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
  for (int i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<server::Worker>(i, 0x9e3779b97f4a7c15ULL * (i + 1)));
  }
  auto snap = std::make_shared<server::Snapshot>();
  snap->version = 1;
  for (const auto& c : config_.clusters) {
    snap->clusters[c.name] = std::make_shared<upstream::ClusterInfo>(c);
  }
  for (const auto& l : config_.listeners) {
    snap->listeners.push_back(std::make_shared<config::Listener>(l));
    if (!l.bind_to_port) continue;
    BoundListener b;
    if (auto s = BindListener(l, &b); !s.ok()) return s;
    bound_.push_back(std::move(b));
  }
  snapshot_ = snap;
  if (config_.admin_address) {
    admin_ = std::make_unique<admin::AdminServer>(main_);
    InstallAdminHandlers();
    auto addr =
        net::Address::FromIpPort(config_.admin_address->address, config_.admin_address->port);
    std::string err;
    if (!addr) return absl::InvalidArgumentError("admin.address: not an IP address");
    if (!admin_->Listen(*addr, &err)) return absl::InvalidArgumentError(err);
    PF_LOG(kInfo, "admin listening on %s", admin_->bound_address().ToString().c_str());
  }
  return absl::OkStatus();
}

void Server::PublishHosts(const std::string& cluster, upstream::HostSetSharedPtr hosts) {
  for (auto& w : workers_) {
    w->dispatcher().Post(
        [w = w.get(), cluster, hosts] { w->cluster_manager().UpdateHosts(cluster, hosts); });
  }
}

void Server::StartDns() {
  for (const auto& c : config_.clusters) {
    if (c.type == config::ClusterType::kStrictDns || c.type == config::ClusterType::kLogicalDns) {
      resolvers_.push_back(std::make_unique<DnsResolver>(*this, c));
      resolvers_.back()->Resolve();
      continue;
    }
    if (c.type != config::ClusterType::kStatic) continue;
    auto hosts = std::make_shared<upstream::HostSet>();
    for (const auto& ep : c.endpoints) {
      auto a = net::Address::FromIpPort(ep.address.address, ep.address.port);
      if (a) {
        hosts->hosts.push_back(
            std::make_shared<upstream::Host>(*a, ep.hostname, ep.load_balancing_weight));
      }
    }
    PublishHosts(c.name, hosts);
  }
}

void Server::InstallAdminHandlers() {
  admin_->AddHandler("/ready", "print server state, return 200 if LIVE, otherwise return 503",
                     false, [this](const admin::AdminRequest&) {
                       admin::AdminResponse r;
                       bool ready = live_ && !draining_;
                       r.status = ready ? 200 : 503;
                       r.body = draining_ ? "DRAINING\n" : (live_ ? "LIVE\n" : "INITIALIZING\n");
                       return r;
                     });
  admin_->AddHandler(
      "/server_info", "print server version/status information", false,
      [this](const admin::AdminRequest&) {
        admin::AdminResponse r;
        r.content_type = "application/json";
        auto up = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now() - start_time_)
                      .count();
        r.body =
            absl::StrCat("{\"version\":\"pilotfish/0.1\",\"state\":\"",
                         draining_ ? "DRAINING" : (live_ ? "LIVE" : "INITIALIZING"),
                         "\",\"uptime_current_epoch\":\"", up, "s\",\"node\":{\"id\":\"",
                         config_.node_id, "\",\"cluster\":\"", config_.node_cluster,
                         "\"},\"command_line_options\":{\"concurrency\":", workers_.size(), "}}\n");
        return r;
      });
  admin_->AddHandler(
      "/listeners", "print listener info", false, [this](const admin::AdminRequest&) {
        admin::AdminResponse r;
        for (const auto& l : config_.listeners) {
          r.body += absl::StrCat(l.name, "::", l.address.address, ":", l.address.port, "\n");
        }
        return r;
      });
  admin_->AddHandler("/quitquitquit", "exit the server", true, [this](const admin::AdminRequest&) {
    main_.Post([this] { StartDrainAndExit(); });
    return admin::AdminResponse{200, "text/plain; charset=UTF-8", "OK\n"};
  });
}

int Server::Run() {
  for (size_t i = 0; i < workers_.size(); ++i) {
    std::vector<std::pair<std::string, int>> fds;
    for (auto& b : bound_) {
      fds.emplace_back(b.name, b.fds[i]);
      b.fds[i] = -1;  // the worker's loop owns it now
    }
    server::Worker* w = workers_[i].get();
    w->dispatcher().Post([w, snap = snapshot_, fds] { w->ApplySnapshot(snap, fds); });
  }
  // Static membership is queued behind the snapshot, so a worker has hosts before it accepts.
  StartDns();
  for (auto& w : workers_) w->Start();
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
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
  for (auto& w : workers_) w->StopAndJoin();
  workers_.clear();
  drain_poll_timer_.reset();
  drain_deadline_timer_.reset();
}

}  // namespace pilotfish::bootstrap
