// Response flag names, in Envoy's order.
#include "proxy/http/stream_info.h"

namespace pilotfish::http {

std::string ResponseFlagsToString(uint32_t flags) {
  static const std::pair<ResponseFlag, const char*> kNames[] = {
      {kFailedLocalHealthCheck, "LH"},
      {kNoHealthyUpstream, "UH"},
      {kUpstreamRequestTimeout, "UT"},
      {kLocalReset, "LR"},
      {kUpstreamRemoteReset, "UR"},
      {kUpstreamConnectionFailure, "UF"},
      {kUpstreamConnectionTermination, "UC"},
      {kUpstreamOverflow, "UO"},
      {kNoRouteFound, "NR"},
      {kDelayInjected, "DI"},
      {kFaultInjected, "FI"},
      {kDownstreamConnectionTermination, "DC"},
      {kUpstreamRetryLimitExceeded, "URX"},
      {kStreamIdleTimeout, "SI"},
      {kInvalidEnvoyRequestHeaders, "IH"},
      {kDownstreamProtocolError, "DPE"},
      {kUpstreamProtocolError, "UPE"},
      {kNoClusterFound, "NC"},
      {kDurationTimeout, "DT"},
  };
  std::string out;
  for (const auto& [flag, name] : kNames) {
    if ((flags & flag) == 0) continue;
    if (!out.empty()) out.push_back(',');
    out += name;
  }
  return out.empty() ? "-" : out;
}

}  // namespace pilotfish::http
