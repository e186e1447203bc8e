// Listener configuration after translation: address, filter chains and their terminal filters.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proxy/config/types.h"
#include "proxy/net/filter.h"

namespace pilotfish::config {

struct FilterChain {
  std::string name;
  FilterChainMatch match;
  net::NetworkFilterFactorySharedPtr terminal;  // HCM or tcp_proxy
};

struct Listener {
  std::string name;
  SocketAddress address;
  bool bind_to_port = true;
  bool use_original_dst = false;     // hand redirected connections to the matching listener
  bool original_dst_filter = false;  // envoy.filters.listener.original_dst present
  bool transparent = false;
  TrafficDirection traffic_direction = TrafficDirection::kUnspecified;
  DrainType drain_type = DrainType::kDefault;
  uint32_t per_connection_buffer_limit_bytes = 1024 * 1024;
  std::vector<FilterChain> filter_chains;
  std::optional<FilterChain> default_filter_chain;
  // A hash of the listener's source proto: an update with the same hash leaves it untouched.
  uint64_t config_hash = 0;
};

}  // namespace pilotfish::config
