// Small conversions shared by the translators: durations, percentages, addresses, inline data
// sources, header mutations (request/response headers to add/remove) and upgrade configs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "envoy/config/core/v3/address.pb.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/config/core/v3/config_source.pb.h"
#include "envoy/config/core/v3/protocol.pb.h"
#include "envoy/type/v3/percent.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/repeated_field.h"
#include "proxy/config/types.h"
#include "xds/translate/field_check.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

// A Duration as milliseconds (truncating, like Envoy); negative or out-of-range is an error.
absl::StatusOr<config::Millis> ToMillis(const google::protobuf::Duration& duration,
                                        absl::string_view path);
// Same, but the duration must be > 0 (Envoy's `gt: {}` validation rule).
absl::StatusOr<config::Millis> ToPositiveMillis(const google::protobuf::Duration& duration,
                                                absl::string_view path);

// A ConfigSource's initial_fetch_timeout: Envoy's 15 s when unset; zero means wait forever.
absl::StatusOr<config::Millis> InitialFetchTimeout(const envoy::config::core::v3::ConfigSource& s,
                                                   absl::string_view path);

// FractionalPercent -> parts per million (capped at 1e6).
absl::StatusOr<uint32_t> ToPerMillion(const envoy::type::v3::FractionalPercent& fraction,
                                      absl::string_view path);
// Percent (0..100) -> double, validated.
absl::StatusOr<double> ToPercent(const envoy::type::v3::Percent& percent, absl::string_view path);

// True for an IPv4 or IPv6 literal.
bool IsIpLiteral(absl::string_view address);

enum class AddressUse {
  kListener,     // IP literal or pipe; the port is bound
  kIpEndpoint,   // STATIC / EDS endpoint: IP literal or pipe
  kDnsEndpoint,  // STRICT_DNS / LOGICAL_DNS endpoint: hostname or IP, no pipe
  kBind,         // upstream source address: IP literal, port may be 0
};
absl::StatusOr<config::SocketAddress> TranslateAddress(
    const envoy::config::core::v3::Address& address, absl::string_view path, AddressUse use);
absl::StatusOr<config::SocketAddress> TranslateSocketAddress(
    const envoy::config::core::v3::SocketAddress& address, absl::string_view path, AddressUse use);

// The bytes of an inline DataSource (inline_string / inline_bytes). A filename or environment
// variable body is an error: pilotfish does not read files named by xDS resources.
absl::StatusOr<std::string> InlineDataSource(const envoy::config::core::v3::DataSource& source,
                                             absl::string_view path);

// A listener filter chain's or cluster's transport_socket: raw_buffer is accepted (it is
// plaintext), TLS gets "TLS is not supported yet", anything else is reported by type.
absl::Status CheckTransportSocket(const envoy::config::core::v3::TransportSocket& socket,
                                  absl::string_view path);

// Header mutations at any level (route configuration, virtual host, route, weighted cluster).
absl::Status TranslateHeaderMutations(
    const google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>&
        request_add,
    const google::protobuf::RepeatedPtrField<std::string>& request_remove,
    const google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>&
        response_add,
    const google::protobuf::RepeatedPtrField<std::string>& response_remove, absl::string_view path,
    config::HeaderMutations* out);

template <typename Message>
absl::Status TranslateHeaderMutations(const Message& message, absl::string_view path,
                                      config::HeaderMutations* out) {
  return TranslateHeaderMutations(
      message.request_headers_to_add(), message.request_headers_to_remove(),
      message.response_headers_to_add(), message.response_headers_to_remove(), path, out);
}

// 0 disables an optional timeout; represented as "no timeout".
std::optional<config::Millis> DisabledIfZero(config::Millis ms);

// core.v3.HttpProtocolOptions as both clusters (upstream) and the HCM (downstream) use it.
absl::Status TranslateHttpProtocolOptions(
    const envoy::config::core::v3::HttpProtocolOptions& options, absl::string_view path,
    std::optional<config::Millis>* idle_timeout,
    std::optional<config::Millis>* max_connection_duration, uint32_t* max_requests_per_connection);

// Into any config struct with idle_timeout, max_connection_duration and
// max_requests_per_connection fields (config::Cluster, config::HttpConnectionManager).
template <typename Config>
absl::Status TranslateHttpProtocolOptions(
    const envoy::config::core::v3::HttpProtocolOptions& options, absl::string_view path,
    Config* out) {
  return TranslateHttpProtocolOptions(options, path, &out->idle_timeout,
                                      &out->max_connection_duration,
                                      &out->max_requests_per_connection);
}

// upgrade_configs (the HCM's or a route's: two proto types with the same fields) -> the
// lower-cased upgrade types Config (config::HttpConnectionManager or config::RouteAction) enables
// and disables; Envoy compares them without case. An empty or repeated type is an error.
template <typename UpgradeConfig, typename Config>
absl::Status TranslateUpgradeConfigs(
    const google::protobuf::RepeatedPtrField<UpgradeConfig>& upgrades, absl::string_view path,
    Config* out) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < upgrades.size(); ++i) {
    const std::string p = IndexPath(path, "upgrade_configs", i);
    XDS_RETURN_IF_ERROR(CheckFields(upgrades[i], p, {.handled = {"upgrade_type", "enabled"}}));
    std::string type = absl::AsciiStrToLower(upgrades[i].upgrade_type());
    if (type.empty()) return InvalidAt(FieldPath(p, "upgrade_type"), "must not be empty");
    if (!seen.insert(type).second) return InvalidAt(p, absl::StrCat("duplicate upgrade ", type));
    if (upgrades[i].has_enabled() && !upgrades[i].enabled().value()) {
      out->disabled_upgrade_types.push_back(std::move(type));
    } else {
      out->upgrade_types.push_back(std::move(type));
    }
  }
  return absl::OkStatus();
}

}  // namespace pilotfish::xds
