// Istio's stats filter settings (`istio.stats`: a TypedStruct naming stats.PluginConfig, as an
// HTTP filter or as a network filter before tcp_proxy) and this proxy's workload identity, read
// once at config time from the node metadata istio-agent writes into the bootstrap.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/core/v3/base.pb.h"
#include "google/protobuf/any.pb.h"

namespace pilotfish::filters::istio_stats {

// The labels of one side of a request that come from workload metadata.
struct PeerIdentity {
  std::string workload = "unknown";
  std::string workload_namespace = "unknown";
  std::string principal = "unknown";
  std::string app = "unknown";
  std::string version = "unknown";
  std::string canonical_service = "unknown";
  std::string canonical_revision = "unknown";
  std::string cluster = "unknown";
};

// This proxy's identity from node.metadata: WORKLOAD_NAME, NAMESPACE, CLUSTER_ID and LABELS
// (app, version, service.istio.io/canonical-name and -revision). The canonical service defaults
// to the app label then the workload name, the revision to the version label then "latest".
PeerIdentity LocalIdentity(const envoy::config::core::v3::Node& node);

// One entry of PluginConfig.metrics: a metric ("" = every metric) whose labels are trimmed or
// which is not emitted at all.
struct MetricOverride {
  std::string name;  // Istio's short name: "requests_total", "tcp_sent_bytes_total", ...
  std::vector<std::string> tags_to_remove;
  bool drop = false;
};

struct IstioStatsConfig {
  enum class Reporter { kUnspecified, kServerGateway } reporter = Reporter::kUnspecified;
  bool disable_host_header_fallback = false;
  std::vector<MetricOverride> metrics;
  PeerIdentity local;
  // Whether `metric` (short name) is dropped, and the labels removed from it.
  bool Dropped(const std::string& metric) const;
  bool Removes(const std::string& metric, const std::string& label) const;
};
using IstioStatsConfigSharedPtr = std::shared_ptr<const IstioStatsConfig>;

// Parses the filter's typed_config (the TypedStruct). Fields pilotfish does not apply
// (dimensions and match expressions, definitions, tcp_reporting_duration, rotation settings)
// are warned about by path; unknown fields and bad values are errors.
absl::StatusOr<IstioStatsConfigSharedPtr> ParseIstioStatsConfig(
    const google::protobuf::Any& typed_config, const std::string& path,
    const envoy::config::core::v3::Node& node, std::vector<std::string>* warnings);

// Checks Istio's metadata-exchange network filter config (accepted; peers stay "unknown"
// because pilotfish does not exchange metadata yet, which is warned).
absl::Status CheckMetadataExchangeConfig(const google::protobuf::Any& typed_config,
                                         const std::string& path,
                                         std::vector<std::string>* warnings);

}  // namespace pilotfish::filters::istio_stats
