// Load assignment translation; see endpoint_translate.h.
#include "xds/translate/endpoint_translate.h"

#include "absl/strings/str_cat.h"
#include "xds/translate/field_check.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

using envoy::config::core::v3::HealthStatus;

absl::StatusOr<config::EndpointHealth> TranslateHealth(HealthStatus status,
                                                       absl::string_view path) {
  switch (status) {
    case envoy::config::core::v3::UNKNOWN:
    case envoy::config::core::v3::HEALTHY:
      return config::EndpointHealth::kHealthy;
    case envoy::config::core::v3::UNHEALTHY:
    case envoy::config::core::v3::DRAINING:
    case envoy::config::core::v3::TIMEOUT:
      return config::EndpointHealth::kUnhealthy;
    case envoy::config::core::v3::DEGRADED:
      return config::EndpointHealth::kDegraded;
    default:
      return InvalidAt(path, "unknown health status");
  }
}

absl::StatusOr<config::Endpoint> TranslateLbEndpoint(
    const envoy::config::endpoint::v3::LbEndpoint& lb_endpoint, absl::string_view path,
    AddressUse use) {
  // metadata carries control-plane labels (Istio's tlsMode, workload) used for subsets / mTLS.
  XDS_RETURN_IF_ERROR(
      CheckFields(lb_endpoint, path,
                  {.handled = {"endpoint", "health_status", "metadata", "load_balancing_weight"}}));
  if (!lb_endpoint.has_endpoint()) return InvalidAt(FieldPath(path, "endpoint"), "is required");
  const std::string endpoint_path = FieldPath(path, "endpoint");
  const auto& endpoint = lb_endpoint.endpoint();
  // health_check_config only configures active health checks, which clusters reject.
  XDS_RETURN_IF_ERROR(CheckFields(endpoint, endpoint_path,
                                  {.handled = {"address", "hostname", "health_check_config"}}));
  if (!endpoint.has_address()) return InvalidAt(FieldPath(endpoint_path, "address"), "is required");
  config::Endpoint out;
  XDS_ASSIGN_OR_RETURN(
      out.address, TranslateAddress(endpoint.address(), FieldPath(endpoint_path, "address"), use));
  out.hostname = endpoint.hostname();
  XDS_ASSIGN_OR_RETURN(
      out.health, TranslateHealth(lb_endpoint.health_status(), FieldPath(path, "health_status")));
  if (lb_endpoint.has_load_balancing_weight()) {
    if (lb_endpoint.load_balancing_weight().value() < 1) {
      return InvalidAt(FieldPath(path, "load_balancing_weight"), "must be >= 1");
    }
    out.load_balancing_weight = lb_endpoint.load_balancing_weight().value();
  }
  return out;
}

}  // namespace

absl::Status TranslateLoadAssignment(
    const envoy::config::endpoint::v3::ClusterLoadAssignment& assignment, absl::string_view path,
    AddressUse use, std::vector<config::Endpoint>* out, std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(CheckFields(assignment, path,
                                  {.handled = {"cluster_name", "endpoints", "policy"}}, warnings));
  if (assignment.has_policy()) {
    XDS_RETURN_IF_ERROR(
        CheckFields(assignment.policy(), FieldPath(path, "policy"),
                    {.ignored = {"overprovisioning_factor", "endpoint_stale_after"}}, warnings));
  }
  std::vector<config::Endpoint> endpoints;
  for (int i = 0; i < assignment.endpoints_size(); ++i) {
    const auto& locality_endpoints = assignment.endpoints(i);
    const std::string p = IndexPath(path, "endpoints", i);
    // Locality weights and proximity only matter with locality-weighted load balancing, which
    // clusters reject; metadata is informational.
    XDS_RETURN_IF_ERROR(
        CheckFields(locality_endpoints, p,
                    {.handled = {"locality", "metadata", "lb_endpoints", "load_balancing_weight",
                                 "priority", "proximity"}}));
    const auto& locality = locality_endpoints.locality();
    XDS_RETURN_IF_ERROR(CheckFields(locality, FieldPath(p, "locality"),
                                    {.handled = {"region", "zone", "sub_zone"}}));
    if (locality_endpoints.priority() > 128) {
      return InvalidAt(FieldPath(p, "priority"), "must be <= 128");
    }
    for (int j = 0; j < locality_endpoints.lb_endpoints_size(); ++j) {
      XDS_ASSIGN_OR_RETURN(config::Endpoint endpoint,
                           TranslateLbEndpoint(locality_endpoints.lb_endpoints(j),
                                               IndexPath(p, "lb_endpoints", j), use));
      endpoint.priority = locality_endpoints.priority();
      endpoint.region = locality.region();
      endpoint.zone = locality.zone();
      endpoint.sub_zone = locality.sub_zone();
      endpoints.push_back(std::move(endpoint));
    }
  }
  for (config::Endpoint& endpoint : endpoints) out->push_back(std::move(endpoint));
  return absl::OkStatus();
}

absl::Status ApplyClusterLoadAssignment(
    const envoy::config::endpoint::v3::ClusterLoadAssignment& assignment,
    std::vector<config::Endpoint>* endpoints) {
  return ApplyClusterLoadAssignment(
      assignment, endpoints, absl::StrCat("ClusterLoadAssignment ", assignment.cluster_name()),
      nullptr);
}

absl::Status ApplyClusterLoadAssignment(
    const envoy::config::endpoint::v3::ClusterLoadAssignment& assignment,
    std::vector<config::Endpoint>* endpoints, const std::string& path,
    std::vector<std::string>* warnings) {
  std::vector<config::Endpoint> fresh;
  XDS_RETURN_IF_ERROR(
      TranslateLoadAssignment(assignment, path, AddressUse::kIpEndpoint, &fresh, warnings));
  *endpoints = std::move(fresh);
  return absl::OkStatus();
}

}  // namespace pilotfish::xds
