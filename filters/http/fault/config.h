// The HTTP fault filter's settings (envoy.extensions.filters.http.fault.v3.HTTPFault), parsed
// once at config time, and the per-request decisions (match, delay, abort) made from them.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "proxy/config/types.h"
#include "proxy/http/header_map.h"
#include "proxy/router/route_table.h"

namespace pilotfish::filters::fault {

// Request headers that drive header_delay / header_abort faults (Envoy's names).
inline constexpr std::string_view kDelayRequestHeader = "x-envoy-fault-delay-request";
inline constexpr std::string_view kDelayPercentageHeader = "x-envoy-fault-delay-request-percentage";
inline constexpr std::string_view kAbortRequestHeader = "x-envoy-fault-abort-request";
inline constexpr std::string_view kAbortPercentageHeader = "x-envoy-fault-abort-request-percentage";
inline constexpr std::string_view kDownstreamNodeHeader = "x-envoy-downstream-service-node";

// Envoy's FractionalPercent. An unset percentage is 0/100: that fault never fires.
struct Fraction {
  uint32_t numerator = 0;
  uint32_t denominator = 100;  // 100, 10000 or 1000000
  // Envoy's draw: `random % denominator < numerator` (so numerator >= denominator always hits).
  bool Hit(uint64_t random) const { return random % denominator < numerator; }
};

class FaultConfig : public config::PerFilterConfig {
 public:
  struct Delay {
    std::optional<std::chrono::milliseconds> fixed;  // unset: header_delay
    Fraction percentage;
  };
  struct Abort {
    uint32_t http_status = 0;  // 0: header_abort
    Fraction percentage;
  };

  std::optional<Delay> delay;
  std::optional<Abort> abort;
  std::string upstream_cluster;
  std::vector<router::HeaderMatcherImpl> headers;
  std::vector<std::string> downstream_nodes;
  uint64_t max_active_faults = std::numeric_limits<uint64_t>::max();  // unset: unlimited

  // Whether faults apply to this request at all: upstream_cluster (the route's cluster or
  // cluster_header value), downstream_nodes and headers, in Envoy's order.
  bool Matches(const http::RequestHeaders& headers, const router::CompiledRoute* route) const;
  // The delay to inject, `random` deciding the percentage draw; nullopt: none.
  std::optional<std::chrono::milliseconds> DelayFor(const http::RequestHeaders& headers,
                                                    uint64_t random) const;
  // The HTTP status to abort with, `random` deciding the percentage draw; nullopt: none.
  std::optional<int> AbortFor(const http::RequestHeaders& headers, uint64_t random) const;
};
using FaultConfigSharedPtr = std::shared_ptr<const FaultConfig>;

// Validates and parses an HTTPFault; errors and warnings name fields below `path`.
absl::StatusOr<FaultConfigSharedPtr> ParseFaultConfig(
    const envoy::extensions::filters::http::fault::v3::HTTPFault& proto, const std::string& path,
    std::vector<std::string>* warnings);
// Same, from a translated typed_config (`any` null: an empty HTTPFault, as Envoy treats a fault
// filter named without a typed_config).
absl::StatusOr<FaultConfigSharedPtr> ParseFaultConfig(const config::AnyConfig* any,
                                                      const std::string& path,
                                                      std::vector<std::string>* warnings);

}  // namespace pilotfish::filters::fault
