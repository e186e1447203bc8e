// Network filter table: http_connection_manager and tcp_proxy; HTTP filters: fault, router.
#include "bootstrap/filter_table.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "bootstrap/access_logs.h"
#include "bootstrap/unapplied.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "filters/http/fault/config.h"
#include "filters/http/fault/filter.h"
#include "filters/http/istio_stats/config.h"
#include "filters/http/istio_stats/filter.h"
#include "filters/http/router/filter.h"
#include "filters/network/http_connection_manager/filter.h"
#include "filters/network/tcp_proxy/filter.h"
#include "xds/translate/field_check.h"
#include "xds/translate/hcm_translate.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/route_translate.h"
#include "xds/translate/tcp_proxy_translate.h"

namespace pilotfish::bootstrap {
namespace {

using PerFilterConfigSharedPtr = std::shared_ptr<const config::PerFilterConfig>;

google::protobuf::Any ToAny(const config::AnyConfig& config) {
  google::protobuf::Any any;
  any.set_type_url(config.type_url);
  any.set_value(config.value);
  return any;
}

// One per-filter config payload -> the owning filter's parsed config; null: dropped (optional).
absl::StatusOr<PerFilterConfigSharedPtr> ParsePerFilterConfig(const config::AnyConfig& config,
                                                              const std::string& path,
                                                              bool optional,
                                                              std::vector<std::string>* warnings) {
  const google::protobuf::Any any = ToAny(config);
  const absl::string_view type = xds::TypeNameOf(any);
  if (type == xds::kFaultType) {
    auto fault = filters::fault::ParseFaultConfig(&config, path, warnings);
    if (!fault.ok()) return fault.status();
    return PerFilterConfigSharedPtr(*std::move(fault));
  }
  if (type == envoy::config::route::v3::FilterConfig::descriptor()->full_name() && !optional) {
    envoy::config::route::v3::FilterConfig wrapper;
    if (auto s = xds::UnpackAny(any, &wrapper, path); !s.ok()) return s;
    if (auto s =
            xds::CheckFields(wrapper, path, {.handled = {"config", "is_optional", "disabled"}});
        !s.ok()) {
      return s;
    }
    if (wrapper.disabled()) {
      return xds::InvalidAt(xds::FieldPath(path, "disabled"), "not supported by pilotfish yet");
    }
    if (!wrapper.has_config()) return xds::InvalidAt(xds::FieldPath(path, "config"), "is required");
    const config::AnyConfig inner(wrapper.config().type_url(), wrapper.config().value());
    return ParsePerFilterConfig(inner, xds::FieldPath(path, "config"), wrapper.is_optional(),
                                warnings);
  }
  if (optional) {
    xds::Warn(warnings, path,
              absl::StrCat("optional filter config type ", config.type_url,
                           " is not supported by pilotfish; skipped"));
    return nullptr;
  }
  return xds::InvalidAt(
      path, absl::StrCat("filter config type ", config.type_url, " is not supported by pilotfish"));
}

absl::Status ResolveMap(config::PerFilterConfigMap* configs, const std::string& parent,
                        std::vector<std::string>* warnings) {
  config::PerFilterConfigMap out;
  for (auto& [name, value] : *configs) {
    const auto* any = dynamic_cast<const config::AnyConfig*>(value.get());
    if (any == nullptr) {  // already resolved
      out.emplace_back(name, value);
      continue;
    }
    auto parsed = ParsePerFilterConfig(*any, xds::KeyPath(parent, "typed_per_filter_config", name),
                                       /*optional=*/false, warnings);
    if (!parsed.ok()) return parsed.status();
    if (*parsed != nullptr) out.emplace_back(name, *std::move(parsed));
  }
  *configs = std::move(out);
  return absl::OkStatus();
}

// Per-filter configs keyed by a name that no HTTP filter of this HCM has: Envoy validates them
// and never uses them; say so.
void WarnUnusedPerFilterConfigs(const config::RouteConfiguration& routes,
                                const config::HttpConnectionManager& hcm, const std::string& path,
                                std::vector<std::string>* warnings) {
  absl::flat_hash_set<std::string> names;
  for (const config::HttpFilter& f : hcm.http_filters) names.insert(f.name);
  auto check = [&](const config::PerFilterConfigMap& configs, const std::string& parent) {
    for (const auto& [name, value] : configs) {
      if (!names.contains(name)) {
        xds::Warn(warnings, xds::KeyPath(parent, "typed_per_filter_config", name),
                  "no HTTP filter of this connection manager has this name; unused");
      }
    }
  };
  for (size_t i = 0; i < routes.virtual_hosts.size(); ++i) {
    const std::string vp = absl::StrCat(path, ".virtual_hosts[", i, "]");
    check(routes.virtual_hosts[i].typed_per_filter_config, vp);
    for (size_t j = 0; j < routes.virtual_hosts[i].routes.size(); ++j) {
      check(routes.virtual_hosts[i].routes[j].typed_per_filter_config,
            absl::StrCat(vp, ".routes[", j, "]"));
    }
  }
}

// The fault filter compares upstream_cluster with the route's cluster (or cluster_header
// value); pilotfish's router makes the weighted_clusters pick later, so such routes never match.
void WarnFaultUpstreamClusterOnWeightedRoutes(
    const config::RouteConfiguration& routes,
    const std::vector<filters::fault::FaultConfigSharedPtr>& filter_level, const std::string& path,
    std::vector<std::string>* warnings) {
  auto has_upstream_cluster = [](const config::PerFilterConfigMap& configs) {
    for (const auto& [name, value] : configs) {
      const auto* fault = dynamic_cast<const filters::fault::FaultConfig*>(value.get());
      if (fault != nullptr && !fault->upstream_cluster.empty()) return true;
    }
    return false;
  };
  bool any_filter_level = false;
  for (const auto& f : filter_level) any_filter_level |= !f->upstream_cluster.empty();
  for (size_t i = 0; i < routes.virtual_hosts.size(); ++i) {
    const config::VirtualHost& vh = routes.virtual_hosts[i];
    const bool vhost_level = has_upstream_cluster(vh.typed_per_filter_config);
    for (size_t j = 0; j < vh.routes.size(); ++j) {
      const config::Route& r = vh.routes[j];
      if (r.kind != config::Route::Kind::kRoute || r.route.weighted_clusters.empty()) continue;
      if (any_filter_level || vhost_level || has_upstream_cluster(r.typed_per_filter_config)) {
        xds::Warn(warnings, absl::StrCat(path, ".virtual_hosts[", i, "].routes[", j, "]"),
                  "fault upstream_cluster never matches a weighted_clusters route in pilotfish");
      }
    }
  }
}

absl::StatusOr<net::NetworkFilterFactorySharedPtr> CreateHcm(const google::protobuf::Any& any,
                                                             const std::string& path,
                                                             std::vector<std::string>* warnings,
                                                             std::vector<config::RdsRef>* rds,
                                                             const FilterContext& context) {
  envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager proto;
  if (auto s = xds::UnpackAny(any, &proto, path); !s.ok()) return s;
  auto cfg = xds::TranslateHcm(proto, path, warnings);
  if (!cfg.ok()) return cfg.status();
  auto runtime = std::make_shared<filters::hcm::HcmRuntimeConfig>();
  runtime->config = std::move(*cfg);
  runtime->config.path_fragment = context.path_fragment;
  auto loggers = BuildAccessLoggers(runtime->config.access_logs, path + ".access_log");
  if (!loggers.ok()) return loggers.status();
  runtime->access_logs = *std::move(loggers);
  std::vector<filters::fault::FaultConfigSharedPtr> fault_configs;
  for (size_t i = 0; i < runtime->config.http_filters.size(); ++i) {
    const config::HttpFilter& f = runtime->config.http_filters[i];
    if (f.type_url == xds::TypeUrl(xds::kRouterType)) {
      runtime->filter_factories.push_back(std::make_shared<filters::router::RouterFactory>());
    } else if (f.type_url == xds::TypeUrl(xds::kFaultType)) {
      auto fault = filters::fault::ParseFaultConfig(
          dynamic_cast<const config::AnyConfig*>(f.config.get()),
          absl::StrCat(path, ".http_filters[", i, "].typed_config"), warnings);
      if (!fault.ok()) return fault.status();
      fault_configs.push_back(*fault);
      runtime->filter_factories.push_back(
          std::make_shared<filters::fault::FaultFilterFactory>(f.name, *std::move(fault)));
    } else if (f.type_url == xds::TypeUrl(xds::kIstioStatsType)) {
      // Watches streams only: an observer, not a filter of the request path.
      const auto* raw = dynamic_cast<const config::AnyConfig*>(f.config.get());
      if (raw == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ".http_filters[", i, "] (", f.name, "): typed_config is required"));
      }
      auto stats = filters::istio_stats::ParseIstioStatsConfig(
          ToAny(*raw), absl::StrCat(path, ".http_filters[", i, "].typed_config"), context.node,
          warnings);
      if (!stats.ok()) return stats.status();
      runtime->observers.push_back(
          std::make_shared<filters::istio_stats::IstioStats>(*std::move(stats)));
    } else {
      return absl::InvalidArgumentError(absl::StrCat(path, ".http_filters[", i, "] (", f.name,
                                                     "): filter type ", f.type_url,
                                                     " is not supported by pilotfish yet"));
    }
  }
  if (runtime->config.route_config == nullptr) {
    // RDS: each request looks the table up in the worker's snapshot (Snapshot::routes).
    if (rds != nullptr) {
      rds->push_back({runtime->config.rds_route_config_name,
                      runtime->config.rds_initial_fetch_timeout, runtime->config.stat_prefix});
    }
    return std::make_shared<filters::hcm::HcmFactory>(std::move(runtime));
  }
  const std::string routes_path = path + ".route_config";
  config::RouteConfiguration routes = *runtime->config.route_config;
  if (auto s = ResolvePerFilterConfigs(&routes, routes_path, warnings); !s.ok()) return s;
  WarnUnusedPerFilterConfigs(routes, runtime->config, routes_path, warnings);
  WarnFaultUpstreamClusterOnWeightedRoutes(routes, fault_configs, routes_path, warnings);
  runtime->config.route_config = std::make_shared<const config::RouteConfiguration>(routes);
  auto table = ::pilotfish::router::RouteTable::Create(std::move(routes));
  if (!table.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(routes_path, ".", table.status().message()));
  }
  runtime->route_table = *table;
  WarnUnappliedRouteFeatures(*runtime->config.route_config, routes_path, warnings);
  return std::make_shared<filters::hcm::HcmFactory>(std::move(runtime));
}

}  // namespace

absl::Status ResolvePerFilterConfigs(config::RouteConfiguration* routes, const std::string& path,
                                     std::vector<std::string>* warnings) {
  for (size_t i = 0; i < routes->virtual_hosts.size(); ++i) {
    config::VirtualHost& vh = routes->virtual_hosts[i];
    const std::string vp = absl::StrCat(path, ".virtual_hosts[", i, "]");
    if (auto s = ResolveMap(&vh.typed_per_filter_config, vp, warnings); !s.ok()) return s;
    for (size_t j = 0; j < vh.routes.size(); ++j) {
      if (auto s = ResolveMap(&vh.routes[j].typed_per_filter_config,
                              absl::StrCat(vp, ".routes[", j, "]"), warnings);
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<::pilotfish::router::RouteTableSharedPtr> CompileRouteConfiguration(
    const envoy::config::route::v3::RouteConfiguration& proto, const std::string& path,
    std::vector<std::string>* warnings) {
  auto routes = xds::TranslateRouteConfiguration(proto, path, warnings);
  if (!routes.ok()) return routes.status();
  if (auto s = ResolvePerFilterConfigs(&*routes, path, warnings); !s.ok()) return s;
  WarnUnappliedRouteFeatures(*routes, path, warnings);
  auto table = ::pilotfish::router::RouteTable::Create(*std::move(routes));
  if (!table.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ".", table.status().message()));
  }
  return *table;
}

// The chain's Istio stats / metadata-exchange filters before a terminal one, as observers.
absl::StatusOr<access_log::StreamObserverList> CreateObservers(
    const std::vector<xds::NetworkFilterRef>& refs, bool before_hcm, const FilterContext& context,
    std::vector<std::string>* warnings) {
  access_log::StreamObserverList out;
  for (const xds::NetworkFilterRef& ref : refs) {
    const std::string config_path = ref.path + ".typed_config";
    const std::string type = xds::EffectiveTypeNameOf(*ref.typed_config);
    if (type == xds::kIstioMetadataExchangeType) {
      auto s = filters::istio_stats::CheckMetadataExchangeConfig(*ref.typed_config, config_path,
                                                                 warnings);
      if (!s.ok()) return s;
      continue;
    }
    auto stats = filters::istio_stats::ParseIstioStatsConfig(*ref.typed_config, config_path,
                                                             context.node, warnings);
    if (!stats.ok()) return stats.status();
    if (before_hcm) {
      // Istio counts HTTP requests with the HTTP filter of the same name; TCP metrics of an
      // HTTP connection are not emitted.
      xds::Warn(warnings, ref.path,
                "istio.stats before an http_connection_manager is ignored (use the HTTP filter)");
      continue;
    }
    out.push_back(std::make_shared<filters::istio_stats::IstioStats>(*std::move(stats)));
  }
  return out;
}

absl::StatusOr<net::NetworkFilterFactorySharedPtr> CreateNetworkFilter(
    const std::string& filter_name, const google::protobuf::Any& typed_config,
    const std::string& path, std::vector<std::string>* warnings, std::vector<config::RdsRef>* rds,
    const std::vector<xds::NetworkFilterRef>& observer_refs, const FilterContext& context) {
  // Errors inside the filter's config name it from its typed_config.
  const std::string config_path = path + ".typed_config";
  const absl::string_view type = xds::TypeNameOf(typed_config);
  auto observers = CreateObservers(observer_refs, type == xds::kHcmType, context, warnings);
  if (!observers.ok()) return observers.status();
  if (type == xds::kHcmType) {
    return CreateHcm(typed_config, config_path, warnings, rds, context);
  }
  if (type == xds::kTcpProxyType) {
    envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy proto;
    if (auto s = xds::UnpackAny(typed_config, &proto, config_path); !s.ok()) return s;
    auto cfg = xds::TranslateTcpProxy(proto, config_path, warnings);
    if (!cfg.ok()) return cfg.status();
    auto loggers = BuildAccessLoggers(cfg->access_logs, config_path + ".access_log");
    if (!loggers.ok()) return loggers.status();
    return std::make_shared<filters::tcp_proxy::TcpProxyFactory>(
        std::move(*cfg), *std::move(loggers), *std::move(observers));
  }
  return absl::InvalidArgumentError(absl::StrCat(path, " (", filter_name, "): network filter type ",
                                                 typed_config.type_url(),
                                                 " is not supported by pilotfish"));
}

}  // namespace pilotfish::bootstrap
