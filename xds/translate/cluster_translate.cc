// Cluster translation; see cluster_translate.h.
#include "xds/translate/cluster_translate.h"

#include "absl/strings/str_cat.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"
#include "xds/translate/cluster_policy_translate.h"
#include "xds/translate/common_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::extensions::upstreams::http::v3::HttpProtocolOptions;

constexpr absl::string_view kHttp2Warning =
    "upstream HTTP/2 is not supported yet; HTTP/1.1 will be used";

// Accepts an empty Http1ProtocolOptions only: its fields change how requests are encoded.
absl::Status CheckUpstreamHttp1(const envoy::config::core::v3::Http1ProtocolOptions& options,
                                absl::string_view path) {
  return CheckFields(options, path, {});
}

// `deprecated_max_requests`: the cluster's own (deprecated) max_requests_per_connection is set.
absl::Status TranslateTypedHttpProtocolOptions(const google::protobuf::Any& any,
                                               absl::string_view path, bool deprecated_max_requests,
                                               config::Cluster* out,
                                               std::vector<std::string>* warnings) {
  HttpProtocolOptions options;
  XDS_RETURN_IF_ERROR(UnpackAny(any, &options, path));
  if (deprecated_max_requests &&
      options.common_http_protocol_options().has_max_requests_per_connection()) {
    return InvalidAt(path,
                     "max_requests_per_connection is set both here and in the cluster's "
                     "deprecated max_requests_per_connection");
  }
  // upstream_http_protocol_options (auto_sni, auto_san_validation) only affect TLS.
  XDS_RETURN_IF_ERROR(
      CheckFields(options, path,
                  {.handled = {"common_http_protocol_options", "explicit_http_config",
                               "use_downstream_protocol_config"},
                   .ignored = {"upstream_http_protocol_options"}},
                  warnings));
  if (options.has_common_http_protocol_options()) {
    XDS_RETURN_IF_ERROR(
        TranslateHttpProtocolOptions(options.common_http_protocol_options(),
                                     FieldPath(path, "common_http_protocol_options"), out));
  }
  if (options.has_explicit_http_config()) {
    const std::string p = FieldPath(path, "explicit_http_config");
    const auto& config = options.explicit_http_config();
    XDS_RETURN_IF_ERROR(
        CheckFields(config, p, {.handled = {"http_protocol_options", "http2_protocol_options"}}));
    if (config.has_http_protocol_options()) {
      XDS_RETURN_IF_ERROR(CheckUpstreamHttp1(config.http_protocol_options(),
                                             FieldPath(p, "http_protocol_options")));
    }
    if (config.has_http2_protocol_options()) {
      out->http2 = true;
      Warn(warnings, FieldPath(p, "http2_protocol_options"), kHttp2Warning);
    }
  }
  if (options.has_use_downstream_protocol_config()) {
    // Downstream connections are always HTTP/1.x in pilotfish, so upstream uses HTTP/1.1 and
    // the HTTP/2 / HTTP/3 options in here never apply.
    const std::string p = FieldPath(path, "use_downstream_protocol_config");
    const auto& config = options.use_downstream_protocol_config();
    XDS_RETURN_IF_ERROR(CheckFields(config, p,
                                    {.handled = {"http_protocol_options", "http2_protocol_options",
                                                 "http3_protocol_options"}}));
    if (config.has_http_protocol_options()) {
      XDS_RETURN_IF_ERROR(CheckUpstreamHttp1(config.http_protocol_options(),
                                             FieldPath(p, "http_protocol_options")));
    }
  }
  return absl::OkStatus();
}

// The deprecated per-cluster protocol fields, which Envoy still honours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
absl::Status TranslateDeprecatedProtocolFields(const Cluster& cluster, absl::string_view path,
                                               config::Cluster* out,
                                               std::vector<std::string>* warnings) {
  const bool any_deprecated =
      cluster.has_common_http_protocol_options() || cluster.has_http_protocol_options() ||
      cluster.has_http2_protocol_options() || cluster.has_upstream_http_protocol_options();
  if (any_deprecated && !cluster.typed_extension_protocol_options().empty()) {
    return InvalidAt(path,
                     "the deprecated *_protocol_options fields and typed_extension_protocol_"
                     "options cannot be used together");
  }
  if (cluster.has_max_requests_per_connection()) {
    out->max_requests_per_connection = cluster.max_requests_per_connection().value();
  }
  if (cluster.has_common_http_protocol_options()) {
    if (cluster.has_max_requests_per_connection() &&
        cluster.common_http_protocol_options().has_max_requests_per_connection()) {
      return InvalidAt(path,
                       "max_requests_per_connection is set both on the cluster and in "
                       "common_http_protocol_options");
    }
    XDS_RETURN_IF_ERROR(
        TranslateHttpProtocolOptions(cluster.common_http_protocol_options(),
                                     FieldPath(path, "common_http_protocol_options"), out));
  }
  if (cluster.has_http_protocol_options()) {
    XDS_RETURN_IF_ERROR(CheckUpstreamHttp1(cluster.http_protocol_options(),
                                           FieldPath(path, "http_protocol_options")));
  }
  if (cluster.has_http2_protocol_options()) {
    out->http2 = true;
    Warn(warnings, FieldPath(path, "http2_protocol_options"), kHttp2Warning);
  }
  if (cluster.has_upstream_http_protocol_options()) {
    Warn(warnings, FieldPath(path, "upstream_http_protocol_options"),
         "ignored by pilotfish (TLS-only options)");
  }
  return absl::OkStatus();
}
#pragma GCC diagnostic pop

absl::Status TranslateTypedProtocolOptions(const Cluster& cluster, absl::string_view path,
                                           config::Cluster* out,
                                           std::vector<std::string>* warnings) {
  for (const auto& [key, any] : cluster.typed_extension_protocol_options()) {
    const std::string p = KeyPath(path, "typed_extension_protocol_options", key);
    if (key != kHttpProtocolOptionsType) {
      return NotSupported(p, absl::StrCat("protocol options ", key));
    }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const bool deprecated_max_requests = cluster.has_max_requests_per_connection();
#pragma GCC diagnostic pop
    XDS_RETURN_IF_ERROR(
        TranslateTypedHttpProtocolOptions(any, p, deprecated_max_requests, out, warnings));
  }
  return absl::OkStatus();
}

absl::Status TranslateDiscoveryType(const Cluster& cluster, absl::string_view path,
                                    config::Cluster* out) {
  if (cluster.has_cluster_type()) {
    const auto& custom = cluster.cluster_type();
    return NotSupported(
        FieldPath(path, "cluster_type"),
        absl::StrCat(
            "cluster type extension ", custom.name(),
            custom.has_typed_config() ? absl::StrCat(" ", custom.typed_config().type_url()) : ""));
  }
  switch (cluster.type()) {
    case Cluster::STATIC:
      out->type = config::ClusterType::kStatic;
      break;
    case Cluster::STRICT_DNS:
      out->type = config::ClusterType::kStrictDns;
      break;
    case Cluster::LOGICAL_DNS:
      out->type = config::ClusterType::kLogicalDns;
      break;
    case Cluster::EDS:
      out->type = config::ClusterType::kEds;
      break;
    case Cluster::ORIGINAL_DST:
      out->type = config::ClusterType::kOriginalDst;
      break;
    default:
      return InvalidAt(FieldPath(path, "type"), "unknown cluster type");
  }
  return absl::OkStatus();
}

absl::Status TranslateEndpoints(const Cluster& cluster, absl::string_view path,
                                config::Cluster* out, std::vector<std::string>* warnings) {
  const std::string p = FieldPath(path, "load_assignment");
  switch (out->type) {
    case config::ClusterType::kStatic:
      return TranslateLoadAssignment(cluster.load_assignment(), p, AddressUse::kIpEndpoint,
                                     &out->endpoints, warnings);
    case config::ClusterType::kStrictDns:
      return TranslateLoadAssignment(cluster.load_assignment(), p, AddressUse::kDnsEndpoint,
                                     &out->endpoints, warnings);
    case config::ClusterType::kLogicalDns:
      XDS_RETURN_IF_ERROR(TranslateLoadAssignment(
          cluster.load_assignment(), p, AddressUse::kDnsEndpoint, &out->endpoints, warnings));
      if (out->endpoints.size() != 1) {
        return InvalidAt(p, "LOGICAL_DNS clusters must have exactly one endpoint");
      }
      return absl::OkStatus();
    case config::ClusterType::kEds:
      if (cluster.has_load_assignment()) {
        Warn(warnings, p, "ignored: EDS clusters take their endpoints from EDS");
      }
      return absl::OkStatus();
    case config::ClusterType::kOriginalDst:
      if (cluster.load_assignment().endpoints_size() > 0) {
        return InvalidAt(p, "ORIGINAL_DST clusters must not have endpoints");
      }
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<config::Cluster> TranslateCluster(const Cluster& cluster, const std::string& path,
                                                 std::vector<std::string>* warnings) {
  // metadata is control-plane bookkeeping; wait_for_warm_on_init and the health flags only
  // matter with active health checks (rejected below); protocol_selection
  // USE_DOWNSTREAM_PROTOCOL is HTTP/1.1 here since downstream is always HTTP/1.x.
  XDS_RETURN_IF_ERROR(
      CheckFields(cluster, path,
                  {.handled = {"name",
                               "alt_stat_name",
                               "type",
                               "cluster_type",
                               "eds_cluster_config",
                               "connect_timeout",
                               "per_connection_buffer_limit_bytes",
                               "lb_policy",
                               "load_assignment",
                               "health_checks",
                               "max_requests_per_connection",
                               "circuit_breakers",
                               "upstream_http_protocol_options",
                               "common_http_protocol_options",
                               "http_protocol_options",
                               "http2_protocol_options",
                               "typed_extension_protocol_options",
                               "dns_refresh_rate",
                               "respect_dns_ttl",
                               "dns_lookup_family",
                               "wait_for_warm_on_init",
                               "outlier_detection",
                               "upstream_bind_config",
                               "ring_hash_lb_config",
                               "maglev_lb_config",
                               "original_dst_lb_config",
                               "least_request_lb_config",
                               "round_robin_lb_config",
                               "common_lb_config",
                               "transport_socket",
                               "metadata",
                               "protocol_selection",
                               "close_connections_on_host_health_failure",
                               "ignore_health_on_host_removal",
                               "cleanup_interval"},
                   .ignored = {"dns_failure_refresh_rate", "use_tcp_for_dns_lookups",
                               "upstream_connection_options", "track_timeout_budgets",
                               "track_cluster_stats", "preconnect_policy"}},
                  warnings));
  config::Cluster out;
  if (cluster.name().empty()) return InvalidAt(FieldPath(path, "name"), "must not be empty");
  out.name = cluster.name();
  if (!cluster.alt_stat_name().empty()) out.alt_stat_name = cluster.alt_stat_name();
  XDS_RETURN_IF_ERROR(TranslateDiscoveryType(cluster, path, &out));
  if (cluster.health_checks_size() > 0) {
    return InvalidAt(FieldPath(path, "health_checks"),
                     "active health checking is not supported yet");
  }
  if (cluster.has_transport_socket()) {
    XDS_RETURN_IF_ERROR(
        CheckTransportSocket(cluster.transport_socket(), FieldPath(path, "transport_socket")));
  }
  XDS_RETURN_IF_ERROR(TranslateLoadBalancing(cluster, path, &out, warnings));
  const bool original_dst = out.type == config::ClusterType::kOriginalDst;
  const bool cluster_provided = out.lb_policy == config::LbPolicy::kClusterProvided;
  if (original_dst != cluster_provided) {
    return InvalidAt(FieldPath(path, "lb_policy"),
                     "CLUSTER_PROVIDED is required with, and only valid for, type ORIGINAL_DST");
  }
  if (out.use_http_header && !original_dst) {
    return InvalidAt(FieldPath(path, "original_dst_lb_config"), "requires type ORIGINAL_DST");
  }
  XDS_RETURN_IF_ERROR(TranslateEndpoints(cluster, path, &out, warnings));
  if (cluster.has_eds_cluster_config()) {
    const std::string p = FieldPath(path, "eds_cluster_config");
    // eds_config says where EDS comes from (ADS for pilotfish); the xDS client decides.
    XDS_RETURN_IF_ERROR(
        CheckFields(cluster.eds_cluster_config(), p, {.handled = {"eds_config", "service_name"}}));
    out.eds_service_name = cluster.eds_cluster_config().service_name();
    XDS_ASSIGN_OR_RETURN(
        out.eds_initial_fetch_timeout,
        InitialFetchTimeout(cluster.eds_cluster_config().eds_config(), FieldPath(p, "eds_config")));
  }
  if (out.type == config::ClusterType::kEds && out.eds_service_name.empty()) {
    out.eds_service_name = out.name;
  }
  if (cluster.has_connect_timeout()) {
    XDS_ASSIGN_OR_RETURN(out.connect_timeout, ToPositiveMillis(cluster.connect_timeout(),
                                                               FieldPath(path, "connect_timeout")));
  }
  if (cluster.has_per_connection_buffer_limit_bytes()) {
    out.per_connection_buffer_limit_bytes = cluster.per_connection_buffer_limit_bytes().value();
  }
  if (cluster.has_dns_refresh_rate()) {
    const std::string p = FieldPath(path, "dns_refresh_rate");
    XDS_ASSIGN_OR_RETURN(out.dns_refresh_rate, ToMillis(cluster.dns_refresh_rate(), p));
    if (out.dns_refresh_rate.count() <= 1) return InvalidAt(p, "must be greater than 1ms");
  }
  out.respect_dns_ttl = cluster.respect_dns_ttl();
  if (cluster.has_cleanup_interval()) {
    const std::string p = FieldPath(path, "cleanup_interval");
    XDS_ASSIGN_OR_RETURN(out.cleanup_interval, ToMillis(cluster.cleanup_interval(), p));
    if (out.cleanup_interval.count() <= 0) return InvalidAt(p, "must be greater than 0");
  }
  switch (cluster.dns_lookup_family()) {
    case Cluster::AUTO:
      out.dns_lookup_family = config::DnsLookupFamily::kAuto;
      break;
    case Cluster::V4_ONLY:
      out.dns_lookup_family = config::DnsLookupFamily::kV4Only;
      break;
    case Cluster::V6_ONLY:
      out.dns_lookup_family = config::DnsLookupFamily::kV6Only;
      break;
    case Cluster::V4_PREFERRED:
      out.dns_lookup_family = config::DnsLookupFamily::kV4Preferred;
      break;
    case Cluster::ALL:
      out.dns_lookup_family = config::DnsLookupFamily::kAll;
      break;
    default:
      return InvalidAt(FieldPath(path, "dns_lookup_family"), "unknown value");
  }
  if (cluster.has_circuit_breakers()) {
    XDS_RETURN_IF_ERROR(TranslateCircuitBreakers(
        cluster.circuit_breakers(), FieldPath(path, "circuit_breakers"), &out, warnings));
  }
  if (cluster.has_outlier_detection()) {
    XDS_ASSIGN_OR_RETURN(out.outlier_detection,
                         TranslateOutlierDetection(cluster.outlier_detection(),
                                                   FieldPath(path, "outlier_detection"), warnings));
  }
  if (cluster.has_upstream_bind_config()) {
    const std::string p = FieldPath(path, "upstream_bind_config");
    XDS_RETURN_IF_ERROR(
        CheckFields(cluster.upstream_bind_config(), p, {.handled = {"source_address"}}));
    XDS_ASSIGN_OR_RETURN(out.upstream_bind_address,
                         TranslateSocketAddress(cluster.upstream_bind_config().source_address(),
                                                FieldPath(p, "source_address"), AddressUse::kBind));
  }
  XDS_RETURN_IF_ERROR(TranslateDeprecatedProtocolFields(cluster, path, &out, warnings));
  XDS_RETURN_IF_ERROR(TranslateTypedProtocolOptions(cluster, path, &out, warnings));
  return out;
}

}  // namespace pilotfish::xds
