// Access log filters (status_code_filter, duration_filter, not_health_check_filter,
// response_flag_filter, and_filter, or_filter), compiled once from config::AccessLogFilter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/access_log/log_context.h"
#include "proxy/config/hcm.h"

namespace pilotfish::access_log {

class Filter {
 public:
  // Flag names Envoy accepts but pilotfish never sets (RL, UAEX, ...) never match; names Envoy
  // does not know are an error.
  static absl::StatusOr<Filter> Create(const config::AccessLogFilter& config);

  // Whether the stream is logged.
  bool Evaluate(const LogContext& ctx) const;

 private:
  using Kind = config::AccessLogFilter::Kind;
  using Op = config::AccessLogFilter::Op;
  Filter() = default;
  bool Compare(uint64_t actual) const;

  Kind kind_ = Kind::kStatusCode;
  Op op_ = Op::kEq;
  uint32_t value_ = 0;
  uint32_t flags_ = 0;     // kResponseFlag: ResponseFlag bits
  bool any_flag_ = false;  // kResponseFlag with no names: any flag set
  std::vector<Filter> children_;
};

// Whether Envoy's ResponseFlagFilter accepts `name` (its validation list).
bool IsEnvoyResponseFlagName(std::string_view name);

}  // namespace pilotfish::access_log
