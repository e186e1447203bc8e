// The main thread: binds listener sockets, starts workers, resolves DNS clusters, serves admin,
// handles signals and drain. Builds the Snapshot and posts it to every worker.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "bootstrap/filter_table.h"
#include "bootstrap/options.h"
#include "envoy/config/core/v3/base.pb.h"
#include "proxy/admin/admin_server.h"
#include "proxy/config/bootstrap.h"
#include "proxy/server/server_stats.h"
#include "proxy/server/snapshot.h"
#include "proxy/server/worker.h"

namespace pilotfish::bootstrap {

struct ServerConfig {
  std::vector<config::Listener> listeners;
  std::vector<config::Cluster> clusters;
  std::optional<config::SocketAddress> admin_address;
  std::string node_id, node_cluster;
  // dynamic_resources (ADS), the node sent to the control plane, and the RDS names the static
  // listeners use.
  std::optional<config::DynamicResources> dynamic;
  FilterContext filter_context;  // the node, and what LDS's filters read (path_fragment)
  std::vector<config::RdsRef> static_rds_names;
  config::StatsConfig stats_config;
  std::string bootstrap_bytes;  // the loaded Bootstrap (after CLI overrides), serialized
};

class DynamicConfig;
}  // namespace pilotfish::bootstrap

namespace pilotfish::upstream {
class OutlierSweeper;
}  // namespace pilotfish::upstream

namespace pilotfish::bootstrap {

class Server {
 public:
  explicit Server(const Options& options);
  ~Server();

  // Binds every listener and the admin port; errors (port in use, bad address) are returned
  // before any worker starts.
  absl::Status Initialize(ServerConfig config);
  // Runs until SIGTERM/SIGINT (or /quitquitquit) and the drain finishes. Returns the exit code.
  int Run();

  // --- main thread, used by DynamicConfig (xDS) ---
  struct BoundListener {
    std::string name;
    std::string address;   // ip_port: a listener keeps its sockets while this is unchanged
    std::vector<int> fds;  // one per worker (SO_REUSEPORT); -1 once a worker owns it
  };
  // Binds one socket per worker for `listener`.
  absl::Status BindListener(const config::Listener& listener, BoundListener* out);
  // The address key of a bound listener `name`, or "" when it has no sockets.
  std::string BoundAddress(const std::string& name) const;
  void ForgetBoundListener(const std::string& name);
  void RememberBoundListener(const std::string& name, const std::string& address);
  // Builds the snapshot (static + dynamic config) and posts it to every worker with the new
  // listeners' sockets; `applied` runs on the main loop once every worker has switched.
  void PublishSnapshot(std::vector<BoundListener> new_sockets, std::function<void()> applied = {});
  // Runs `done` on the main loop once every worker has processed what was posted to it so far.
  void AfterWorkers(std::function<void()> done);
  // Membership of one cluster (EDS, DNS or static), reusing Host objects whose address and
  // weight are unchanged (their pools, stats and outlier state carry over).
  void SetClusterEndpoints(const std::string& cluster, const std::vector<config::Endpoint>& eps);
  // DNS resolution or static membership for a cluster added at runtime; Stop on removal.
  void StartClusterDiscovery(const config::Cluster& cluster);
  void StopClusterDiscovery(const std::string& cluster);
  event::Dispatcher& main_dispatcher() { return main_; }
  stats::Store& stats() { return *stats_; }
  const ServerConfig& config() const { return config_; }
  const DynamicConfig* dynamic_config() const { return dynamic_.get(); }
  const server::SnapshotSharedPtr& snapshot() const { return snapshot_; }
  bool HasStaticCluster(const std::string& name) const { return static_clusters_.contains(name); }
  bool HasStaticListener(const std::string& name) const {
    for (const auto& l : static_listeners_) {
      if (l->name == name) return true;
    }
    return false;
  }
  const std::vector<std::shared_ptr<const config::Listener>>& static_listeners() const {
    return static_listeners_;
  }
  size_t worker_count() const { return workers_.size(); }
  // Initial config applied (static bootstrap, or the first CDS and LDS answers warmed).
  void SetInitialized();

 private:
  class DnsResolver;
  struct HostSpec {
    net::Address address;
    std::string hostname;
    uint32_t weight;
  };
  void SetHosts(const std::string& cluster, const std::vector<HostSpec>& specs);
  const char* StateName() const;
  void StartDns();
  void OnInitialDnsDone();
  void PublishHosts(const std::string& cluster, upstream::HostSetSharedPtr hosts);
  void InstallAdminHandlers();
  void StartDrainAndExit();
  void SetHealthCheckFailed(bool failed);  // and tells every worker
  void CheckDrained();
  void Shutdown();

  Options options_;
  // Before everything that holds stat handles (workers, clusters): destroyed after them.
  std::unique_ptr<stats::Store> stats_;
  std::unique_ptr<server::ServerStats> server_stats_;
  event::Dispatcher main_;
  std::vector<std::unique_ptr<server::Worker>> workers_;
  server::SnapshotSharedPtr snapshot_;
  uint64_t snapshot_version_ = 0;
  std::vector<std::shared_ptr<const config::Listener>> static_listeners_;
  absl::flat_hash_map<std::string, upstream::ClusterInfoSharedPtr> static_clusters_;
  std::vector<BoundListener> bound_;
  ServerConfig config_;
  std::unique_ptr<DynamicConfig> dynamic_;
  absl::flat_hash_map<std::string, std::unique_ptr<DnsResolver>> resolvers_;
  absl::flat_hash_map<std::string, upstream::HostSetSharedPtr> hosts_;  // current membership
  std::unique_ptr<admin::AdminServer> admin_;
  std::vector<uv_signal_t*> signals_;
  event::TimerPtr drain_poll_timer_;
  event::TimerPtr drain_deadline_timer_;
  // Outlier detection intervals of the snapshot's clusters (main loop timers).
  std::unique_ptr<upstream::OutlierSweeper> outlier_sweeper_;
  std::chrono::steady_clock::time_point start_time_;
  bool live_ = false;               // workers started
  bool initialized_ = false;        // initial config applied (and bootstrap DNS clusters resolved)
  bool init_requested_ = false;     // SetInitialized waits for initial_dns_pending_
  size_t initial_dns_pending_ = 0;  // bootstrap DNS clusters without their first answer
  bool draining_ = false;
  bool exiting_ = false;
  bool health_check_failed_ = false;  // admin /healthcheck/fail (until /healthcheck/ok)
};

}  // namespace pilotfish::bootstrap
