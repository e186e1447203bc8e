// The plain table of network and HTTP filters pilotfish implements, keyed by type URL; turns a
// listener filter's typed_config into its runtime factory (no static self-registration).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "proxy/net/filter.h"

namespace pilotfish::bootstrap {

absl::StatusOr<net::NetworkFilterFactorySharedPtr> CreateNetworkFilter(
    const std::string& filter_name, const google::protobuf::Any& typed_config,
    const std::string& path, std::vector<std::string>* warnings);

}  // namespace pilotfish::bootstrap
