// The main thread: binds listener sockets, starts workers, resolves DNS clusters, serves admin,
// handles signals and drain. Builds the Snapshot and posts it to every worker.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "bootstrap/options.h"
#include "proxy/admin/admin_server.h"
#include "proxy/server/snapshot.h"
#include "proxy/server/worker.h"

namespace pilotfish::bootstrap {

struct ServerConfig {
  std::vector<config::Listener> listeners;
  std::vector<config::Cluster> clusters;
  std::optional<config::SocketAddress> admin_address;
  std::string node_id, node_cluster;
};

class Server {
 public:
  explicit Server(const Options& options);
  ~Server();

  // Binds every listener and the admin port; errors (port in use, bad address) are returned
  // before any worker starts.
  absl::Status Initialize(ServerConfig config);
  // Runs until SIGTERM/SIGINT (or /quitquitquit) and the drain finishes. Returns the exit code.
  int Run();

 private:
  class DnsResolver;
  struct BoundListener {
    std::string name;
    std::vector<int> fds;  // one per worker (SO_REUSEPORT)
  };
  absl::Status BindListener(const config::Listener& listener, BoundListener* out);
  void StartDns();
  void PublishHosts(const std::string& cluster, upstream::HostSetSharedPtr hosts);
  void InstallAdminHandlers();
  void StartDrainAndExit();
  void CheckDrained();
  void Shutdown();

  Options options_;
  event::Dispatcher main_;
  std::vector<std::unique_ptr<server::Worker>> workers_;
  server::SnapshotSharedPtr snapshot_;
  std::vector<BoundListener> bound_;
  ServerConfig config_;
  std::vector<std::unique_ptr<DnsResolver>> resolvers_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::vector<uv_signal_t*> signals_;
  event::TimerPtr drain_poll_timer_;
  event::TimerPtr drain_deadline_timer_;
  std::chrono::steady_clock::time_point start_time_;
  bool live_ = false;
  bool draining_ = false;
  bool exiting_ = false;
};

}  // namespace pilotfish::bootstrap
