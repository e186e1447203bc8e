// Route configuration translation; see route_translate.h.
#include "xds/translate/route_translate.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "xds/translate/common_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/matcher_translate.h"
#include "xds/translate/route_action_translate.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

using envoy::config::route::v3::RouteMatch;

// Envoy's default for RouteConfiguration.max_direct_response_body_size_bytes.
constexpr uint32_t kDefaultMaxDirectResponseBody = 4096;

// Inherited settings from the enclosing virtual host / route configuration.
struct RouteContext {
  uint32_t max_direct_response_body = kDefaultMaxDirectResponseBody;
  // Mirror policies of the nearest enclosing level that has any (Envoy: most specific wins
  // entirely, no merging).
  const std::vector<config::RequestMirrorPolicy>* inherited_mirrors = nullptr;
};

// typed_per_filter_config: each payload is kept as an AnyConfig for the filter that owns its
// type to parse (bootstrap/filter_table.cc); sorted so that translation is deterministic.
absl::StatusOr<config::PerFilterConfigMap> TranslatePerFilterConfig(
    const google::protobuf::Map<std::string, google::protobuf::Any>& configs,
    absl::string_view path) {
  config::PerFilterConfigMap out;
  for (const auto& [name, any] : configs) {
    if (name.empty()) return InvalidAt(FieldPath(path, "typed_per_filter_config"), "empty key");
    out.emplace_back(name, std::make_shared<const config::AnyConfig>(any.type_url(), any.value()));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

absl::StatusOr<config::RouteMatch> TranslateRouteMatch(const RouteMatch& match,
                                                       absl::string_view path) {
  XDS_RETURN_IF_ERROR(CheckFields(
      match, path,
      {.handled = {"prefix", "path", "safe_regex", "path_separated_prefix", "case_sensitive",
                   "runtime_fraction", "headers", "query_parameters", "grpc"}}));
  config::RouteMatch out;
  switch (match.path_specifier_case()) {
    case RouteMatch::kPrefix:
      out.kind = config::PathMatchKind::kPrefix;
      out.value = match.prefix();
      break;
    case RouteMatch::kPath:
      out.kind = config::PathMatchKind::kPath;
      out.value = match.path();
      break;
    case RouteMatch::kSafeRegex: {
      out.kind = config::PathMatchKind::kSafeRegex;
      XDS_ASSIGN_OR_RETURN(
          out.value, TranslateRegexMatcher(match.safe_regex(), FieldPath(path, "safe_regex")));
      break;
    }
    case RouteMatch::kPathSeparatedPrefix: {
      const std::string& prefix = match.path_separated_prefix();
      if (prefix.empty() || prefix.back() == '/' ||
          prefix.find_first_of("?#") != std::string::npos) {
        return InvalidAt(FieldPath(path, "path_separated_prefix"),
                         "must be non-empty, must not end with '/' nor contain '?' or '#'");
      }
      out.kind = config::PathMatchKind::kPathSeparatedPrefix;
      out.value = prefix;
      break;
    }
    default:
      return InvalidAt(path,
                       "one of prefix, path, safe_regex or path_separated_prefix is required");
  }
  if (match.has_case_sensitive()) out.case_sensitive = match.case_sensitive().value();
  if (match.has_runtime_fraction()) {
    const std::string p = FieldPath(path, "runtime_fraction");
    // Without a runtime the default value always applies, so runtime_key changes nothing.
    XDS_RETURN_IF_ERROR(
        CheckFields(match.runtime_fraction(), p, {.handled = {"default_value", "runtime_key"}}));
    XDS_ASSIGN_OR_RETURN(
        out.runtime_fraction_per_million,
        ToPerMillion(match.runtime_fraction().default_value(), FieldPath(p, "default_value")));
  }
  for (int i = 0; i < match.headers_size(); ++i) {
    XDS_ASSIGN_OR_RETURN(config::HeaderMatcher m,
                         TranslateHeaderMatcher(match.headers(i), IndexPath(path, "headers", i)));
    out.headers.push_back(std::move(m));
  }
  for (int i = 0; i < match.query_parameters_size(); ++i) {
    XDS_ASSIGN_OR_RETURN(config::QueryParameterMatcher m,
                         TranslateQueryParameterMatcher(match.query_parameters(i),
                                                        IndexPath(path, "query_parameters", i)));
    out.query_parameters.Mutable().push_back(std::move(m));
  }
  if (match.has_grpc()) {
    XDS_RETURN_IF_ERROR(CheckFields(match.grpc(), FieldPath(path, "grpc"), {.handled = {}}));
    // Envoy's gRPC request test: content-type application/grpc, optionally +suffix or ;params.
    config::HeaderMatcher grpc;
    grpc.name = "content-type";
    grpc.kind = config::HeaderMatcher::Kind::kString;
    grpc.string_match.kind = config::StringMatchKind::kSafeRegex;
    grpc.string_match.value = "application/grpc([+;].*)?";
    out.headers.push_back(std::move(grpc));
  }
  return out;
}

absl::StatusOr<config::Route> TranslateRoute(const envoy::config::route::v3::Route& route,
                                             absl::string_view path, const RouteContext& context,
                                             std::vector<std::string>* warnings) {
  using envoy::config::route::v3::Route;
  // metadata / decorator / stat_prefix only feed tracing and stats names.
  XDS_RETURN_IF_ERROR(CheckFields(
      route, path,
      {.handled = {"name", "match", "route", "redirect", "direct_response", "metadata", "decorator",
                   "typed_per_filter_config", "request_headers_to_add", "request_headers_to_remove",
                   "response_headers_to_add", "response_headers_to_remove", "stat_prefix"},
       .ignored = {"tracing", "per_request_buffer_limit_bytes"}},
      warnings));
  config::Route out;
  out.name = route.name();
  if (!route.has_match()) return InvalidAt(FieldPath(path, "match"), "is required");
  XDS_ASSIGN_OR_RETURN(out.match, TranslateRouteMatch(route.match(), FieldPath(path, "match")));
  switch (route.action_case()) {
    case Route::kRoute: {
      out.kind = config::Route::Kind::kRoute;
      XDS_ASSIGN_OR_RETURN(out.route,
                           TranslateRouteAction(route.route(), FieldPath(path, "route"), warnings));
      if (out.route.request_mirror_policies->empty() && context.inherited_mirrors != nullptr) {
        out.route.request_mirror_policies = *context.inherited_mirrors;
      }
      break;
    }
    case Route::kRedirect: {
      out.kind = config::Route::Kind::kRedirect;
      XDS_ASSIGN_OR_RETURN(out.redirect,
                           TranslateRedirect(route.redirect(), FieldPath(path, "redirect")));
      break;
    }
    case Route::kDirectResponse: {
      out.kind = config::Route::Kind::kDirectResponse;
      XDS_ASSIGN_OR_RETURN(
          out.direct_response,
          TranslateDirectResponse(route.direct_response(), FieldPath(path, "direct_response"),
                                  context.max_direct_response_body));
      break;
    }
    default:
      return InvalidAt(path, "one of route, redirect or direct_response is required");
  }
  config::HeaderMutations headers;
  XDS_RETURN_IF_ERROR(TranslateHeaderMutations(route, path, &headers));
  if (!headers.request_headers_to_add.empty() || !headers.request_headers_to_remove.empty() ||
      !headers.response_headers_to_add.empty() || !headers.response_headers_to_remove.empty()) {
    out.headers = std::move(headers);
  }
  XDS_ASSIGN_OR_RETURN(out.typed_per_filter_config,
                       TranslatePerFilterConfig(route.typed_per_filter_config(), path));
  return out;
}

absl::StatusOr<config::VirtualHost> TranslateVirtualHost(
    const envoy::config::route::v3::VirtualHost& vhost, absl::string_view path,
    RouteContext context, std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(
      CheckFields(vhost, path,
                  {.handled = {"name", "domains", "routes", "request_headers_to_add",
                               "request_headers_to_remove", "response_headers_to_add",
                               "response_headers_to_remove", "typed_per_filter_config",
                               "include_request_attempt_count", "include_attempt_count_in_response",
                               "retry_policy", "request_mirror_policies", "metadata"},
                   .ignored = {"virtual_clusters", "per_request_buffer_limit_bytes"}},
                  warnings));
  config::VirtualHost out;
  out.name = vhost.name();
  if (vhost.domains().empty()) return InvalidAt(FieldPath(path, "domains"), "must not be empty");
  for (const std::string& domain : vhost.domains()) {
    out.domains.push_back(absl::AsciiStrToLower(domain));
  }
  XDS_RETURN_IF_ERROR(TranslateHeaderMutations(vhost, path, &out.headers));
  out.include_request_attempt_count = vhost.include_request_attempt_count();
  out.include_attempt_count_in_response = vhost.include_attempt_count_in_response();
  if (vhost.has_retry_policy()) {
    XDS_ASSIGN_OR_RETURN(out.retry_policy, TranslateRetryPolicy(vhost.retry_policy(),
                                                                FieldPath(path, "retry_policy")));
  }
  XDS_ASSIGN_OR_RETURN(std::vector<config::RequestMirrorPolicy> mirrors,
                       TranslateMirrorPolicies(vhost.request_mirror_policies(),
                                               FieldPath(path, "request_mirror_policies")));
  if (!mirrors.empty()) context.inherited_mirrors = &mirrors;
  XDS_ASSIGN_OR_RETURN(out.typed_per_filter_config,
                       TranslatePerFilterConfig(vhost.typed_per_filter_config(), path));
  for (int i = 0; i < vhost.routes_size(); ++i) {
    XDS_ASSIGN_OR_RETURN(
        config::Route route,
        TranslateRoute(vhost.routes(i), IndexPath(path, "routes", i), context, warnings));
    out.routes.push_back(std::move(route));
  }
  return out;
}

}  // namespace

absl::StatusOr<config::RouteConfiguration> TranslateRouteConfiguration(
    const envoy::config::route::v3::RouteConfiguration& route_config, const std::string& path,
    std::vector<std::string>* warnings) {
  // validate_clusters is honoured by the bootstrap's cluster reference check.
  XDS_RETURN_IF_ERROR(CheckFields(
      route_config, path,
      {.handled = {"name", "virtual_hosts", "internal_only_headers", "request_headers_to_add",
                   "request_headers_to_remove", "response_headers_to_add",
                   "response_headers_to_remove", "validate_clusters",
                   "max_direct_response_body_size_bytes", "ignore_port_in_host_matching",
                   "request_mirror_policies", "metadata"}},
      warnings));
  config::RouteConfiguration out;
  out.name = route_config.name();
  out.ignore_port_in_host_matching = route_config.ignore_port_in_host_matching();
  for (const std::string& header : route_config.internal_only_headers()) {
    out.internal_only_headers.push_back(absl::AsciiStrToLower(header));
  }
  XDS_RETURN_IF_ERROR(TranslateHeaderMutations(route_config, path, &out.headers));

  RouteContext context;
  if (route_config.has_max_direct_response_body_size_bytes()) {
    context.max_direct_response_body = route_config.max_direct_response_body_size_bytes().value();
  }
  XDS_ASSIGN_OR_RETURN(std::vector<config::RequestMirrorPolicy> mirrors,
                       TranslateMirrorPolicies(route_config.request_mirror_policies(),
                                               FieldPath(path, "request_mirror_policies")));
  if (!mirrors.empty()) context.inherited_mirrors = &mirrors;

  // Envoy rejects a domain that appears in two virtual hosts of one route configuration.
  absl::flat_hash_map<std::string, std::string> domain_owner;
  for (int i = 0; i < route_config.virtual_hosts_size(); ++i) {
    const std::string vhost_path = IndexPath(path, "virtual_hosts", i);
    XDS_ASSIGN_OR_RETURN(
        config::VirtualHost vhost,
        TranslateVirtualHost(route_config.virtual_hosts(i), vhost_path, context, warnings));
    for (size_t d = 0; d < vhost.domains.size(); ++d) {
      auto [it, inserted] = domain_owner.try_emplace(vhost.domains[d], vhost_path);
      if (!inserted) {
        return InvalidAt(
            IndexPath(vhost_path, "domains", d),
            absl::StrCat("duplicate domain '", vhost.domains[d], "' (also in ", it->second, ")"));
      }
    }
    out.virtual_hosts.push_back(std::move(vhost));
  }
  return out;
}

}  // namespace pilotfish::xds
