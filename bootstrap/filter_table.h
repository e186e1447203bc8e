// The plain table of network and HTTP filters pilotfish implements, keyed by type URL; turns a
// listener filter's typed_config (and routes' per-filter configs) into runtime objects (no
// static self-registration).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "google/protobuf/any.pb.h"
#include "proxy/config/hcm.h"
#include "proxy/config/types.h"
#include "proxy/net/filter.h"
#include "proxy/router/route_table.h"
#include "xds/translate/listener_translate.h"

namespace pilotfish::bootstrap {

// Facts about this proxy the filters read at config time.
struct FilterContext {
  envoy::config::core::v3::Node node;  // identity (Istio's metadata labels its metrics)
  // From the bootstrap's runtime flags (xds::PathFragmentFromRuntime), for every HCM.
  config::PathFragment path_fragment = config::PathFragment::kReject;
};

// `rds` (may be null) collects the route config of an HCM that uses RDS.
// `observers`: the non-terminal filters before this one in its chain (Istio's stats).
absl::StatusOr<net::NetworkFilterFactorySharedPtr> CreateNetworkFilter(
    const std::string& filter_name, const google::protobuf::Any& typed_config,
    const std::string& path, std::vector<std::string>* warnings,
    std::vector<config::RdsRef>* rds = nullptr,
    const std::vector<xds::NetworkFilterRef>& observers = {}, const FilterContext& context = {});

// An RDS RouteConfiguration -> its compiled table: translation, per-filter configs resolved,
// regexes compiled. `path` prefixes errors (e.g. "RouteConfiguration local_route").
absl::StatusOr<::pilotfish::router::RouteTableSharedPtr> CompileRouteConfiguration(
    const envoy::config::route::v3::RouteConfiguration& proto, const std::string& path,
    std::vector<std::string>* warnings);

// Replaces every virtual host's and route's typed_per_filter_config payload (an AnyConfig from
// translation) with the parsed config of the HTTP filter its type names (fault), unwrapping
// envoy.config.route.v3.FilterConfig. A type pilotfish does not implement is an error naming
// the entry, unless wrapped with is_optional (then dropped with a warning). `path` is where the
// RouteConfiguration sits.
absl::Status ResolvePerFilterConfigs(config::RouteConfiguration* routes, const std::string& path,
                                     std::vector<std::string>* warnings);

}  // namespace pilotfish::bootstrap
