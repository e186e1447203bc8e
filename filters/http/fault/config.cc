// HTTPFault parsing and validation, and the fault decisions; see config.h.
#include "filters/http/fault/config.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "proxy/common/str_util.h"
#include "xds/translate/common_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/matcher_translate.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::filters::fault {
namespace {

using envoy::extensions::filters::http::fault::v3::FaultAbort;
using envoy::extensions::filters::http::fault::v3::HTTPFault;
using xds::FieldPath;
using xds::InvalidAt;

constexpr char kNotYet[] = "not supported by pilotfish yet";

absl::StatusOr<Fraction> ParseFraction(const envoy::type::v3::FractionalPercent& proto,
                                       absl::string_view path) {
  Fraction out;
  out.numerator = proto.numerator();
  switch (proto.denominator()) {
    case envoy::type::v3::FractionalPercent::HUNDRED:
      out.denominator = 100;
      break;
    case envoy::type::v3::FractionalPercent::TEN_THOUSAND:
      out.denominator = 10000;
      break;
    case envoy::type::v3::FractionalPercent::MILLION:
      out.denominator = 1000000;
      break;
    default:
      return InvalidAt(FieldPath(path, "denominator"), "unknown denominator");
  }
  return out;
}

absl::StatusOr<FaultConfig::Delay> ParseDelay(
    const envoy::extensions::filters::common::fault::v3::FaultDelay& proto,
    absl::string_view path) {
  using envoy::extensions::filters::common::fault::v3::FaultDelay;
  XDS_RETURN_IF_ERROR(
      xds::CheckFields(proto, path, {.handled = {"fixed_delay", "header_delay", "percentage"}}));
  FaultConfig::Delay out;
  switch (proto.fault_delay_secifier_case()) {
    case FaultDelay::kFixedDelay: {
      XDS_ASSIGN_OR_RETURN(
          out.fixed, xds::ToPositiveMillis(proto.fixed_delay(), FieldPath(path, "fixed_delay")));
      break;
    }
    case FaultDelay::kHeaderDelay:
      break;
    default:
      return InvalidAt(path, "one of fixed_delay or header_delay is required");
  }
  XDS_ASSIGN_OR_RETURN(out.percentage,
                       ParseFraction(proto.percentage(), FieldPath(path, "percentage")));
  return out;
}

absl::StatusOr<FaultConfig::Abort> ParseAbort(const FaultAbort& proto, absl::string_view path) {
  XDS_RETURN_IF_ERROR(xds::CheckFields(
      proto, path, {.handled = {"http_status", "grpc_status", "header_abort", "percentage"}}));
  FaultConfig::Abort out;
  switch (proto.error_type_case()) {
    case FaultAbort::kHttpStatus:
      if (proto.http_status() < 200 || proto.http_status() >= 600) {
        return InvalidAt(FieldPath(path, "http_status"),
                         absl::StrCat("must be in [200, 600), got ", proto.http_status()));
      }
      out.http_status = proto.http_status();
      break;
    case FaultAbort::kHeaderAbort:
      break;
    case FaultAbort::kGrpcStatus:
      // A gRPC abort is a trailers-only gRPC local reply, which the HCM does not produce yet.
      return InvalidAt(FieldPath(path, "grpc_status"), kNotYet);
    default:
      return InvalidAt(path, "one of http_status, grpc_status or header_abort is required");
  }
  XDS_ASSIGN_OR_RETURN(out.percentage,
                       ParseFraction(proto.percentage(), FieldPath(path, "percentage")));
  return out;
}

// The header's numerator caps the configured one, keeping its denominator (Envoy's
// HeaderPercentageProvider); an absent or malformed header leaves the configured value.
Fraction HeaderPercentage(const http::RequestHeaders& headers, std::string_view name,
                          Fraction configured) {
  const std::string* value = headers.headers.Get(name);
  uint32_t numerator = 0;
  if (value == nullptr || !ParseInt(*value, &numerator)) return configured;
  configured.numerator = std::min(numerator, configured.numerator);
  return configured;
}

}  // namespace

bool FaultConfig::Matches(const http::RequestHeaders& request,
                          const router::CompiledRoute* route) const {
  if (!upstream_cluster.empty()) {
    // Envoy compares the route entry's cluster name; a weighted pick happens later, in the
    // router, so weighted_clusters routes never match here (bootstrap warns about them).
    if (route == nullptr || route->config().kind != config::Route::Kind::kRoute) return false;
    const config::RouteAction& action = route->config().route;
    if (!action.cluster.empty()) {
      if (action.cluster != upstream_cluster) return false;
    } else if (!action.cluster_header->empty()) {
      const std::string* value = request.GetAny(*action.cluster_header);
      if (value == nullptr || *value != upstream_cluster) return false;
    } else {
      return false;
    }
  }
  if (!downstream_nodes.empty()) {
    const std::string* node = request.headers.Get(kDownstreamNodeHeader);
    if (node == nullptr || std::find(downstream_nodes.begin(), downstream_nodes.end(), *node) ==
                               downstream_nodes.end()) {
      return false;
    }
  }
  for (const router::HeaderMatcherImpl& m : headers) {
    if (!m.Matches(request)) return false;
  }
  return true;
}

std::optional<std::chrono::milliseconds> FaultConfig::DelayFor(const http::RequestHeaders& request,
                                                               uint64_t random) const {
  if (!delay) return std::nullopt;
  const Fraction percentage =
      delay->fixed ? delay->percentage
                   : HeaderPercentage(request, kDelayPercentageHeader, delay->percentage);
  if (!percentage.Hit(random)) return std::nullopt;
  std::chrono::milliseconds duration{0};
  if (delay->fixed) {
    duration = *delay->fixed;
  } else {
    const std::string* value = request.headers.Get(kDelayRequestHeader);
    int64_t ms = 0;
    if (value == nullptr || !ParseInt(*value, &ms)) return std::nullopt;
    duration = std::chrono::milliseconds(ms);
  }
  if (duration.count() <= 0) return std::nullopt;  // Envoy delays only for > 0 ms
  return duration;
}

std::optional<int> FaultConfig::AbortFor(const http::RequestHeaders& request,
                                         uint64_t random) const {
  if (!abort) return std::nullopt;
  const bool from_header = abort->http_status == 0;
  const Fraction percentage =
      from_header ? HeaderPercentage(request, kAbortPercentageHeader, abort->percentage)
                  : abort->percentage;
  if (!percentage.Hit(random)) return std::nullopt;
  if (!from_header) return static_cast<int>(abort->http_status);
  const std::string* value = request.headers.Get(kAbortRequestHeader);
  int status = 0;
  if (value == nullptr || !ParseInt(*value, &status) || status < 200 || status >= 600) {
    return std::nullopt;
  }
  return status;
}

absl::StatusOr<FaultConfigSharedPtr> ParseFaultConfig(const HTTPFault& proto,
                                                      const std::string& path,
                                                      std::vector<std::string>* warnings) {
  if (proto.has_response_rate_limit()) {
    // Throttles the response body: needs the response path (encoder filters).
    return InvalidAt(FieldPath(path, "response_rate_limit"), kNotYet);
  }
  // The *_runtime fields name runtime keys that override the configured values; pilotfish has
  // no runtime layer, so the configured values apply, as in Envoy when the keys are unset.
  // disable_downstream_cluster_stats only shapes stats names.
  XDS_RETURN_IF_ERROR(xds::CheckFields(
      proto, path,
      {.handled = {"delay", "abort", "upstream_cluster", "headers", "downstream_nodes",
                   "max_active_faults", "delay_percent_runtime", "abort_percent_runtime",
                   "delay_duration_runtime", "abort_http_status_runtime",
                   "max_active_faults_runtime", "response_rate_limit_percent_runtime",
                   "abort_grpc_status_runtime", "disable_downstream_cluster_stats"},
       .ignored = {"filter_metadata"}},
      warnings));
  auto out = std::make_shared<FaultConfig>();
  if (proto.has_delay()) {
    XDS_ASSIGN_OR_RETURN(out->delay, ParseDelay(proto.delay(), FieldPath(path, "delay")));
  }
  if (proto.has_abort()) {
    XDS_ASSIGN_OR_RETURN(out->abort, ParseAbort(proto.abort(), FieldPath(path, "abort")));
  }
  out->upstream_cluster = proto.upstream_cluster();
  for (int i = 0; i < proto.headers_size(); ++i) {
    const std::string p = xds::IndexPath(path, "headers", i);
    XDS_ASSIGN_OR_RETURN(config::HeaderMatcher matcher,
                         xds::TranslateHeaderMatcher(proto.headers(i), p));
    auto compiled = router::HeaderMatcherImpl::Create(matcher);
    if (!compiled.ok()) return InvalidAt(p, compiled.status().message());
    out->headers.push_back(std::move(*compiled));
  }
  out->downstream_nodes.assign(proto.downstream_nodes().begin(), proto.downstream_nodes().end());
  if (proto.has_max_active_faults()) out->max_active_faults = proto.max_active_faults().value();
  return out;
}

absl::StatusOr<FaultConfigSharedPtr> ParseFaultConfig(const config::AnyConfig* any,
                                                      const std::string& path,
                                                      std::vector<std::string>* warnings) {
  HTTPFault proto;
  if (any != nullptr) {
    google::protobuf::Any packed;
    packed.set_type_url(any->type_url);
    packed.set_value(any->value);
    XDS_RETURN_IF_ERROR(xds::UnpackAny(packed, &proto, path));
  }
  return ParseFaultConfig(proto, path, warnings);
}

}  // namespace pilotfish::filters::fault
