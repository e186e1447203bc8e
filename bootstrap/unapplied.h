// Config that translates cleanly but that the runtime does not apply yet: each use becomes a
// warning naming the field, so nothing is ignored silently. Shrinks as features land.
#pragma once

#include <string>
#include <vector>

#include "proxy/config/types.h"

namespace pilotfish::bootstrap {

void WarnUnappliedRouteFeatures(const config::RouteConfiguration& routes, const std::string& path,
                                std::vector<std::string>* warnings);
void WarnUnappliedClusterFeatures(const config::Cluster& cluster, const std::string& path,
                                  std::vector<std::string>* warnings);

}  // namespace pilotfish::bootstrap
