// ClusterLoadAssignment (inline load_assignment or EDS) -> config::Endpoint list.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "proxy/config/types.h"
#include "xds/translate/common_translate.h"

namespace pilotfish::xds {

// Translates every endpoint of `assignment` (addresses checked for `use`) and appends them to
// `out`. All-or-nothing: on error `out` is left as it was.
absl::Status TranslateLoadAssignment(
    const envoy::config::endpoint::v3::ClusterLoadAssignment& assignment, absl::string_view path,
    AddressUse use, std::vector<config::Endpoint>* out, std::vector<std::string>* warnings);

// EDS: replaces `*endpoints` with the assignment's endpoints (IP addresses or pipes only), or
// leaves them untouched and returns the error. Errors are prefixed with `path`, by default
// "ClusterLoadAssignment <cluster_name>".
absl::Status ApplyClusterLoadAssignment(
    const envoy::config::endpoint::v3::ClusterLoadAssignment& assignment,
    std::vector<config::Endpoint>* endpoints);
absl::Status ApplyClusterLoadAssignment(
    const envoy::config::endpoint::v3::ClusterLoadAssignment& assignment,
    std::vector<config::Endpoint>* endpoints, const std::string& path,
    std::vector<std::string>* warnings);

}  // namespace pilotfish::xds
