// Listener translation; see listener_translate.h.
#include "xds/translate/listener_translate.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"
#include "xds/translate/common_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

using envoy::config::listener::v3::FilterChain;
using envoy::config::listener::v3::Listener;

std::string Deterministic(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

absl::StatusOr<std::vector<config::CidrRange>> TranslateCidrRanges(
    const google::protobuf::RepeatedPtrField<envoy::config::core::v3::CidrRange>& ranges,
    absl::string_view path, absl::string_view field) {
  std::vector<config::CidrRange> out;
  for (int i = 0; i < ranges.size(); ++i) {
    const std::string p = IndexPath(path, field, i);
    XDS_RETURN_IF_ERROR(CheckFields(ranges[i], p, {.handled = {"address_prefix", "prefix_len"}}));
    config::CidrRange range;
    range.address_prefix = ranges[i].address_prefix();
    if (!IsIpLiteral(range.address_prefix)) {
      return InvalidAt(FieldPath(p, "address_prefix"),
                       absl::StrCat("'", range.address_prefix, "' is not an IP address"));
    }
    range.prefix_len = ranges[i].prefix_len().value();
    const uint32_t max_len = range.address_prefix.find(':') == std::string::npos ? 32 : 128;
    if (range.prefix_len > max_len) {
      return InvalidAt(FieldPath(p, "prefix_len"), absl::StrCat("must be <= ", max_len));
    }
    out.push_back(std::move(range));
  }
  return out;
}

absl::StatusOr<config::FilterChainMatch> TranslateFilterChainMatch(
    const envoy::config::listener::v3::FilterChainMatch& match, absl::string_view path) {
  XDS_RETURN_IF_ERROR(CheckFields(
      match, path,
      {.handled = {"destination_port", "prefix_ranges", "source_prefix_ranges", "source_ports",
                   "server_names", "transport_protocol", "application_protocols"}}));
  config::FilterChainMatch out;
  if (match.has_destination_port()) {
    const uint32_t port = match.destination_port().value();
    if (port < 1 || port > 65535) {
      return InvalidAt(FieldPath(path, "destination_port"), "must be between 1 and 65535");
    }
    out.destination_port = port;
  }
  XDS_ASSIGN_OR_RETURN(out.prefix_ranges,
                       TranslateCidrRanges(match.prefix_ranges(), path, "prefix_ranges"));
  XDS_ASSIGN_OR_RETURN(out.source_prefix_ranges, TranslateCidrRanges(match.source_prefix_ranges(),
                                                                     path, "source_prefix_ranges"));
  for (int i = 0; i < match.source_ports_size(); ++i) {
    if (match.source_ports(i) < 1 || match.source_ports(i) > 65535) {
      return InvalidAt(IndexPath(path, "source_ports", i), "must be between 1 and 65535");
    }
    out.source_ports.push_back(match.source_ports(i));
  }
  out.server_names.assign(match.server_names().begin(), match.server_names().end());
  out.transport_protocol = match.transport_protocol();
  out.application_protocols.assign(match.application_protocols().begin(),
                                   match.application_protocols().end());
  return out;
}

absl::StatusOr<config::FilterChain> TranslateFilterChain(const FilterChain& chain,
                                                         absl::string_view path,
                                                         const NetworkFilterLookup& lookup,
                                                         std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(CheckFields(
      chain, path,
      {.handled = {"filter_chain_match", "filters", "metadata", "transport_socket", "name"},
       .ignored = {"transport_socket_connect_timeout"}},
      warnings));
  config::FilterChain out;
  out.name = chain.name();
  if (chain.has_transport_socket()) {
    XDS_RETURN_IF_ERROR(
        CheckTransportSocket(chain.transport_socket(), FieldPath(path, "transport_socket")));
  }
  XDS_ASSIGN_OR_RETURN(out.match, TranslateFilterChainMatch(chain.filter_chain_match(),
                                                            FieldPath(path, "filter_chain_match")));
  if (chain.filters().empty()) {
    return InvalidAt(FieldPath(path, "filters"),
                     "a terminal filter (http_connection_manager or tcp_proxy) is required");
  }
  std::vector<NetworkFilterRef> observers;
  for (int i = 0; i < chain.filters_size(); ++i) {
    const auto& filter = chain.filters(i);
    const std::string p = IndexPath(path, "filters", i);
    XDS_RETURN_IF_ERROR(CheckFields(filter, p, {.handled = {"name", "typed_config"}}));
    const std::string label = absl::StrCat(p, " (", filter.name(), ")");
    if (!filter.has_typed_config()) return InvalidAt(label, "typed_config is required");
    if (IsObserverNetworkFilter(filter.typed_config())) {
      // Istio's stats / metadata exchange: watch the terminal filter's connections.
      if (i + 1 == chain.filters_size()) {
        return InvalidAt(label, "must be followed by a terminal filter (tcp_proxy or HCM)");
      }
      observers.push_back(NetworkFilterRef{
          .name = filter.name(), .typed_config = &filter.typed_config(), .path = p});
      continue;
    }
    if (!IsTerminalNetworkFilter(filter.typed_config())) {
      return InvalidAt(label, absl::StrCat("network filter type ", filter.typed_config().type_url(),
                                           " is not supported by pilotfish"));
    }
    if (i + 1 != chain.filters_size()) {
      return InvalidAt(label, "a terminal filter must be the last filter of its chain");
    }
    XDS_ASSIGN_OR_RETURN(out.terminal, lookup(filter.name(), filter.typed_config(), p, observers));
    if (out.terminal == nullptr) {
      return absl::InternalError(absl::StrCat(label, ": the filter lookup returned no factory"));
    }
  }
  return out;
}

absl::Status TranslateListenerFilters(const Listener& listener, absl::string_view path,
                                      config::Listener* out) {
  for (int i = 0; i < listener.listener_filters_size(); ++i) {
    const auto& filter = listener.listener_filters(i);
    const std::string p = IndexPath(path, "listener_filters", i);
    XDS_RETURN_IF_ERROR(CheckFields(filter, p, {.handled = {"name", "typed_config"}}));
    const absl::string_view type =
        filter.has_typed_config() ? TypeNameOf(filter.typed_config()) : absl::string_view();
    const std::string label = absl::StrCat(p, " (", filter.name(), ")");
    if (type == kOriginalDstType ||
        (type.empty() && (filter.name() == "envoy.filters.listener.original_dst" ||
                          filter.name() == "envoy.listener.original_dst"))) {
      if (filter.has_typed_config()) {
        envoy::extensions::filters::listener::original_dst::v3::OriginalDst config;
        XDS_RETURN_IF_ERROR(
            UnpackAny(filter.typed_config(), &config, FieldPath(p, "typed_config")));
        XDS_RETURN_IF_ERROR(CheckFields(config, FieldPath(p, "typed_config"), {}));
      }
      out->original_dst_filter = true;
      continue;
    }
    const std::string what = type.empty() ? filter.name() : TypeUrl(type);
    if (absl::StrContains(what, "tls_inspector") || absl::StrContains(what, "http_inspector")) {
      return InvalidAt(label, absl::StrCat("listener filter ", what, " is not supported yet"));
    }
    return InvalidAt(label,
                     absl::StrCat("listener filter ", what, " is not supported by pilotfish"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsObserverNetworkFilter(const google::protobuf::Any& typed_config) {
  if (TypeNameOf(typed_config) != kTypedStructType) return false;
  const std::string type = EffectiveTypeNameOf(typed_config);
  return type == kIstioStatsType || type == kIstioMetadataExchangeType;
}

bool IsTerminalNetworkFilter(const google::protobuf::Any& typed_config) {
  const absl::string_view type = TypeNameOf(typed_config);
  return type == kHcmType || type == kTcpProxyType;
}

uint64_t ListenerConfigHash(const Listener& listener) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : Deterministic(listener)) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

absl::StatusOr<config::Listener> TranslateListener(const Listener& listener,
                                                   const NetworkFilterLookup& lookup,
                                                   const std::string& path,
                                                   std::vector<std::string>* warnings) {
  // stat_prefix / metadata are cosmetic; listener_filters_timeout and its companion only matter
  // with inspecting listener filters (rejected); ignore_global_conn_limit,
  // bypass_overload_manager have nothing to bypass; enable_reuse_port only changes how the
  // kernel spreads connections over workers.
  XDS_RETURN_IF_ERROR(CheckFields(
      listener, path,
      {.handled = {"name", "address", "stat_prefix", "filter_chains", "use_original_dst",
                   "default_filter_chain", "per_connection_buffer_limit_bytes", "metadata",
                   "drain_type", "listener_filters", "listener_filters_timeout",
                   "continue_on_listener_filters_timeout", "transparent", "traffic_direction",
                   "bind_to_port", "ignore_global_conn_limit", "bypass_overload_manager",
                   "enable_reuse_port", "reuse_port"},
       .ignored = {"tcp_backlog_size", "max_connections_to_accept_per_socket_event",
                   "connection_balance_config", "tcp_fast_open_queue_length", "access_log"}},
      warnings));
  config::Listener out;
  out.name = listener.name();
  if (!listener.has_address()) return InvalidAt(FieldPath(path, "address"), "is required");
  XDS_ASSIGN_OR_RETURN(out.address, TranslateAddress(listener.address(), FieldPath(path, "address"),
                                                     AddressUse::kListener));
  if (listener.has_bind_to_port()) out.bind_to_port = listener.bind_to_port().value();
  if (listener.has_use_original_dst()) out.use_original_dst = listener.use_original_dst().value();
  if (listener.has_transparent()) out.transparent = listener.transparent().value();
  switch (listener.traffic_direction()) {
    case envoy::config::core::v3::UNSPECIFIED:
      out.traffic_direction = config::TrafficDirection::kUnspecified;
      break;
    case envoy::config::core::v3::INBOUND:
      out.traffic_direction = config::TrafficDirection::kInbound;
      break;
    case envoy::config::core::v3::OUTBOUND:
      out.traffic_direction = config::TrafficDirection::kOutbound;
      break;
    default:
      return InvalidAt(FieldPath(path, "traffic_direction"), "unknown value");
  }
  switch (listener.drain_type()) {
    case Listener::DEFAULT:
      out.drain_type = config::DrainType::kDefault;
      break;
    case Listener::MODIFY_ONLY:
      out.drain_type = config::DrainType::kModifyOnly;
      break;
    default:
      return InvalidAt(FieldPath(path, "drain_type"), "unknown value");
  }
  if (listener.has_per_connection_buffer_limit_bytes()) {
    out.per_connection_buffer_limit_bytes = listener.per_connection_buffer_limit_bytes().value();
  }
  XDS_RETURN_IF_ERROR(TranslateListenerFilters(listener, path, &out));

  // Envoy rejects two chains with the same match, and two chains with the same name.
  absl::flat_hash_map<std::string, std::string> match_owner;
  absl::flat_hash_map<std::string, std::string> name_owner;
  for (int i = 0; i < listener.filter_chains_size(); ++i) {
    const FilterChain& chain = listener.filter_chains(i);
    const std::string p = IndexPath(path, "filter_chains", i);
    XDS_ASSIGN_OR_RETURN(config::FilterChain translated,
                         TranslateFilterChain(chain, p, lookup, warnings));
    auto [it, inserted] = match_owner.try_emplace(Deterministic(chain.filter_chain_match()), p);
    if (!inserted) {
      return InvalidAt(FieldPath(p, "filter_chain_match"),
                       absl::StrCat("the same match as ", it->second));
    }
    if (!chain.name().empty()) {
      auto [name_it, name_inserted] = name_owner.try_emplace(chain.name(), p);
      if (!name_inserted) {
        return InvalidAt(FieldPath(p, "name"),
                         absl::StrCat("duplicate filter chain name '", chain.name(), "' (also ",
                                      name_it->second, ")"));
      }
    }
    out.filter_chains.push_back(std::move(translated));
  }
  if (listener.has_default_filter_chain()) {
    XDS_ASSIGN_OR_RETURN(
        out.default_filter_chain,
        TranslateFilterChain(listener.default_filter_chain(),
                             FieldPath(path, "default_filter_chain"), lookup, warnings));
  }
  if (out.filter_chains.empty() && !out.default_filter_chain.has_value()) {
    return InvalidAt(path, "at least one of filter_chains or default_filter_chain is required");
  }
  out.config_hash = ListenerConfigHash(listener);
  return out;
}

}  // namespace pilotfish::xds
