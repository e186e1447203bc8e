// Listener (static or LDS) -> config::Listener: address, listener filters (original_dst),
// filter chains with their match and terminal network filter, and a config hash.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "google/protobuf/any.pb.h"
#include "proxy/config/listener.h"
#include "proxy/net/filter.h"

namespace pilotfish::xds {

// A non-terminal network filter of a chain (Istio's istio.stats / istio.metadata_exchange) that
// the terminal filter after it takes in: they watch its connections and change no bytes.
struct NetworkFilterRef {
  std::string name;
  const google::protobuf::Any* typed_config;  // borrowed from the Listener proto
  std::string path;
};

// Builds the terminal network filter (HCM, tcp_proxy) of a filter chain from its typed_config.
// `path` is the filter's path ("...filter_chains[0].filters[0]"); errors should start with it.
// `observers`: the chain's non-terminal filters before it, in order.
using NetworkFilterLookup = std::function<absl::StatusOr<net::NetworkFilterFactorySharedPtr>(
    const std::string& filter_name, const google::protobuf::Any& typed_config,
    const std::string& path, const std::vector<NetworkFilterRef>& observers)>;

// True for the network filter types that end a chain (http_connection_manager, tcp_proxy).
bool IsTerminalNetworkFilter(const google::protobuf::Any& typed_config);
// True for the non-terminal filters pilotfish accepts before them (TypedStructs naming Istio's
// stats.PluginConfig or MetadataExchange).
bool IsObserverNetworkFilter(const google::protobuf::Any& typed_config);

// `path` is where the Listener sits, e.g. "static_resources.listeners[0]".
absl::StatusOr<config::Listener> TranslateListener(
    const envoy::config::listener::v3::Listener& listener, const NetworkFilterLookup& lookup,
    const std::string& path, std::vector<std::string>* warnings);

// FNV-1a 64 of the listener's deterministic serialization (Listener::config_hash).
uint64_t ListenerConfigHash(const envoy::config::listener::v3::Listener& listener);

}  // namespace pilotfish::xds
