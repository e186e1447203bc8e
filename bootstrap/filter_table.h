// The plain table of network and HTTP filters pilotfish implements, keyed by type URL; turns a
// listener filter's typed_config (and routes' per-filter configs) into runtime objects (no
// static self-registration).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "proxy/config/types.h"
#include "proxy/net/filter.h"

namespace pilotfish::bootstrap {

absl::StatusOr<net::NetworkFilterFactorySharedPtr> CreateNetworkFilter(
    const std::string& filter_name, const google::protobuf::Any& typed_config,
    const std::string& path, std::vector<std::string>* warnings);

// Replaces every virtual host's and route's typed_per_filter_config payload (an AnyConfig from
// translation) with the parsed config of the HTTP filter its type names (fault), unwrapping
// envoy.config.route.v3.FilterConfig. A type pilotfish does not implement is an error naming
// the entry, unless wrapped with is_optional (then dropped with a warning). `path` is where the
// RouteConfiguration sits.
absl::Status ResolvePerFilterConfigs(config::RouteConfiguration* routes, const std::string& path,
                                     std::vector<std::string>* warnings);

}  // namespace pilotfish::bootstrap
