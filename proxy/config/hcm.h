// http_connection_manager and tcp_proxy settings after translation (the terminal filters).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/config/types.h"

namespace pilotfish::config {

// An access log filter (envoy.config.accesslog.v3.AccessLogFilter), the kinds pilotfish runs.
struct AccessLogFilter {
  enum class Kind { kStatusCode, kDuration, kNotHealthCheck, kResponseFlag, kAnd, kOr };
  enum class Op { kEq, kGe, kLe };
  Kind kind = Kind::kStatusCode;
  Op op = Op::kEq;
  uint32_t value = 0;                    // kStatusCode: a status; kDuration: milliseconds
  std::vector<std::string> flags;        // kResponseFlag: short names ("UH"); empty: any flag
  std::vector<AccessLogFilter> filters;  // kAnd, kOr
};

// One access log sink (file access logger): path ("/dev/stdout" etc.), filter and format.
struct AccessLog {
  std::string path;
  std::string text_format;  // Envoy command-operator format; empty = Envoy's default format
  std::vector<std::pair<std::string, std::string>> json_format;  // key -> operator string
  // json_format renders numbers as numbers and unset values as null (log_format.json_format,
  // typed_json_format); false: every value a string, "-" when unset (FileAccessLog.json_format).
  bool json_typed = true;
  bool omit_empty_values = false;
  std::optional<AccessLogFilter> filter;
};

// An HTTP filter in the HCM chain, by its config name and type URL. The runtime instantiates
// the ones it knows (router, fault); translation rejects the rest with a clear error.
struct HttpFilter {
  std::string name;  // e.g. "envoy.filters.http.router"
  std::string
      type_url;  // e.g. "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
  // The typed_config left for the filter's factory to parse (an AnyConfig); null when there is
  // none or translation already applied it (the router's settings live in the HCM config).
  std::shared_ptr<const PerFilterConfig> config;
};

// What a request path's '#fragment' gets: Envoy's 400, stripped before routing, or kept.
enum class PathFragment { kReject, kStrip, kKeep };

struct HttpConnectionManager {
  std::string stat_prefix;
  // Exactly one of these: an inline route table, or the RDS name to subscribe to.
  std::shared_ptr<const RouteConfiguration> route_config;
  std::string rds_route_config_name;
  // rds.config_source.initial_fetch_timeout: how long a listener warms waiting for the route
  // config before it serves without it (15 s default; zero waits forever).
  Millis rds_initial_fetch_timeout{15000};
  std::vector<HttpFilter> http_filters;
  std::vector<AccessLog> access_logs;
  std::vector<std::string> upgrade_types;  // e.g. "websocket"
  // Listed with enabled: false: off by default, a route's upgrade_configs may enable them.
  std::vector<std::string> disabled_upgrade_types;
  Millis stream_idle_timeout{300000};  // 5 min; 0 disables
  Millis request_timeout{0};           // 0: disabled
  Millis request_headers_timeout{0};
  Millis drain_timeout{5000};
  std::optional<Millis> idle_timeout = Millis(3600 * 1000);  // downstream connection idle
  std::optional<Millis> max_connection_duration;
  uint32_t max_request_headers_kb = 60;
  uint32_t max_requests_per_connection = 0;
  bool use_remote_address = false;
  uint32_t xff_num_trusted_hops = 0;
  bool skip_xff_append = false;
  bool generate_request_id = true;
  bool preserve_external_request_id = false;
  std::string server_name = "envoy";
  enum class ServerHeader {
    kOverwrite,
    kAppendIfAbsent,
    kPassThrough
  } server_header = ServerHeader::kOverwrite;
  bool normalize_path = false;
  bool merge_slashes = false;
  bool accept_http_10 = true;  // Envoy defaults to false; Istio sidecars accept 1.0 (brief)
  std::string default_host_for_http_10;
  bool suppress_envoy_headers = false;  // router filter's suppress_envoy_headers
  TrafficDirection direction = TrafficDirection::kUnspecified;
  // Not from the HCM proto: the bootstrap's runtime flags decide
  // (xds/translate/runtime_translate.h).
  PathFragment path_fragment = PathFragment::kReject;
};

// An HCM's use of an RDS route config, as the xDS side needs it: the name, how long a listener
// waits for it, and the HCM's stat_prefix (Envoy's http.<stat_prefix>.rds.<name>.* stats).
struct RdsRef {
  std::string name;
  Millis initial_fetch_timeout{15000};
  std::string stat_prefix;
};

struct TcpProxy {
  std::string stat_prefix;
  std::string cluster;
  std::vector<WeightedClusterEntry> weighted_clusters;
  std::optional<Millis> idle_timeout = Millis(3600 * 1000);  // 1h default; 0 disables
  uint32_t max_connect_attempts_count = 1;
  std::vector<AccessLog> access_logs;
};

}  // namespace pilotfish::config
