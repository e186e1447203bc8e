// Per-request facts for logs, stats and local replies: timing, bytes, response flags.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "proxy/net/address.h"

namespace pilotfish::http {

// Envoy's response flags (the short names appear in access logs and metrics labels).
enum ResponseFlag : uint32_t {
  kNoFlags = 0,
  kFailedLocalHealthCheck = 1u << 0,            // LH
  kNoHealthyUpstream = 1u << 1,                 // UH
  kUpstreamRequestTimeout = 1u << 2,            // UT
  kLocalReset = 1u << 3,                        // LR
  kUpstreamRemoteReset = 1u << 4,               // UR
  kUpstreamConnectionFailure = 1u << 5,         // UF
  kUpstreamConnectionTermination = 1u << 6,     // UC
  kUpstreamOverflow = 1u << 7,                  // UO
  kNoRouteFound = 1u << 8,                      // NR
  kDelayInjected = 1u << 9,                     // DI
  kFaultInjected = 1u << 10,                    // FI
  kDownstreamConnectionTermination = 1u << 11,  // DC
  kUpstreamRetryLimitExceeded = 1u << 12,       // URX
  kStreamIdleTimeout = 1u << 13,                // SI
  kInvalidEnvoyRequestHeaders = 1u << 14,       // IH
  kDownstreamProtocolError = 1u << 15,          // DPE
  kUpstreamProtocolError = 1u << 16,            // UPE
  kNoClusterFound = 1u << 17,                   // NC
  kDurationTimeout = 1u << 18,                  // DT
};
// "UF,URX" style, or "-" when no flag is set (Envoy's access-log form).
std::string ResponseFlagsToString(uint32_t flags);

// Also the facts of a tcp_proxy session (no headers, no response code) for its access log.
struct StreamInfo {
  using MonotonicTime = std::chrono::steady_clock::time_point;
  std::chrono::system_clock::time_point start_time;
  MonotonicTime start_mono;
  uint32_t response_flags = 0;
  int response_code = 0;
  std::string response_code_details;
  std::string connection_termination_details;
  std::string route_name;
  std::string upstream_cluster;
  std::optional<net::Address> upstream_host;  // formatted only when a log asks
  std::optional<net::Address> upstream_local_address;
  std::string upstream_transport_failure_reason;
  uint32_t attempt_count = 0;  // upstream attempts (HTTP) or connect attempts (TCP)
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  // Timing for the access log's durations; a default (zero) time point: never happened.
  MonotonicTime last_downstream_rx;
  MonotonicTime first_upstream_tx;
  MonotonicTime last_upstream_tx;
  MonotonicTime first_upstream_rx;
  MonotonicTime last_downstream_tx;
  MonotonicTime end;  // the stream (or TCP session) finished: complete or reset
  void SetFlag(ResponseFlag f) { response_flags |= f; }
};

}  // namespace pilotfish::http
