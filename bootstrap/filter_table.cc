// Network filter table: http_connection_manager and tcp_proxy; HTTP filters: router.
#include "bootstrap/filter_table.h"

#include "absl/strings/str_cat.h"
#include "bootstrap/unapplied.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "filters/http/router/filter.h"
#include "filters/network/http_connection_manager/filter.h"
#include "filters/network/tcp_proxy/filter.h"
#include "xds/translate/hcm_translate.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/tcp_proxy_translate.h"

namespace pilotfish::bootstrap {
namespace {

absl::StatusOr<net::NetworkFilterFactorySharedPtr> CreateHcm(const google::protobuf::Any& any,
                                                             const std::string& path,
                                                             std::vector<std::string>* warnings) {
  envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager proto;
  if (auto s = xds::UnpackAny(any, &proto, path); !s.ok()) return s;
  auto cfg = xds::TranslateHcm(proto, path, warnings);
  if (!cfg.ok()) return cfg.status();
  auto runtime = std::make_shared<filters::hcm::HcmRuntimeConfig>();
  runtime->config = std::move(*cfg);
  if (runtime->config.route_config == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ".rds: dynamic route configuration (RDS) is not supported by pilotfish yet"));
  }
  auto table = ::pilotfish::router::RouteTable::Create(*runtime->config.route_config);
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".route_config.", table.status().message()));
  }
  runtime->route_table = *table;
  WarnUnappliedRouteFeatures(*runtime->config.route_config, path + ".route_config", warnings);
  if (!runtime->config.access_logs.empty() && warnings != nullptr) {
    warnings->push_back(path + ".access_log: access logs are not written yet (issue 5); ignored");
  }
  for (size_t i = 0; i < runtime->config.http_filters.size(); ++i) {
    const config::HttpFilter& f = runtime->config.http_filters[i];
    if (f.type_url == xds::TypeUrl(xds::kRouterType)) {
      runtime->filter_factories.push_back(std::make_shared<filters::router::RouterFactory>());
    } else {
      return absl::InvalidArgumentError(absl::StrCat(path, ".http_filters[", i, "] (", f.name,
                                                     "): filter type ", f.type_url,
                                                     " is not supported by pilotfish yet"));
    }
  }
  return std::make_shared<filters::hcm::HcmFactory>(std::move(runtime));
}

}  // namespace

absl::StatusOr<net::NetworkFilterFactorySharedPtr> CreateNetworkFilter(
    const std::string& filter_name, const google::protobuf::Any& typed_config,
    const std::string& path, std::vector<std::string>* warnings) {
  // Errors inside the filter's config name it from its typed_config.
  const std::string config_path = path + ".typed_config";
  const absl::string_view type = xds::TypeNameOf(typed_config);
  if (type == xds::kHcmType) return CreateHcm(typed_config, config_path, warnings);
  if (type == xds::kTcpProxyType) {
    envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy proto;
    if (auto s = xds::UnpackAny(typed_config, &proto, config_path); !s.ok()) return s;
    auto cfg = xds::TranslateTcpProxy(proto, config_path, warnings);
    if (!cfg.ok()) return cfg.status();
    return std::make_shared<filters::tcp_proxy::TcpProxyFactory>(std::move(*cfg));
  }
  return absl::InvalidArgumentError(absl::StrCat(path, " (", filter_name, "): network filter type ",
                                                 typed_config.type_url(),
                                                 " is not supported by pilotfish"));
}

}  // namespace pilotfish::bootstrap
