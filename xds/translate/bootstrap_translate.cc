// Bootstrap translation; see bootstrap_translate.h.
#include "xds/translate/bootstrap_translate.h"

#include <google/protobuf/util/json_util.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "xds/translate/access_log_translate.h"
#include "xds/translate/cluster_refs.h"
#include "xds/translate/cluster_translate.h"
#include "xds/translate/common_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/runtime_translate.h"
#include "xds/translate/stats_translate.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

using envoy::config::bootstrap::v3::Bootstrap;
using envoy::config::core::v3::ConfigSource;

absl::Status TranslateNode(const envoy::config::core::v3::Node& node, config::Bootstrap* out) {
  // The user agent, extensions and client features describe the proxy to a control plane.
  XDS_RETURN_IF_ERROR(
      CheckFields(node, "node",
                  {.handled = {"id", "cluster", "metadata", "locality", "user_agent_name",
                               "user_agent_version", "user_agent_build_version", "extensions",
                               "client_features", "dynamic_parameters", "listening_addresses"}}));
  out->node_id = node.id();
  out->node_cluster = node.cluster();
  out->node_region = node.locality().region();
  out->node_zone = node.locality().zone();
  out->node_sub_zone = node.locality().sub_zone();
  if (node.has_metadata()) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    auto status = google::protobuf::util::MessageToJsonString(node.metadata(), &json, options);
    if (!status.ok()) {
      return InvalidAt("node.metadata", absl::StrCat("cannot render as JSON: ", status.ToString()));
    }
    out->node_metadata_json = std::move(json);
  }
  return absl::OkStatus();
}

absl::Status TranslateAdmin(const envoy::config::bootstrap::v3::Admin& admin,
                            config::Bootstrap* out, std::vector<std::string>* warnings) {
  // profile_path is for the CPU profiler endpoints; ignore_global_conn_limit has nothing to
  // bypass in pilotfish.
  XDS_RETURN_IF_ERROR(CheckFields(admin, "admin",
                                  {.handled = {"access_log", "access_log_path", "profile_path",
                                               "address", "ignore_global_conn_limit"},
                                   .ignored = {"socket_options"}},
                                  warnings));
  if (admin.has_address()) {
    XDS_ASSIGN_OR_RETURN(out->admin_address,
                         TranslateAddress(admin.address(), "admin.address", AddressUse::kListener));
  }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  out->admin_access_log_path = admin.access_log_path();
#pragma GCC diagnostic pop
  XDS_ASSIGN_OR_RETURN(out->admin_access_logs,
                       TranslateAccessLogs(admin.access_log(), "admin.access_log", warnings));
  return absl::OkStatus();
}

// A non-aggregated gRPC source: api_config_source with GRPC or DELTA_GRPC and one envoy_grpc
// service. Other API types (REST) are warned about and fetch nothing.
absl::Status TranslateApiConfigSource(const envoy::config::core::v3::ApiConfigSource& api,
                                      absl::string_view path, std::string* grpc_cluster,
                                      bool* delta, bool* node_first_only,
                                      std::vector<std::string>* warnings) {
  using envoy::config::core::v3::ApiConfigSource;
  XDS_RETURN_IF_ERROR(
      CheckFields(api, path,
                  {.handled = {"api_type", "transport_api_version", "grpc_services",
                               "set_node_on_first_message_only", "cluster_names", "refresh_delay"},
                   .ignored = {"request_timeout", "rate_limit_settings", "config_validators"}},
                  warnings));
  if (api.api_type() != ApiConfigSource::GRPC && api.api_type() != ApiConfigSource::DELTA_GRPC) {
    Warn(warnings, FieldPath(path, "api_type"),
         absl::StrCat(ApiConfigSource::ApiType_Name(api.api_type()),
                      " is not supported (gRPC only); nothing will be fetched"));
    return absl::OkStatus();
  }
  if (api.grpc_services_size() == 0 || !api.grpc_services(0).has_envoy_grpc() ||
      api.grpc_services(0).envoy_grpc().cluster_name().empty()) {
    return InvalidAt(FieldPath(path, "grpc_services"),
                     "one envoy_grpc service with a cluster_name is required");
  }
  *grpc_cluster = api.grpc_services(0).envoy_grpc().cluster_name();
  *delta = api.api_type() == ApiConfigSource::DELTA_GRPC;
  *node_first_only |= api.set_node_on_first_message_only();
  return absl::OkStatus();
}

// Describes one lds_config / cds_config: ADS, a file (filesystem xDS) or its own gRPC source.
absl::Status TranslateConfigSource(const ConfigSource& source, absl::string_view path,
                                   bool* via_ads, std::string* file_path, std::string* grpc_cluster,
                                   bool* grpc_delta, bool* node_first_only,
                                   config::Millis* initial_fetch_timeout,
                                   std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(
      CheckFields(source, path,
                  {.handled = {"path", "path_config_source", "api_config_source", "ads", "self",
                               "initial_fetch_timeout", "resource_api_version"}}));
  XDS_ASSIGN_OR_RETURN(*initial_fetch_timeout, InitialFetchTimeout(source, path));
  switch (source.config_source_specifier_case()) {
    case ConfigSource::kAds:
      *via_ads = true;
      break;
    case ConfigSource::kPathConfigSource: {
      const std::string p = FieldPath(path, "path_config_source");
      XDS_RETURN_IF_ERROR(CheckFields(source.path_config_source(), p,
                                      {.handled = {"path"}, .ignored = {"watched_directory"}},
                                      warnings));
      if (source.path_config_source().path().empty()) {
        return InvalidAt(FieldPath(p, "path"), "must be set");
      }
      *file_path = source.path_config_source().path();
      break;
    }
    case ConfigSource::kPath:
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      *file_path = source.path();
#pragma GCC diagnostic pop
      break;
    case ConfigSource::kApiConfigSource:
      XDS_RETURN_IF_ERROR(
          TranslateApiConfigSource(source.api_config_source(), FieldPath(path, "api_config_source"),
                                   grpc_cluster, grpc_delta, node_first_only, warnings));
      break;
    default:
      Warn(warnings, path, "config source not supported yet; nothing will be fetched");
      break;
  }
  return absl::OkStatus();
}

absl::Status TranslateDynamicResources(const Bootstrap::DynamicResources& dynamic,
                                       config::Bootstrap* out, std::vector<std::string>* warnings) {
  const std::string path = "dynamic_resources";
  XDS_RETURN_IF_ERROR(
      CheckFields(dynamic, path, {.handled = {"lds_config", "cds_config", "ads_config"}}));
  out->has_dynamic_resources = true;
  config::DynamicResources& dr = out->dynamic_resources;
  if (dynamic.has_lds_config()) {
    dr.has_lds_config = true;
    XDS_RETURN_IF_ERROR(TranslateConfigSource(
        dynamic.lds_config(), FieldPath(path, "lds_config"), &dr.lds_via_ads, &dr.lds_path,
        &dr.lds_grpc_cluster, &dr.lds_grpc_delta, &dr.set_node_on_first_message_only,
        &dr.lds_initial_fetch_timeout, warnings));
  }
  if (dynamic.has_cds_config()) {
    dr.has_cds_config = true;
    XDS_RETURN_IF_ERROR(TranslateConfigSource(
        dynamic.cds_config(), FieldPath(path, "cds_config"), &dr.cds_via_ads, &dr.cds_path,
        &dr.cds_grpc_cluster, &dr.cds_grpc_delta, &dr.set_node_on_first_message_only,
        &dr.cds_initial_fetch_timeout, warnings));
  }
  if (dynamic.has_ads_config()) {
    const std::string p = FieldPath(path, "ads_config");
    const auto& ads = dynamic.ads_config();
    using envoy::config::core::v3::ApiConfigSource;
    if (ads.api_type() != ApiConfigSource::GRPC && ads.api_type() != ApiConfigSource::DELTA_GRPC) {
      return NotSupported(FieldPath(p, "api_type"),
                          absl::StrCat(ApiConfigSource::ApiType_Name(ads.api_type()),
                                       "; ADS needs GRPC or DELTA_GRPC"));
    }
    dr.ads_delta = ads.api_type() == ApiConfigSource::DELTA_GRPC;
    dr.set_node_on_first_message_only |= ads.set_node_on_first_message_only();
    if (ads.grpc_services_size() > 0) {
      if (!ads.grpc_services(0).has_envoy_grpc()) {
        return NotSupported(IndexPath(p, "grpc_services", 0), "only envoy_grpc");
      }
      dr.ads_cluster = ads.grpc_services(0).envoy_grpc().cluster_name();
    }
    if (dr.ads_cluster.empty()) {
      return InvalidAt(p, "grpc_services[0].envoy_grpc.cluster_name is required");
    }
  }
  if ((dr.lds_via_ads || dr.cds_via_ads) && dr.ads_cluster.empty()) {
    return InvalidAt(path, "lds_config/cds_config use ads but ads_config is not set");
  }
  return absl::OkStatus();
}

absl::Status TranslateClusterManager(const envoy::config::bootstrap::v3::ClusterManager& cm,
                                     std::vector<std::string>* warnings) {
  // upstream_bind_config would change the source address of every upstream connection:
  // ignoring it could misroute, so it is an error rather than a warning.
  return CheckFields(cm, "cluster_manager",
                     {.ignored = {"local_cluster_name", "outlier_detection", "load_stats_config",
                                  "enable_deferred_cluster_creation"}},
                     warnings);
}

std::string AddressName(const config::SocketAddress& address) {
  if (!address.pipe_path.empty()) return address.pipe_path;
  return absl::StrCat(address.address, "_", address.port);
}

absl::Status TranslateStaticResources(const Bootstrap::StaticResources& resources,
                                      const NetworkFilterLookup& lookup, config::Bootstrap* out,
                                      std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(
      CheckFields(resources, "static_resources", {.handled = {"listeners", "clusters"}}));
  absl::flat_hash_map<std::string, std::string> cluster_paths;
  for (int i = 0; i < resources.clusters_size(); ++i) {
    const std::string p = IndexPath("static_resources", "clusters", i);
    XDS_ASSIGN_OR_RETURN(config::Cluster cluster,
                         TranslateCluster(resources.clusters(i), p, warnings));
    auto [it, inserted] = cluster_paths.try_emplace(cluster.name, p);
    if (!inserted) {
      return InvalidAt(FieldPath(p, "name"), absl::StrCat("duplicate cluster name '", cluster.name,
                                                          "' (also ", it->second, ")"));
    }
    out->clusters.push_back(std::move(cluster));
  }
  absl::flat_hash_map<std::string, std::string> listener_paths;
  absl::flat_hash_map<std::string, std::string> address_paths;
  for (int i = 0; i < resources.listeners_size(); ++i) {
    const std::string p = IndexPath("static_resources", "listeners", i);
    XDS_ASSIGN_OR_RETURN(config::Listener listener,
                         TranslateListener(resources.listeners(i), lookup, p, warnings));
    // Envoy names an unnamed static listener itself; pilotfish uses Istio's address form.
    if (listener.name.empty()) listener.name = AddressName(listener.address);
    auto [it, inserted] = listener_paths.try_emplace(listener.name, p);
    if (!inserted) {
      return InvalidAt(
          FieldPath(p, "name"),
          absl::StrCat("duplicate listener name '", listener.name, "' (also ", it->second, ")"));
    }
    if (listener.bind_to_port) {
      const std::string address = AddressName(listener.address);
      auto [ait, ainserted] = address_paths.try_emplace(address, p);
      if (!ainserted && listener.address.port != 0) {
        return InvalidAt(FieldPath(p, "address"),
                         absl::StrCat("address ", address, " is already used by ", ait->second));
      }
    }
    out->listeners.push_back(std::move(listener));
  }
  return absl::OkStatus();
}

absl::Status CheckClusterReferences(const Bootstrap& bootstrap, const config::Bootstrap& out) {
  absl::flat_hash_set<std::string> clusters;
  for (const config::Cluster& c : out.clusters) clusters.insert(c.name);
  if (!out.dynamic_resources.ads_cluster.empty() &&
      !clusters.contains(out.dynamic_resources.ads_cluster)) {
    return InvalidAt("dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name",
                     absl::StrCat("unknown cluster '", out.dynamic_resources.ads_cluster,
                                  "' (the xDS cluster must be a static cluster)"));
  }
  // With CDS, routes may name clusters that arrive later.
  if (out.dynamic_resources.has_cds_config) return absl::OkStatus();
  std::vector<ClusterRef> refs;
  const auto& listeners = bootstrap.static_resources().listeners();
  for (int i = 0; i < listeners.size(); ++i) {
    XDS_RETURN_IF_ERROR(CollectListenerClusterRefs(
        listeners[i], IndexPath("static_resources", "listeners", i), &refs));
  }
  for (const ClusterRef& ref : refs) {
    if (!clusters.contains(ref.cluster)) {
      return InvalidAt(ref.path,
                       absl::StrCat("unknown cluster '", ref.cluster,
                                    "' (not in static_resources.clusters, and there is no "
                                    "dynamic_resources.cds_config)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<config::Bootstrap> TranslateBootstrap(const Bootstrap& bootstrap,
                                                     const NetworkFilterLookup& lookup,
                                                     std::vector<std::string>* warnings) {
  // node_context_params, stats_server_version_override and perf_tracing_file_path do not
  // change what is proxied; the ignored ones are observability and process tuning.
  XDS_RETURN_IF_ERROR(CheckFields(
      bootstrap, "",
      {.handled = {"node", "static_resources", "dynamic_resources", "admin", "stats_flush_interval",
                   "cluster_manager", "node_context_params", "stats_server_version_override",
                   "perf_tracing_file_path", "stats_config", "layered_runtime"},
       .ignored = {"stats_sinks",
                   "stats_flush_on_admin",
                   "watchdog",
                   "watchdogs",
                   "tracing",
                   "overload_manager",
                   "enable_dispatcher_stats",
                   "use_tcp_for_dns_lookups",
                   "dns_resolution_config",
                   "typed_dns_resolver_config",
                   "bootstrap_extensions",
                   "fatal_actions",
                   "config_sources",
                   "default_config_source",
                   "default_socket_interface",
                   "inline_headers",
                   "default_regex_engine",
                   "xds_delegate_extension",
                   "xds_config_tracker_extension",
                   "application_log_config",
                   "grpc_async_client_manager_config",
                   "memory_allocator_manager",
                   "deferred_stat_options",
                   "hds_config",
                   "flags_path"}},
      warnings));
  config::Bootstrap out;
  XDS_RETURN_IF_ERROR(TranslateNode(bootstrap.node(), &out));
  WarnUnappliedRuntime(bootstrap.layered_runtime(), warnings);
  if (bootstrap.has_admin()) XDS_RETURN_IF_ERROR(TranslateAdmin(bootstrap.admin(), &out, warnings));
  if (bootstrap.has_cluster_manager()) {
    XDS_RETURN_IF_ERROR(TranslateClusterManager(bootstrap.cluster_manager(), warnings));
  }
  if (bootstrap.has_stats_config()) {
    XDS_ASSIGN_OR_RETURN(out.stats_config,
                         TranslateStatsConfig(bootstrap.stats_config(), "stats_config", warnings));
  }
  if (bootstrap.has_stats_flush_interval()) {
    XDS_ASSIGN_OR_RETURN(
        out.stats_flush_interval,
        ToPositiveMillis(bootstrap.stats_flush_interval(), "stats_flush_interval"));
  }
  XDS_RETURN_IF_ERROR(
      TranslateStaticResources(bootstrap.static_resources(), lookup, &out, warnings));
  if (bootstrap.has_dynamic_resources()) {
    XDS_RETURN_IF_ERROR(TranslateDynamicResources(bootstrap.dynamic_resources(), &out, warnings));
  }
  XDS_RETURN_IF_ERROR(CheckClusterReferences(bootstrap, out));
  return out;
}

}  // namespace pilotfish::xds
