// Config delivered by xDS (ADS): the current listeners, clusters, route tables and endpoints
// by name, translated and validated all-or-nothing per update, with Envoy's warming (a listener
// waits for its routes) and initial-fetch readiness (each subscription's initial_fetch_timeout).
// Lives on the main loop; the Server builds snapshots from it and does the socket and worker work.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "bootstrap/file_subscription.h"
#include "bootstrap/filter_table.h"
#include "bootstrap/initial_fetch.h"
#include "bootstrap/server.h"
#include "proxy/config/bootstrap.h"
#include "proxy/server/snapshot.h"
#include "xds/client/ads_client.h"

namespace pilotfish::bootstrap {

class DynamicConfig : public xds::XdsSink {
 public:
  // An accepted resource as the control plane sent it (for /config_dump).
  struct ResourceRecord {
    std::string name;
    std::string version;
    std::string bytes;  // deterministic serialization of the resource message
    std::chrono::system_clock::time_point last_updated;
    bool warming = false;  // listeners: waiting for their routes
  };

  // Finds the static cluster an xDS gRPC source names (its first endpoint is the target).
  using ClusterLookup = std::function<const config::Cluster*(const std::string&)>;
  static absl::StatusOr<std::unique_ptr<DynamicConfig>> Create(
      Server& server, const config::DynamicResources& dynamic, const ClusterLookup& find_cluster,
      const FilterContext& filter_context, std::vector<config::RdsRef> static_rds);
  ~DynamicConfig() override;

  void Start();
  // Adds the active dynamic listeners, clusters and every route table to `snapshot`.
  void AddTo(server::Snapshot& snapshot) const;
  const std::vector<std::unique_ptr<xds::AdsClient>>& clients() const { return clients_; }
  // Every accepted resource of `type_url` (xds::k*TypeUrl), sorted by name. Listeners list
  // their newest version (warming or active).
  std::vector<ResourceRecord> Resources(const std::string& type_url) const;

  absl::Status OnUpdate(const std::string& type_url, const std::vector<xds::Resource>& updated,
                        const std::vector<std::string>& removed) override;
  void OnOutcome(const std::string& type_url, Outcome outcome, const std::string& version) override;
  void OnConnectedState(bool connected) override;

 private:
  // A ResourceRecord as stored, one per resource: the name is the map key, `warming` the
  // listener entry's.
  struct Kept {
    std::string version;
    std::string bytes;
    std::chrono::system_clock::time_point last_updated;
  };
  struct ListenerEntry {
    uint64_t hash = 0;
    Kept record;
    std::shared_ptr<const config::Listener> listener;
    std::vector<config::RdsRef> rds;             // the route configs its HCMs fetch
    std::vector<Server::BoundListener> sockets;  // bound for it, not yet handed to workers
    bool warming = false;
  };
  struct ClusterEntry {
    uint64_t hash = 0;
    Kept record;
    upstream::ClusterInfoSharedPtr info;
  };
  struct RouteEntry {
    uint64_t hash = 0;
    Kept record;
    ::pilotfish::router::RouteTableSharedPtr table;
  };
  struct EndpointEntry {
    uint64_t hash = 0;
    Kept record;
  };

  DynamicConfig(Server& server, const config::DynamicResources& dynamic,
                std::vector<xds::AdsClientConfig> client_configs,
                std::vector<config::RdsRef> static_rds);
  absl::Status UpdateClusters(const std::vector<xds::Resource>& updated,
                              const std::vector<std::string>& removed);
  absl::Status UpdateEndpoints(const std::vector<xds::Resource>& updated,
                               const std::vector<std::string>& removed);
  absl::Status UpdateListeners(const std::vector<xds::Resource>& updated,
                               const std::vector<std::string>& removed);
  absl::Status UpdateRoutes(const std::vector<xds::Resource>& updated,
                            const std::vector<std::string>& removed);
  // Warming listeners whose route configs have all had their first answer (or timed out) become
  // active; returns their sockets for the next snapshot.
  std::vector<Server::BoundListener> ActivateWarmed();
  void Publish(std::vector<Server::BoundListener> sockets);
  std::function<void()> ReportApplied(const char* what);
  void UpdateInterest();
  static Kept Record(const xds::Resource& r);
  void CheckInitialized();
  // Initial fetches: (re)starts the wait for an EDS cluster's first assignment; ends every wait
  // of a type whose response was rejected (Envoy lets initialization go on); handles timeouts.
  void StartClusterFetch(const config::Cluster& c);
  void EndInitialFetches(const std::string& type_url);
  void OnInitialFetchTimeouts();

  Server& server_;
  std::vector<std::unique_ptr<xds::AdsClient>> clients_;  // ADS, or one per type, or none
  std::map<std::string, xds::AdsClient*> by_type_;        // who fetches each type
  std::unique_ptr<FileSubscription> cds_file_;            // path_config_source CDS
  std::unique_ptr<FileSubscription> lds_file_;            // path_config_source LDS
  std::vector<config::RdsRef> static_rds_;
  FilterContext filter_context_;                    // the node, for filters built from LDS
  std::map<std::string, ListenerEntry> listeners_;  // newest version of each (maybe warming)
  std::map<std::string, std::shared_ptr<const config::Listener>> active_listeners_;
  // B-trees for the per-cluster maps (a mesh has thousands of entries): references into them do
  // not survive an insert or erase.
  absl::btree_map<std::string, ClusterEntry> clusters_;
  absl::btree_map<std::string, RouteEntry> routes_;
  absl::btree_map<std::string, EndpointEntry> endpoints_;  // by EDS service name
  // Initial fetch state: CDS/LDS answered (or given up on); the RDS names and EDS clusters whose
  // first answer arrived or timed out; the waits still running, and their deadlines.
  bool cds_applied_ = false;
  bool lds_applied_ = false;
  config::Millis cds_fetch_timeout_;
  config::Millis lds_fetch_timeout_;
  xds::NameSet rds_done_;
  xds::NameSet eds_done_;                           // cluster names
  std::map<std::string, config::RdsRef> rds_refs_;  // each needed route config's first user
  InitialFetchTimeouts fetches_;
  bool initialized_ = false;
  event::TimerPtr fetch_timer_;
  event::TimerPtr trim_timer_;  // malloc_trim after large updates, once they settle
};

}  // namespace pilotfish::bootstrap
