// Route actions: forward, redirect, direct response; see route_action_translate.h.
#include "xds/translate/route_action_translate.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "xds/translate/common_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/matcher_translate.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

using envoy::config::route::v3::RouteAction;

// HTTP and gRPC retry conditions Envoy understands (router's retry_state).
constexpr absl::string_view kRetryOnTokens[] = {
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "envoy-ratelimited",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
};

bool KnownRetryOn(absl::string_view token) {
  for (absl::string_view known : kRetryOnTokens) {
    if (known == token) return true;
  }
  return false;
}

absl::Status TranslateHeaderMatchers(
    const google::protobuf::RepeatedPtrField<envoy::config::route::v3::HeaderMatcher>& in,
    absl::string_view path, absl::string_view field, std::vector<config::HeaderMatcher>* out) {
  for (int i = 0; i < in.size(); ++i) {
    XDS_ASSIGN_OR_RETURN(config::HeaderMatcher m,
                         TranslateHeaderMatcher(in[i], IndexPath(path, field, i)));
    out->push_back(std::move(m));
  }
  return absl::OkStatus();
}

// nullopt: a policy that hashes nothing (connection_properties with source_ip false).
absl::StatusOr<std::optional<config::HashPolicy>> TranslateHashPolicy(
    const RouteAction::HashPolicy& policy, absl::string_view path) {
  XDS_RETURN_IF_ERROR(CheckFields(policy, path,
                                  {.handled = {"header", "cookie", "connection_properties",
                                               "query_parameter", "filter_state", "terminal"}}));
  config::HashPolicy out;
  out.terminal = policy.terminal();
  switch (policy.policy_specifier_case()) {
    case RouteAction::HashPolicy::kHeader: {
      const std::string p = FieldPath(path, "header");
      XDS_RETURN_IF_ERROR(CheckFields(policy.header(), p, {.handled = {"header_name"}}));
      if (policy.header().header_name().empty()) {
        return InvalidAt(FieldPath(p, "header_name"), "must not be empty");
      }
      out.kind = config::HashPolicy::Kind::kHeader;
      out.name = absl::AsciiStrToLower(policy.header().header_name());
      break;
    }
    case RouteAction::HashPolicy::kCookie: {
      const std::string p = FieldPath(path, "cookie");
      XDS_RETURN_IF_ERROR(CheckFields(policy.cookie(), p, {.handled = {"name", "ttl", "path"}}));
      if (policy.cookie().name().empty())
        return InvalidAt(FieldPath(p, "name"), "must not be empty");
      out.kind = config::HashPolicy::Kind::kCookie;
      out.name = policy.cookie().name();
      out.cookie_path = policy.cookie().path();
      if (policy.cookie().has_ttl()) {
        XDS_ASSIGN_OR_RETURN(out.cookie_ttl, ToMillis(policy.cookie().ttl(), FieldPath(p, "ttl")));
      }
      break;
    }
    case RouteAction::HashPolicy::kConnectionProperties:
      XDS_RETURN_IF_ERROR(CheckFields(policy.connection_properties(),
                                      FieldPath(path, "connection_properties"),
                                      {.handled = {"source_ip"}}));
      if (!policy.connection_properties().source_ip()) return std::nullopt;
      out.kind = config::HashPolicy::Kind::kSourceIp;
      break;
    case RouteAction::HashPolicy::kQueryParameter:
      XDS_RETURN_IF_ERROR(CheckFields(policy.query_parameter(), FieldPath(path, "query_parameter"),
                                      {.handled = {"name"}}));
      if (policy.query_parameter().name().empty()) {
        return InvalidAt(FieldPath(path, "query_parameter.name"), "must not be empty");
      }
      out.kind = config::HashPolicy::Kind::kQueryParameter;
      out.name = policy.query_parameter().name();
      break;
    case RouteAction::HashPolicy::kFilterState:
      XDS_RETURN_IF_ERROR(CheckFields(policy.filter_state(), FieldPath(path, "filter_state"),
                                      {.handled = {"key"}}));
      out.kind = config::HashPolicy::Kind::kFilterState;
      out.name = policy.filter_state().key();
      break;
    default:
      return InvalidAt(path,
                       "one of header, cookie, connection_properties, query_parameter or "
                       "filter_state is required");
  }
  return out;
}

absl::Status TranslateWeightedClusters(const envoy::config::route::v3::WeightedCluster& weighted,
                                       absl::string_view path, config::RouteAction* out,
                                       std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(CheckFields(
      weighted, path, {.handled = {"clusters", "total_weight"}, .ignored = {"runtime_key_prefix"}},
      warnings));
  if (weighted.clusters().empty())
    return InvalidAt(FieldPath(path, "clusters"), "must not be empty");
  uint64_t sum = 0;
  for (int i = 0; i < weighted.clusters_size(); ++i) {
    const auto& cw = weighted.clusters(i);
    const std::string p = IndexPath(path, "clusters", i);
    XDS_RETURN_IF_ERROR(CheckFields(
        cw, p,
        {.handled = {"name", "weight", "request_headers_to_add", "request_headers_to_remove",
                     "response_headers_to_add", "response_headers_to_remove"}}));
    if (cw.name().empty()) return InvalidAt(FieldPath(p, "name"), "must not be empty");
    config::WeightedClusterEntry entry;
    entry.name = cw.name();
    entry.weight = cw.weight().value();
    XDS_RETURN_IF_ERROR(TranslateHeaderMutations(cw, p, &entry.headers));
    sum += entry.weight;
    out->weighted_clusters.push_back(std::move(entry));
  }
  if (sum == 0) return InvalidAt(path, "the sum of the cluster weights must be greater than 0");
  if (sum > UINT32_MAX) return InvalidAt(path, "the sum of the cluster weights exceeds 2^32-1");
// total_weight is deprecated (Envoy uses the sum) but when given it must agree with it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  if (weighted.has_total_weight() && weighted.total_weight().value() != sum) {
    return InvalidAt(FieldPath(path, "total_weight"),
                     absl::StrCat("is ", weighted.total_weight().value(),
                                  " but the cluster weights add up to ", sum));
  }
#pragma GCC diagnostic pop
  return absl::OkStatus();
}

// Envoy reads max_grpc_timeout / grpc_timeout_offset (deprecated) and max_stream_duration to
// honour the grpc-timeout request header; pilotfish accepts only the "no cap" values.
absl::Status CheckGrpcTimeouts(const RouteAction& action, absl::string_view path,
                               std::vector<std::string>* warnings) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  if (action.has_max_grpc_timeout()) {
    Warn(warnings, FieldPath(path, "max_grpc_timeout"),
         "ignored by pilotfish (the grpc-timeout header is not honoured yet)");
  }
  if (action.has_grpc_timeout_offset()) {
    Warn(warnings, FieldPath(path, "grpc_timeout_offset"),
         "ignored by pilotfish (the grpc-timeout header is not honoured yet)");
  }
#pragma GCC diagnostic pop
  if (action.has_max_stream_duration()) {
    const std::string p = FieldPath(path, "max_stream_duration");
    const auto& msd = action.max_stream_duration();
    XDS_RETURN_IF_ERROR(CheckFields(msd, p,
                                    {.handled = {"max_stream_duration", "grpc_timeout_header_max",
                                                 "grpc_timeout_header_offset"}}));
    XDS_ASSIGN_OR_RETURN(config::Millis max,
                         ToMillis(msd.max_stream_duration(), FieldPath(p, "max_stream_duration")));
    if (max.count() != 0) {
      return NotSupported(FieldPath(p, "max_stream_duration"), "only 0s (disabled)");
    }
    if (msd.has_grpc_timeout_header_max() || msd.has_grpc_timeout_header_offset()) {
      Warn(warnings, p, "grpc_timeout_header_* ignored by pilotfish (grpc-timeout not honoured)");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<config::RetryPolicy> TranslateRetryPolicy(
    const envoy::config::route::v3::RetryPolicy& policy, absl::string_view path) {
  XDS_RETURN_IF_ERROR(
      CheckFields(policy, path,
                  {.handled = {"retry_on", "num_retries", "per_try_timeout", "per_try_idle_timeout",
                               "retry_host_predicate", "host_selection_retry_max_attempts",
                               "retriable_status_codes", "retry_back_off", "retriable_headers",
                               "retriable_request_headers"}}));
  config::RetryPolicy out;
  for (absl::string_view token : absl::StrSplit(policy.retry_on(), ',')) {
    token = absl::StripAsciiWhitespace(token);
    if (token.empty()) continue;
    if (!KnownRetryOn(token)) {
      return InvalidAt(FieldPath(path, "retry_on"),
                       absl::StrCat("unknown retry condition '", token, "'"));
    }
    out.retry_on.emplace_back(token);
  }
  if (policy.has_num_retries()) out.num_retries = policy.num_retries().value();
  if (policy.has_per_try_timeout()) {
    XDS_ASSIGN_OR_RETURN(out.per_try_timeout,
                         ToMillis(policy.per_try_timeout(), FieldPath(path, "per_try_timeout")));
  }
  if (policy.has_per_try_idle_timeout()) {
    XDS_ASSIGN_OR_RETURN(
        out.per_try_idle_timeout,
        ToMillis(policy.per_try_idle_timeout(), FieldPath(path, "per_try_idle_timeout")));
  }
  for (int i = 0; i < policy.retry_host_predicate_size(); ++i) {
    const auto& predicate = policy.retry_host_predicate(i);
    const std::string p = IndexPath(path, "retry_host_predicate", i);
    XDS_RETURN_IF_ERROR(CheckFields(predicate, p, {.handled = {"name", "typed_config"}}));
    const bool previous_hosts =
        predicate.has_typed_config()
            ? TypeNameOf(predicate.typed_config()) == kPreviousHostsType
            : predicate.name() == "envoy.retry_host_predicates.previous_hosts";
    if (!previous_hosts) {
      return NotSupported(
          p, absl::StrCat("retry host predicate ",
                          predicate.has_typed_config() ? predicate.typed_config().type_url()
                                                       : predicate.name(),
                          "; only envoy.retry_host_predicates.previous_hosts"));
    }
    out.previous_hosts_predicate = true;
  }
  if (policy.host_selection_retry_max_attempts() != 0) {
    out.host_selection_retry_max_attempts = policy.host_selection_retry_max_attempts();
  }
  for (int i = 0; i < policy.retriable_status_codes_size(); ++i) {
    const uint32_t code = policy.retriable_status_codes(i);
    if (code < 100 || code > 599) {
      return InvalidAt(IndexPath(path, "retriable_status_codes", i),
                       absl::StrCat(code, " is not an HTTP status code"));
    }
    out.retriable_status_codes.push_back(code);
  }
  if (policy.has_retry_back_off()) {
    const std::string p = FieldPath(path, "retry_back_off");
    const auto& backoff = policy.retry_back_off();
    XDS_RETURN_IF_ERROR(CheckFields(backoff, p, {.handled = {"base_interval", "max_interval"}}));
    XDS_ASSIGN_OR_RETURN(out.base_interval,
                         ToPositiveMillis(backoff.base_interval(), FieldPath(p, "base_interval")));
    if (backoff.has_max_interval()) {
      XDS_ASSIGN_OR_RETURN(config::Millis max,
                           ToPositiveMillis(backoff.max_interval(), FieldPath(p, "max_interval")));
      if (max < out.base_interval) {
        return InvalidAt(FieldPath(p, "max_interval"),
                         "must be greater than or equal to base_interval");
      }
      out.max_interval = max;
    }
  }
  XDS_RETURN_IF_ERROR(TranslateHeaderMatchers(policy.retriable_headers(), path, "retriable_headers",
                                              &out.retriable_headers));
  XDS_RETURN_IF_ERROR(TranslateHeaderMatchers(policy.retriable_request_headers(), path,
                                              "retriable_request_headers",
                                              &out.retriable_request_headers));
  return out;
}

absl::StatusOr<std::vector<config::RequestMirrorPolicy>> TranslateMirrorPolicies(
    const google::protobuf::RepeatedPtrField<RouteAction::RequestMirrorPolicy>& policies,
    absl::string_view path) {
  std::vector<config::RequestMirrorPolicy> out;
  for (int i = 0; i < policies.size(); ++i) {
    const auto& policy = policies[i];
    const std::string p = absl::StrCat(path, "[", i, "]");
    // runtime_fraction.runtime_key and trace_sampled only matter with a runtime / tracing.
    XDS_RETURN_IF_ERROR(CheckFields(
        policy, p,
        {.handled = {"cluster", "cluster_header", "runtime_fraction", "trace_sampled"}}));
    config::RequestMirrorPolicy mirror;
    mirror.cluster = policy.cluster();
    mirror.cluster_header = absl::AsciiStrToLower(policy.cluster_header());
    if (mirror.cluster.empty() == mirror.cluster_header.empty()) {
      return InvalidAt(p, "exactly one of cluster and cluster_header is required");
    }
    if (policy.has_runtime_fraction()) {
      const std::string rp = FieldPath(p, "runtime_fraction");
      XDS_RETURN_IF_ERROR(CheckFields(policy.runtime_fraction(), rp,
                                      {.handled = {"default_value", "runtime_key"}}));
      XDS_ASSIGN_OR_RETURN(
          mirror.per_million,
          ToPerMillion(policy.runtime_fraction().default_value(), FieldPath(rp, "default_value")));
    }
    out.push_back(std::move(mirror));
  }
  return out;
}

absl::StatusOr<config::RouteAction> TranslateRouteAction(const RouteAction& action,
                                                         absl::string_view path,
                                                         std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(
      CheckFields(action, path,
                  {.handled = {"cluster", "cluster_header", "weighted_clusters", "prefix_rewrite",
                               "regex_rewrite", "host_rewrite_literal", "auto_host_rewrite",
                               "timeout", "idle_timeout", "retry_policy", "request_mirror_policies",
                               "hash_policy", "upgrade_configs", "max_grpc_timeout",
                               "grpc_timeout_offset", "max_stream_duration"}},
                  warnings));
  config::RouteAction out;
  switch (action.cluster_specifier_case()) {
    case RouteAction::kCluster:
      if (action.cluster().empty())
        return InvalidAt(FieldPath(path, "cluster"), "must not be empty");
      out.cluster = action.cluster();
      break;
    case RouteAction::kClusterHeader:
      if (action.cluster_header().empty()) {
        return InvalidAt(FieldPath(path, "cluster_header"), "must not be empty");
      }
      out.cluster_header = absl::AsciiStrToLower(action.cluster_header());
      break;
    case RouteAction::kWeightedClusters:
      XDS_RETURN_IF_ERROR(TranslateWeightedClusters(
          action.weighted_clusters(), FieldPath(path, "weighted_clusters"), &out, warnings));
      break;
    default:
      return InvalidAt(path, "one of cluster, cluster_header or weighted_clusters is required");
  }
  if (!action.prefix_rewrite().empty()) out.prefix_rewrite = action.prefix_rewrite();
  if (action.has_regex_rewrite()) {
    if (!out.prefix_rewrite->empty()) {
      return InvalidAt(path, "prefix_rewrite and regex_rewrite are mutually exclusive");
    }
    XDS_ASSIGN_OR_RETURN(
        out.regex_rewrite,
        TranslateRegexRewrite(action.regex_rewrite(), FieldPath(path, "regex_rewrite")));
  }
  if (!action.host_rewrite_literal().empty()) {
    out.host_rewrite_literal = action.host_rewrite_literal();
  }
  out.auto_host_rewrite = action.has_auto_host_rewrite() && action.auto_host_rewrite().value();
  if (action.has_timeout()) {
    XDS_ASSIGN_OR_RETURN(out.timeout, ToMillis(action.timeout(), FieldPath(path, "timeout")));
  }
  if (action.has_idle_timeout()) {
    XDS_ASSIGN_OR_RETURN(out.idle_timeout,
                         ToMillis(action.idle_timeout(), FieldPath(path, "idle_timeout")));
  }
  if (action.has_retry_policy()) {
    XDS_ASSIGN_OR_RETURN(out.retry_policy, TranslateRetryPolicy(action.retry_policy(),
                                                                FieldPath(path, "retry_policy")));
  }
  XDS_ASSIGN_OR_RETURN(std::vector<config::RequestMirrorPolicy> mirrors,
                       TranslateMirrorPolicies(action.request_mirror_policies(),
                                               FieldPath(path, "request_mirror_policies")));
  if (!mirrors.empty()) out.request_mirror_policies = std::move(mirrors);
  for (int i = 0; i < action.hash_policy_size(); ++i) {
    XDS_ASSIGN_OR_RETURN(
        std::optional<config::HashPolicy> hash,
        TranslateHashPolicy(action.hash_policy(i), IndexPath(path, "hash_policy", i)));
    if (hash.has_value()) out.hash_policy.Mutable().push_back(std::move(*hash));
  }
  XDS_RETURN_IF_ERROR(TranslateUpgradeConfigs(action.upgrade_configs(), path, &out));
  XDS_RETURN_IF_ERROR(CheckGrpcTimeouts(action, path, warnings));
  return out;
}

absl::StatusOr<config::RedirectAction> TranslateRedirect(
    const envoy::config::route::v3::RedirectAction& redirect, absl::string_view path) {
  using envoy::config::route::v3::RedirectAction;
  XDS_RETURN_IF_ERROR(CheckFields(
      redirect, path,
      {.handled = {"https_redirect", "scheme_redirect", "host_redirect", "port_redirect",
                   "path_redirect", "prefix_rewrite", "response_code", "strip_query"}}));
  config::RedirectAction out;
  if (redirect.https_redirect()) {
    out.scheme_redirect = "https";
  } else {
    out.scheme_redirect = absl::AsciiStrToLower(redirect.scheme_redirect());
  }
  out.host_redirect = redirect.host_redirect();
  if (redirect.port_redirect() > 65535) {
    return InvalidAt(FieldPath(path, "port_redirect"), "must be <= 65535");
  }
  out.port_redirect = redirect.port_redirect();
  out.path_redirect = redirect.path_redirect();
  out.prefix_rewrite = redirect.prefix_rewrite();
  switch (redirect.response_code()) {
    case RedirectAction::MOVED_PERMANENTLY:
      out.response_code = 301;
      break;
    case RedirectAction::FOUND:
      out.response_code = 302;
      break;
    case RedirectAction::SEE_OTHER:
      out.response_code = 303;
      break;
    case RedirectAction::TEMPORARY_REDIRECT:
      out.response_code = 307;
      break;
    case RedirectAction::PERMANENT_REDIRECT:
      out.response_code = 308;
      break;
    default:
      return InvalidAt(FieldPath(path, "response_code"), "unknown redirect response code");
  }
  out.strip_query = redirect.strip_query();
  return out;
}

absl::StatusOr<config::DirectResponseAction> TranslateDirectResponse(
    const envoy::config::route::v3::DirectResponseAction& response, absl::string_view path,
    uint32_t max_body_bytes) {
  XDS_RETURN_IF_ERROR(CheckFields(response, path, {.handled = {"status", "body"}}));
  if (response.status() < 100 || response.status() > 599) {
    return InvalidAt(FieldPath(path, "status"), "must be between 100 and 599");
  }
  config::DirectResponseAction out;
  out.status = response.status();
  if (response.has_body()) {
    const std::string body_path = FieldPath(path, "body");
    XDS_ASSIGN_OR_RETURN(std::string body, InlineDataSource(response.body(), body_path));
    if (body.size() > max_body_bytes) {
      return InvalidAt(body_path,
                       absl::StrCat("body is ", body.size(),
                                    " bytes, more than max_direct_response_body_size_bytes (",
                                    max_body_bytes, ")"));
    }
    out.body = std::move(body);
  }
  return out;
}

}  // namespace pilotfish::xds
