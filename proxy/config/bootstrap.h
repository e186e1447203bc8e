// The translated Envoy v3 Bootstrap: node identity, admin endpoint, static listeners and
// clusters, and what dynamic_resources (xDS) asked for.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proxy/config/hcm.h"
#include "proxy/config/listener.h"
#include "proxy/config/stats.h"
#include "proxy/config/types.h"

namespace pilotfish::config {

// dynamic_resources as configured; the xDS client decides what to do with it.
struct DynamicResources {
  bool has_lds_config = false;
  bool has_cds_config = false;
  bool lds_via_ads = false;  // lds_config: { ads: {} }
  bool cds_via_ads = false;
  std::string lds_path;  // lds_config: { path_config_source: { path } } (filesystem xDS)
  std::string cds_path;
  // lds_config / cds_config: { api_config_source: { api_type: GRPC|DELTA_GRPC, envoy_grpc } }
  std::string lds_grpc_cluster;
  std::string cds_grpc_cluster;
  bool lds_grpc_delta = false;
  bool cds_grpc_delta = false;
  std::string ads_cluster;  // ads_config.grpc_services[0].envoy_grpc.cluster_name
  bool ads_delta = false;   // ads_config.api_type: DELTA_GRPC (else GRPC)
  bool set_node_on_first_message_only = false;
  // lds_config / cds_config initial_fetch_timeout: how long server initialization waits for the
  // first answer (Envoy's default 15 s; zero waits forever, as Istio sets it). gRPC sources only.
  Millis lds_initial_fetch_timeout{15000};
  Millis cds_initial_fetch_timeout{15000};
};

struct Bootstrap {
  std::string node_id;
  std::string node_cluster;
  std::string node_metadata_json = "{}";  // node.metadata (a Struct) as JSON
  std::string node_region, node_zone, node_sub_zone;

  std::optional<SocketAddress> admin_address;  // unset: no admin listener
  std::string admin_access_log_path;           // deprecated admin.access_log_path
  std::vector<AccessLog> admin_access_logs;    // admin.access_log

  std::vector<Listener> listeners;  // static_resources.listeners, names unique
  std::vector<Cluster> clusters;    // static_resources.clusters, names unique

  bool has_dynamic_resources = false;
  DynamicResources dynamic_resources;

  Millis stats_flush_interval{5000};
  StatsConfig stats_config;  // stats_tags, use_all_default_tags, stats_matcher
};

}  // namespace pilotfish::config
