// Access log filter evaluation; see filter.h.
#include "proxy/access_log/filter.h"

#include <chrono>
#include <utility>

namespace pilotfish::access_log {
namespace {

struct FlagName {
  std::string_view name;
  uint32_t bit;  // 0: a flag pilotfish never sets
};

// Envoy's ResponseFlagFilter list, with the bits pilotfish tracks (proxy/http/stream_info.h).
constexpr FlagName kFlagNames[] = {
    {"LH", http::kFailedLocalHealthCheck},
    {"UH", http::kNoHealthyUpstream},
    {"UT", http::kUpstreamRequestTimeout},
    {"LR", http::kLocalReset},
    {"UR", http::kUpstreamRemoteReset},
    {"UF", http::kUpstreamConnectionFailure},
    {"UC", http::kUpstreamConnectionTermination},
    {"UO", http::kUpstreamOverflow},
    {"NR", http::kNoRouteFound},
    {"DI", http::kDelayInjected},
    {"FI", http::kFaultInjected},
    {"RL", 0},
    {"UAEX", 0},
    {"RLSE", 0},
    {"DC", http::kDownstreamConnectionTermination},
    {"URX", http::kUpstreamRetryLimitExceeded},
    {"SI", http::kStreamIdleTimeout},
    {"IH", http::kInvalidEnvoyRequestHeaders},
    {"DPE", http::kDownstreamProtocolError},
    {"UMSDR", 0},
    {"RFCF", 0},
    {"NFCF", 0},
    {"DT", http::kDurationTimeout},
    {"UPE", http::kUpstreamProtocolError},
    {"NC", http::kNoClusterFound},
    {"OM", 0},
    {"DF", 0},
    {"DO", 0},
    {"DR", 0},
};

const FlagName* FindFlag(std::string_view name) {
  for (const FlagName& f : kFlagNames) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

bool IsEnvoyResponseFlagName(std::string_view name) { return FindFlag(name) != nullptr; }

absl::StatusOr<Filter> Filter::Create(const config::AccessLogFilter& config) {
  Filter f;
  f.kind_ = config.kind;
  f.op_ = config.op;
  f.value_ = config.value;
  if (config.kind == Kind::kResponseFlag) {
    f.any_flag_ = config.flags.empty();
    for (const std::string& name : config.flags) {
      const FlagName* flag = FindFlag(name);
      if (flag == nullptr) {
        return absl::InvalidArgumentError("unknown response flag '" + name + "'");
      }
      f.flags_ |= flag->bit;
    }
  }
  for (const config::AccessLogFilter& child : config.filters) {
    auto c = Create(child);
    if (!c.ok()) return c.status();
    f.children_.push_back(*std::move(c));
  }
  return f;
}

bool Filter::Compare(uint64_t actual) const {
  switch (op_) {
    case Op::kEq:
      return actual == value_;
    case Op::kGe:
      return actual >= value_;
    case Op::kLe:
      return actual <= value_;
  }
  return false;
}

bool Filter::Evaluate(const LogContext& ctx) const {
  const http::StreamInfo& info = ctx.info;
  switch (kind_) {
    case Kind::kStatusCode:
      return Compare(info.response_code > 0 ? static_cast<uint64_t>(info.response_code) : 0);
    case Kind::kDuration: {
      if (info.end.time_since_epoch().count() == 0) return false;
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(info.end - info.start_mono);
      return Compare(static_cast<uint64_t>(ms.count()));
    }
    case Kind::kNotHealthCheck:  // pilotfish has no health check filter: never a health check
      return true;
    case Kind::kResponseFlag:
      return any_flag_ ? info.response_flags != 0 : (info.response_flags & flags_) != 0;
    case Kind::kAnd:
      for (const Filter& c : children_) {
        if (!c.Evaluate(ctx)) return false;
      }
      return true;
    case Kind::kOr:
      for (const Filter& c : children_) {
        if (c.Evaluate(ctx)) return true;
      }
      return false;
  }
  return false;
}

}  // namespace pilotfish::access_log
