// Cluster reference collection; see cluster_refs.h.
#include "xds/translate/cluster_refs.h"

#include "absl/strings/str_cat.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "xds/translate/field_check.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

void AddMirrors(const google::protobuf::RepeatedPtrField<
                    envoy::config::route::v3::RouteAction::RequestMirrorPolicy>& mirrors,
                absl::string_view path, std::vector<ClusterRef>* out) {
  for (int i = 0; i < mirrors.size(); ++i) {
    if (!mirrors[i].cluster().empty()) {
      out->push_back({mirrors[i].cluster(),
                      FieldPath(IndexPath(path, "request_mirror_policies", i), "cluster")});
    }
  }
}

absl::Status CollectFilterChainRefs(const envoy::config::listener::v3::FilterChain& chain,
                                    absl::string_view path, std::vector<ClusterRef>* out) {
  using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
  using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
  for (int i = 0; i < chain.filters_size(); ++i) {
    const auto& filter = chain.filters(i);
    const std::string p = FieldPath(IndexPath(path, "filters", i), "typed_config");
    const absl::string_view type = TypeNameOf(filter.typed_config());
    if (type == kHcmType) {
      HttpConnectionManager hcm;
      XDS_RETURN_IF_ERROR(UnpackAny(filter.typed_config(), &hcm, p));
      if (hcm.has_route_config()) {
        CollectRouteClusterRefs(hcm.route_config(), FieldPath(p, "route_config"), out);
      }
    } else if (type == kTcpProxyType) {
      TcpProxy tcp;
      XDS_RETURN_IF_ERROR(UnpackAny(filter.typed_config(), &tcp, p));
      if (!tcp.cluster().empty()) out->push_back({tcp.cluster(), FieldPath(p, "cluster")});
      for (int w = 0; w < tcp.weighted_clusters().clusters_size(); ++w) {
        out->push_back(
            {tcp.weighted_clusters().clusters(w).name(),
             FieldPath(IndexPath(FieldPath(p, "weighted_clusters"), "clusters", w), "name")});
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

void CollectRouteClusterRefs(const envoy::config::route::v3::RouteConfiguration& route_config,
                             absl::string_view path, std::vector<ClusterRef>* out) {
  if (route_config.has_validate_clusters() && !route_config.validate_clusters().value()) return;
  AddMirrors(route_config.request_mirror_policies(), path, out);
  for (int v = 0; v < route_config.virtual_hosts_size(); ++v) {
    const auto& vhost = route_config.virtual_hosts(v);
    const std::string vpath = IndexPath(path, "virtual_hosts", v);
    AddMirrors(vhost.request_mirror_policies(), vpath, out);
    for (int r = 0; r < vhost.routes_size(); ++r) {
      const auto& route = vhost.routes(r);
      if (!route.has_route()) continue;
      const std::string apath = FieldPath(IndexPath(vpath, "routes", r), "route");
      const auto& action = route.route();
      if (!action.cluster().empty())
        out->push_back({action.cluster(), FieldPath(apath, "cluster")});
      const auto& weighted = action.weighted_clusters();
      for (int w = 0; w < weighted.clusters_size(); ++w) {
        out->push_back(
            {weighted.clusters(w).name(),
             FieldPath(IndexPath(FieldPath(apath, "weighted_clusters"), "clusters", w), "name")});
      }
      AddMirrors(action.request_mirror_policies(), apath, out);
    }
  }
}

absl::Status CollectListenerClusterRefs(const envoy::config::listener::v3::Listener& listener,
                                        absl::string_view path, std::vector<ClusterRef>* out) {
  for (int i = 0; i < listener.filter_chains_size(); ++i) {
    XDS_RETURN_IF_ERROR(CollectFilterChainRefs(listener.filter_chains(i),
                                               IndexPath(path, "filter_chains", i), out));
  }
  if (listener.has_default_filter_chain()) {
    XDS_RETURN_IF_ERROR(CollectFilterChainRefs(listener.default_filter_chain(),
                                               FieldPath(path, "default_filter_chain"), out));
  }
  return absl::OkStatus();
}

}  // namespace pilotfish::xds
