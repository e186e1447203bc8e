// Plain, proto-free configuration types: what xds/ and filters/ translate Envoy v3 protos into,
// and what proxy/ compiles into its runtime structures. Defaults are Envoy's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proxy/config/boxed.h"

namespace pilotfish::config {

using Millis = std::chrono::milliseconds;

struct SocketAddress {
  std::string address;  // IP literal or hostname (DNS clusters)
  uint32_t port = 0;
  std::string pipe_path;  // non-empty for a Unix socket (pipe) address
};

// ----------------------------------------------------------------------------------- routes
enum class StringMatchKind { kExact, kPrefix, kSuffix, kContains, kSafeRegex };
struct StringMatcher {
  StringMatchKind kind = StringMatchKind::kExact;
  std::string value;  // literal, or the RE2 pattern for kSafeRegex
  bool ignore_case = false;
};

struct HeaderMatcher {
  std::string name;  // lower-cased; may be a pseudo-header (":method", ":authority", ...)
  enum class Kind { kPresent, kString, kRange } kind = Kind::kPresent;
  bool present_match = true;  // for kPresent
  StringMatcher string_match;
  int64_t range_start = 0, range_end = 0;  // [start, end)
  bool invert_match = false;
  bool treat_missing_header_as_empty = false;
};

struct QueryParameterMatcher {
  std::string name;
  bool present_match = false;  // true: match if present, regardless of value
  std::optional<StringMatcher> string_match;
};

enum class PathMatchKind { kPrefix, kPath, kSafeRegex, kPathSeparatedPrefix };
struct RouteMatch {
  PathMatchKind kind = PathMatchKind::kPrefix;
  std::string value;  // prefix / exact path / RE2 pattern
  bool case_sensitive = true;
  std::vector<HeaderMatcher> headers;
  Boxed<std::vector<QueryParameterMatcher>> query_parameters;  // rare: boxed
  std::optional<uint32_t> runtime_fraction_per_million;        // runtime_fraction default value
};

enum class HeaderAppendAction {
  kAppendIfExistsOrAdd,
  kAddIfAbsent,
  kOverwriteIfExistsOrAdd,
  kOverwriteIfExists
};
struct HeaderValueOption {
  std::string key;
  std::string value;
  HeaderAppendAction action = HeaderAppendAction::kAppendIfExistsOrAdd;
  bool keep_empty_value = false;
};
struct HeaderMutations {
  std::vector<HeaderValueOption> request_headers_to_add;
  std::vector<std::string> request_headers_to_remove;
  std::vector<HeaderValueOption> response_headers_to_add;
  std::vector<std::string> response_headers_to_remove;
};

struct WeightedClusterEntry {
  std::string name;
  uint32_t weight = 0;
  HeaderMutations headers;
};

struct RetryPolicy {
  std::vector<std::string> retry_on;  // tokens as written: "5xx", "gateway-error", ...
  uint32_t num_retries = 1;
  std::optional<Millis> per_try_timeout;
  std::optional<Millis> per_try_idle_timeout;
  std::vector<uint32_t> retriable_status_codes;
  Millis base_interval{25};
  std::optional<Millis> max_interval;
  bool previous_hosts_predicate = false;
  int64_t host_selection_retry_max_attempts = 1;
  std::vector<HeaderMatcher> retriable_headers;
  std::vector<HeaderMatcher> retriable_request_headers;
};

struct HashPolicy {
  enum class Kind { kHeader, kCookie, kSourceIp, kQueryParameter, kFilterState } kind;
  std::string name;  // header / cookie / query parameter name
  std::optional<Millis> cookie_ttl;
  std::string cookie_path;
  bool terminal = false;
};

struct RequestMirrorPolicy {
  std::string cluster;
  std::string cluster_header;  // mirror to the cluster named by this request header (if present)
  uint32_t per_million = 1000000;
};

struct RouteAction {
  std::string cluster;
  Boxed<std::string> cluster_header;  // the rarely set ones are boxed (8 bytes when unset)
  std::vector<WeightedClusterEntry> weighted_clusters;
  std::optional<Millis> timeout;  // unset: Envoy's 15 s; zero: disabled
  std::optional<Millis> idle_timeout;
  Boxed<std::string> prefix_rewrite;
  Boxed<std::pair<std::string, std::string>> regex_rewrite;  // pattern, substitution
  Boxed<std::string> host_rewrite_literal;
  bool auto_host_rewrite = false;
  Boxed<RetryPolicy> retry_policy;
  Boxed<std::vector<HashPolicy>> hash_policy;
  Boxed<std::vector<RequestMirrorPolicy>> request_mirror_policies;
  std::vector<std::string> upgrade_types;           // upgrade_configs with enabled != false
  std::vector<std::string> disabled_upgrade_types;  // upgrade_configs with enabled: false
};

struct RedirectAction {
  std::string scheme_redirect;  // "" = unchanged; https_redirect sets "https"
  std::string host_redirect;
  uint32_t port_redirect = 0;
  std::string path_redirect;
  std::string prefix_rewrite;
  uint32_t response_code = 301;
  bool strip_query = false;
};

struct DirectResponseAction {
  uint32_t status = 200;
  std::optional<std::string> body;
};

// An HTTP filter's per-route config, as produced by the filter's own config factory.
struct PerFilterConfig {
  virtual ~PerFilterConfig() = default;
};
using PerFilterConfigMap =
    std::vector<std::pair<std::string, std::shared_ptr<const PerFilterConfig>>>;

// A filter config still in its google.protobuf.Any form (type URL and serialized bytes), as
// translation leaves it; bootstrap/filter_table.cc turns it into the filter's parsed config.
struct AnyConfig : PerFilterConfig {
  AnyConfig(std::string type_url, std::string value)
      : type_url(std::move(type_url)), value(std::move(value)) {}
  std::string type_url;
  std::string value;
};

struct Route {
  std::string name;
  RouteMatch match;
  enum class Kind { kRoute, kRedirect, kDirectResponse } kind = Kind::kRoute;
  RouteAction route;
  // Usually unset (kind kRoute, no route-level header mutations): boxed, 8 bytes each.
  Boxed<RedirectAction> redirect;
  Boxed<DirectResponseAction> direct_response;
  Boxed<HeaderMutations> headers;
  PerFilterConfigMap typed_per_filter_config;  // keyed by filter name
};

struct VirtualHost {
  std::string name;
  std::vector<std::string> domains;
  std::vector<Route> routes;
  HeaderMutations headers;
  std::optional<RetryPolicy> retry_policy;
  bool include_request_attempt_count = false;
  bool include_attempt_count_in_response = false;
  PerFilterConfigMap typed_per_filter_config;
};

struct RouteConfiguration {
  std::string name;
  std::vector<VirtualHost> virtual_hosts;
  HeaderMutations headers;
  std::vector<std::string> internal_only_headers;
  bool ignore_port_in_host_matching = false;  // match :authority with any ":port" stripped
};

// --------------------------------------------------------------------------------- clusters
enum class ClusterType { kStatic, kStrictDns, kLogicalDns, kEds, kOriginalDst };
enum class LbPolicy { kRoundRobin, kLeastRequest, kRandom, kRingHash, kMaglev, kClusterProvided };
enum class DnsLookupFamily { kAuto, kV4Only, kV6Only, kV4Preferred, kAll };

// EDS health_status: UNKNOWN/HEALTHY -> kHealthy; UNHEALTHY/DRAINING/TIMEOUT -> kUnhealthy.
enum class EndpointHealth { kHealthy, kUnhealthy, kDegraded };

struct Endpoint {
  SocketAddress address;
  uint32_t load_balancing_weight = 1;
  std::string hostname;
  uint32_t priority = 0;
  std::string region, zone, sub_zone;
  EndpointHealth health = EndpointHealth::kHealthy;
};

struct CircuitBreakerThresholds {
  uint32_t max_connections = 1024;
  uint32_t max_pending_requests = 1024;
  uint32_t max_requests = 1024;
  uint32_t max_retries = 3;
  bool track_remaining = false;
  std::optional<double> retry_budget_percent;  // set when retry_budget is configured
  uint32_t retry_budget_min_concurrency = 3;
};

struct OutlierDetection {
  uint32_t consecutive_5xx = 5;
  Millis interval{10000};
  Millis base_ejection_time{30000};
  Millis max_ejection_time{300000};
  uint32_t max_ejection_percent = 10;
  bool always_eject_one_host = false;  // eject one host even past max_ejection_percent
  uint32_t enforcing_consecutive_5xx = 100;
  uint32_t enforcing_success_rate = 100;
  uint32_t success_rate_minimum_hosts = 5;
  uint32_t success_rate_request_volume = 100;
  uint32_t success_rate_stdev_factor = 1900;
  uint32_t consecutive_gateway_failure = 5;
  uint32_t enforcing_consecutive_gateway_failure = 0;
  bool split_external_local_origin_errors = false;
  uint32_t consecutive_local_origin_failure = 5;
  uint32_t enforcing_consecutive_local_origin_failure = 100;
  uint32_t enforcing_local_origin_success_rate = 100;
  uint32_t failure_percentage_threshold = 85;
  uint32_t enforcing_failure_percentage = 0;
  uint32_t enforcing_failure_percentage_local_origin = 0;
  uint32_t failure_percentage_minimum_hosts = 5;
  uint32_t failure_percentage_request_volume = 50;
};

struct Cluster {
  std::string name;
  Boxed<std::string> alt_stat_name;  // rarely set
  ClusterType type = ClusterType::kStatic;
  LbPolicy lb_policy = LbPolicy::kRoundRobin;
  Millis connect_timeout{5000};
  std::vector<Endpoint> endpoints;  // load_assignment (STATIC/DNS); EDS fills at runtime
  std::string eds_service_name;     // EDS: the ClusterLoadAssignment name (defaults to name)
  // eds_config.initial_fetch_timeout: how long the cluster warms waiting for its first
  // assignment before it serves without endpoints (15 s default; zero waits forever).
  Millis eds_initial_fetch_timeout{15000};
  Millis dns_refresh_rate{5000};
  DnsLookupFamily dns_lookup_family = DnsLookupFamily::kAuto;
  bool respect_dns_ttl = false;
  uint32_t max_requests_per_connection = 0;                  // 0: unlimited
  std::optional<Millis> idle_timeout = Millis(3600 * 1000);  // upstream connection idle
  std::optional<Millis> max_connection_duration;
  uint32_t per_connection_buffer_limit_bytes = 1024 * 1024;
  CircuitBreakerThresholds circuit_breakers;              // DEFAULT priority
  Boxed<CircuitBreakerThresholds> circuit_breakers_high;  // HIGH priority (rarely set)
  Boxed<OutlierDetection> outlier_detection;
  uint32_t healthy_panic_threshold_percent = 50;
  uint32_t least_request_choice_count = 2;
  uint64_t ring_hash_minimum_ring_size = 1024;
  uint64_t ring_hash_maximum_ring_size = 8 * 1024 * 1024;
  uint64_t maglev_table_size = 65537;
  bool http2 = false;  // upstream HTTP/2 requested (not implemented on the data path yet)
  // ORIGINAL_DST: honour x-envoy-original-dst-host; bind upstream source (Istio's 127.0.0.6).
  bool use_http_header = false;
  Millis cleanup_interval{5000};  // ORIGINAL_DST: hosts unused for this long are removed
  Boxed<SocketAddress> upstream_bind_address;
};

// -------------------------------------------------------------------------------- listeners
struct CidrRange {
  std::string address_prefix;
  uint32_t prefix_len = 0;
};

struct FilterChainMatch {
  std::optional<uint32_t> destination_port;
  std::vector<CidrRange> prefix_ranges;
  std::vector<CidrRange> source_prefix_ranges;
  std::vector<uint32_t> source_ports;
  std::vector<std::string> server_names;
  std::string transport_protocol;
  std::vector<std::string> application_protocols;
};

enum class TrafficDirection { kUnspecified, kInbound, kOutbound };
enum class DrainType { kDefault, kModifyOnly };

}  // namespace pilotfish::config
