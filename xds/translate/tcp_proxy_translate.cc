// tcp_proxy translation; see tcp_proxy_translate.h.
#include "xds/translate/tcp_proxy_translate.h"

#include "absl/strings/str_cat.h"
#include "xds/translate/access_log_translate.h"
#include "xds/translate/common_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

absl::StatusOr<config::TcpProxy> TranslateTcpProxy(
    const envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& tcp_proxy,
    const std::string& path, std::vector<std::string>* warnings) {
  using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
  XDS_RETURN_IF_ERROR(
      CheckFields(tcp_proxy, path,
                  {.handled = {"stat_prefix", "cluster", "weighted_clusters", "idle_timeout",
                               "access_log", "max_connect_attempts"},
                   .ignored = {"access_log_flush_interval", "flush_access_log_on_connected",
                               "access_log_options"}},
                  warnings));
  config::TcpProxy out;
  if (tcp_proxy.stat_prefix().empty()) {
    return InvalidAt(FieldPath(path, "stat_prefix"), "must not be empty");
  }
  out.stat_prefix = tcp_proxy.stat_prefix();
  switch (tcp_proxy.cluster_specifier_case()) {
    case TcpProxy::kCluster:
      if (tcp_proxy.cluster().empty()) {
        return InvalidAt(FieldPath(path, "cluster"), "must not be empty");
      }
      out.cluster = tcp_proxy.cluster();
      break;
    case TcpProxy::kWeightedClusters: {
      const std::string wpath = FieldPath(path, "weighted_clusters");
      XDS_RETURN_IF_ERROR(
          CheckFields(tcp_proxy.weighted_clusters(), wpath, {.handled = {"clusters"}}));
      const auto& clusters = tcp_proxy.weighted_clusters().clusters();
      if (clusters.empty()) return InvalidAt(FieldPath(wpath, "clusters"), "must not be empty");
      for (int i = 0; i < clusters.size(); ++i) {
        const std::string p = IndexPath(wpath, "clusters", i);
        XDS_RETURN_IF_ERROR(CheckFields(clusters[i], p, {.handled = {"name", "weight"}}));
        if (clusters[i].name().empty()) return InvalidAt(FieldPath(p, "name"), "must not be empty");
        if (clusters[i].weight() < 1) return InvalidAt(FieldPath(p, "weight"), "must be >= 1");
        config::WeightedClusterEntry entry;
        entry.name = clusters[i].name();
        entry.weight = clusters[i].weight();
        out.weighted_clusters.push_back(std::move(entry));
      }
      break;
    }
    default:
      return InvalidAt(path, "one of cluster or weighted_clusters is required");
  }
  if (tcp_proxy.has_idle_timeout()) {
    XDS_ASSIGN_OR_RETURN(config::Millis idle,
                         ToMillis(tcp_proxy.idle_timeout(), FieldPath(path, "idle_timeout")));
    // 0 disables the idle timeout: represented as "no timeout".
    out.idle_timeout = DisabledIfZero(idle);
  }
  if (tcp_proxy.has_max_connect_attempts()) {
    if (tcp_proxy.max_connect_attempts().value() < 1) {
      return InvalidAt(FieldPath(path, "max_connect_attempts"), "must be >= 1");
    }
    out.max_connect_attempts_count = tcp_proxy.max_connect_attempts().value();
  }
  XDS_ASSIGN_OR_RETURN(
      out.access_logs,
      TranslateAccessLogs(tcp_proxy.access_log(), FieldPath(path, "access_log"), warnings));
  return out;
}

}  // namespace pilotfish::xds
