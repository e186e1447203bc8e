// The bootstrap's layered_runtime: Envoy's runtime values as text, and the few flags pilotfish
// honours from its static layers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "google/protobuf/struct.pb.h"
#include "proxy/config/hcm.h"

namespace pilotfish::xds {

// A runtime layer's Struct as Envoy reads it: nested keys joined with '.', values as text
// ("true"/"false", numbers in their shortest form), into `out` (existing keys overwritten).
void FlattenRuntimeLayer(const google::protobuf::Struct& layer, const std::string& prefix,
                         std::map<std::string, std::string>* out);

// What a '#fragment' in a request path gets, from Envoy's two runtime flags in the bootstrap's
// static layers (later layers win): envoy.reloadable_features.http_reject_path_with_fragment
// (default true: 400) and, when that is false,
// envoy.reloadable_features.http_strip_fragment_from_path_unsafe_if_disabled (default true:
// strip; false: keep). Istio's bootstrap sets the first to false, so istio-proxy strips.
config::PathFragment PathFragmentFromRuntime(const envoy::config::bootstrap::v3::Bootstrap& b);

// Warns (path "layered_runtime") about what of the runtime has no effect: keys other than the
// two above, and disk and RTDS layers (never loaded).
void WarnUnappliedRuntime(const envoy::config::bootstrap::v3::LayeredRuntime& runtime,
                          std::vector<std::string>* warnings);

}  // namespace pilotfish::xds
