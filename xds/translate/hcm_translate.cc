// HTTP connection manager translation; see hcm_translate.h.
#include "xds/translate/hcm_translate.h"

#include "absl/strings/str_cat.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "xds/translate/access_log_translate.h"
#include "xds/translate/common_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/route_translate.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpFilter;

absl::Status TranslateHttp1Options(const envoy::config::core::v3::Http1ProtocolOptions& options,
                                   absl::string_view path, config::HttpConnectionManager* out,
                                   std::vector<std::string>* warnings) {
  // use_balsa_parser only picks Envoy's parser implementation.
  XDS_RETURN_IF_ERROR(CheckFields(options, path,
                                  {.handled = {"accept_http_10", "default_host_for_http_10",
                                               "allow_absolute_url", "use_balsa_parser"},
                                   .ignored = {"override_stream_error_on_invalid_http_message"}},
                                  warnings));
  if (options.has_allow_absolute_url() && !options.allow_absolute_url().value()) {
    return NotSupported(FieldPath(path, "allow_absolute_url"), "only true");
  }
  // A proto3 bool cannot say "explicitly false": inside an explicit http_protocol_options
  // message Envoy's default (false) applies; without the message pilotfish's default (true).
  out->accept_http_10 = options.accept_http_10();
  out->default_host_for_http_10 = options.default_host_for_http_10();
  if (!out->default_host_for_http_10.empty() && !out->accept_http_10) {
    return InvalidAt(FieldPath(path, "default_host_for_http_10"), "requires accept_http_10: true");
  }
  return absl::OkStatus();
}

absl::Status TranslateRouter(const HttpFilter& filter, absl::string_view path,
                             config::HttpConnectionManager* out) {
  if (!filter.has_typed_config()) return absl::OkStatus();
  envoy::extensions::filters::http::router::v3::Router router;
  const std::string p = FieldPath(path, "typed_config");
  XDS_RETURN_IF_ERROR(UnpackAny(filter.typed_config(), &router, p));
  // dynamic_stats / start_child_span / suppress_grpc_request_failure_code_stats: stats and
  // tracing details with no effect on what is proxied.
  XDS_RETURN_IF_ERROR(
      CheckFields(router, p,
                  {.handled = {"suppress_envoy_headers", "dynamic_stats", "start_child_span",
                               "suppress_grpc_request_failure_code_stats"}}));
  out->suppress_envoy_headers = router.suppress_envoy_headers();
  return absl::OkStatus();
}

absl::Status TranslateHttpFilters(const google::protobuf::RepeatedPtrField<HttpFilter>& filters,
                                  absl::string_view path, config::HttpConnectionManager* out,
                                  std::vector<std::string>* warnings) {
  const std::string filters_path = FieldPath(path, "http_filters");
  bool have_router = false;
  for (int i = 0; i < filters.size(); ++i) {
    const HttpFilter& filter = filters[i];
    const std::string p = IndexPath(path, "http_filters", i);
    XDS_RETURN_IF_ERROR(
        CheckFields(filter, p, {.handled = {"name", "typed_config", "is_optional"}}));
    const std::string label = absl::StrCat(p, " (", filter.name(), ")");
    std::string type;
    if (filter.has_typed_config()) {
      type = EffectiveTypeNameOf(filter.typed_config());
    } else if (filter.name() == "envoy.filters.http.router" || filter.name() == "envoy.router") {
      type = std::string(kRouterType);  // Envoy accepts the router by name, config empty
    } else if (filter.name() == "envoy.filters.http.fault" || filter.name() == "envoy.fault") {
      type = std::string(kFaultType);
    } else if (filter.is_optional()) {
      Warn(warnings, label, "optional filter without typed_config skipped");
      continue;
    } else {
      return InvalidAt(label, "typed_config is required");
    }
    if (have_router) {
      return InvalidAt(label, "the router filter must be the last HTTP filter");
    }
    config::HttpFilter http_filter;
    http_filter.name = filter.name();
    http_filter.type_url = TypeUrl(type);
    if (type == kRouterType) {
      XDS_RETURN_IF_ERROR(TranslateRouter(filter, p, out));
      have_router = true;
    } else if (type == kFaultType || type == kIstioStatsType) {
      // Parsed by the filter's own config factory (bootstrap/filter_table.cc).
      if (filter.has_typed_config()) {
        http_filter.config = std::make_shared<const config::AnyConfig>(
            filter.typed_config().type_url(), filter.typed_config().value());
      }
    } else if (filter.is_optional()) {
      Warn(warnings, label,
           absl::StrCat("optional filter type ", TypeUrl(type), " is not supported; skipped"));
      continue;
    } else {
      return InvalidAt(
          label, absl::StrCat("filter type ", TypeUrl(type), " is not supported by pilotfish"));
    }
    out->http_filters.push_back(std::move(http_filter));
  }
  if (!have_router) {
    return InvalidAt(filters_path,
                     "the router filter (envoy.filters.http.router) is required as the last "
                     "HTTP filter");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<config::HttpConnectionManager> TranslateHcm(const HttpConnectionManager& hcm,
                                                           const std::string& path,
                                                           std::vector<std::string>* warnings) {
  // append_local_overload only matters with an overload manager, which pilotfish lacks.
  XDS_RETURN_IF_ERROR(
      CheckFields(hcm, path,
                  {.handled = {"codec_type",
                               "stat_prefix",
                               "rds",
                               "route_config",
                               "http_filters",
                               "common_http_protocol_options",
                               "http_protocol_options",
                               "http2_protocol_options",
                               "server_name",
                               "server_header_transformation",
                               "max_request_headers_kb",
                               "stream_idle_timeout",
                               "request_timeout",
                               "request_headers_timeout",
                               "drain_timeout",
                               "access_log",
                               "use_remote_address",
                               "xff_num_trusted_hops",
                               "skip_xff_append",
                               "generate_request_id",
                               "preserve_external_request_id",
                               "upgrade_configs",
                               "normalize_path",
                               "merge_slashes",
                               "path_with_escaped_slashes_action",
                               "local_reply_config",
                               "append_local_overload"},
                   .ignored = {"tracing", "delayed_close_timeout", "access_log_flush_interval",
                               "flush_access_log_on_new_request", "access_log_options",
                               "stream_error_on_invalid_http_message"}},
                  warnings));
  config::HttpConnectionManager out;
  switch (hcm.codec_type()) {
    case HttpConnectionManager::AUTO:
    case HttpConnectionManager::HTTP1:
      break;
    default:
      return NotSupported(FieldPath(path, "codec_type"),
                          absl::StrCat(HttpConnectionManager::CodecType_Name(hcm.codec_type()),
                                       "; only AUTO and HTTP1 (HTTP/1.x)"));
  }
  if (hcm.stat_prefix().empty()) {
    return InvalidAt(FieldPath(path, "stat_prefix"), "must not be empty");
  }
  out.stat_prefix = hcm.stat_prefix();

  switch (hcm.route_specifier_case()) {
    case HttpConnectionManager::kRouteConfig: {
      XDS_ASSIGN_OR_RETURN(config::RouteConfiguration routes,
                           TranslateRouteConfiguration(hcm.route_config(),
                                                       FieldPath(path, "route_config"), warnings));
      out.route_config = std::make_shared<const config::RouteConfiguration>(std::move(routes));
      break;
    }
    case HttpConnectionManager::kRds: {
      const std::string p = FieldPath(path, "rds");
      XDS_RETURN_IF_ERROR(
          CheckFields(hcm.rds(), p, {.handled = {"config_source", "route_config_name"}}));
      if (hcm.rds().route_config_name().empty()) {
        return InvalidAt(FieldPath(p, "route_config_name"), "must not be empty");
      }
      out.rds_route_config_name = hcm.rds().route_config_name();
      XDS_ASSIGN_OR_RETURN(
          out.rds_initial_fetch_timeout,
          InitialFetchTimeout(hcm.rds().config_source(), FieldPath(p, "config_source")));
      break;
    }
    default:
      return InvalidAt(path, "one of route_config or rds is required");
  }

  XDS_RETURN_IF_ERROR(TranslateHttpFilters(hcm.http_filters(), path, &out, warnings));
  if (hcm.has_common_http_protocol_options()) {
    XDS_RETURN_IF_ERROR(TranslateHttpProtocolOptions(
        hcm.common_http_protocol_options(), FieldPath(path, "common_http_protocol_options"), &out));
  }
  if (hcm.has_http_protocol_options()) {
    XDS_RETURN_IF_ERROR(TranslateHttp1Options(
        hcm.http_protocol_options(), FieldPath(path, "http_protocol_options"), &out, warnings));
  }
  if (hcm.has_http2_protocol_options()) {
    Warn(warnings, FieldPath(path, "http2_protocol_options"),
         "ignored: downstream HTTP/2 is not supported yet, connections are served as HTTP/1.x");
  }
  if (hcm.has_local_reply_config()) {
    Warn(warnings, FieldPath(path, "local_reply_config"),
         "ignored: local replies keep Envoy's default bodies");
  }
  if (!hcm.server_name().empty()) out.server_name = hcm.server_name();
  switch (hcm.server_header_transformation()) {
    case HttpConnectionManager::OVERWRITE:
      out.server_header = config::HttpConnectionManager::ServerHeader::kOverwrite;
      break;
    case HttpConnectionManager::APPEND_IF_ABSENT:
      out.server_header = config::HttpConnectionManager::ServerHeader::kAppendIfAbsent;
      break;
    case HttpConnectionManager::PASS_THROUGH:
      out.server_header = config::HttpConnectionManager::ServerHeader::kPassThrough;
      break;
    default:
      return InvalidAt(FieldPath(path, "server_header_transformation"), "unknown value");
  }
  if (hcm.has_max_request_headers_kb()) {
    const uint32_t kb = hcm.max_request_headers_kb().value();
    if (kb < 1 || kb > 8192) {
      return InvalidAt(FieldPath(path, "max_request_headers_kb"), "must be between 1 and 8192");
    }
    out.max_request_headers_kb = kb;
  }
  if (hcm.has_stream_idle_timeout()) {
    XDS_ASSIGN_OR_RETURN(out.stream_idle_timeout, ToMillis(hcm.stream_idle_timeout(),
                                                           FieldPath(path, "stream_idle_timeout")));
  }
  if (hcm.has_request_timeout()) {
    XDS_ASSIGN_OR_RETURN(out.request_timeout,
                         ToMillis(hcm.request_timeout(), FieldPath(path, "request_timeout")));
  }
  if (hcm.has_request_headers_timeout()) {
    XDS_ASSIGN_OR_RETURN(
        out.request_headers_timeout,
        ToMillis(hcm.request_headers_timeout(), FieldPath(path, "request_headers_timeout")));
    if (out.request_headers_timeout.count() > 0) {
      Warn(warnings, FieldPath(path, "request_headers_timeout"),
           "not applied by pilotfish yet (stream_idle_timeout and request_timeout still bound a "
           "slow request); ignored");
    }
  }
  if (hcm.has_drain_timeout()) {
    XDS_ASSIGN_OR_RETURN(out.drain_timeout,
                         ToMillis(hcm.drain_timeout(), FieldPath(path, "drain_timeout")));
  }
  XDS_ASSIGN_OR_RETURN(
      out.access_logs,
      TranslateAccessLogs(hcm.access_log(), FieldPath(path, "access_log"), warnings));
  out.use_remote_address = hcm.has_use_remote_address() && hcm.use_remote_address().value();
  out.xff_num_trusted_hops = hcm.xff_num_trusted_hops();
  if (out.xff_num_trusted_hops > 0) {
    Warn(warnings, FieldPath(path, "xff_num_trusted_hops"),
         "not applied by pilotfish yet: the downstream address is always the peer's, never "
         "taken from x-forwarded-for; ignored");
  }
  out.skip_xff_append = hcm.skip_xff_append();
  if (hcm.has_generate_request_id()) out.generate_request_id = hcm.generate_request_id().value();
  out.preserve_external_request_id = hcm.preserve_external_request_id();
  XDS_RETURN_IF_ERROR(TranslateUpgradeConfigs(hcm.upgrade_configs(), path, &out));
  out.normalize_path = hcm.has_normalize_path() && hcm.normalize_path().value();
  out.merge_slashes = hcm.merge_slashes();
  switch (hcm.path_with_escaped_slashes_action()) {
    case HttpConnectionManager::IMPLEMENTATION_SPECIFIC_DEFAULT:
    case HttpConnectionManager::KEEP_UNCHANGED:
      break;
    default:
      return NotSupported(FieldPath(path, "path_with_escaped_slashes_action"),
                          absl::StrCat(HttpConnectionManager::PathWithEscapedSlashesAction_Name(
                                           hcm.path_with_escaped_slashes_action()),
                                       "; only KEEP_UNCHANGED"));
  }
  return out;
}

}  // namespace pilotfish::xds
