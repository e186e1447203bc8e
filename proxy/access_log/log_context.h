// What an access log line is made from: the stream's facts, its headers and its connection.
#pragma once

#include <cstdint>

#include "proxy/config/types.h"
#include "proxy/http/header_map.h"
#include "proxy/http/stream_info.h"
#include "proxy/net/address.h"

namespace pilotfish::stats {
class Store;
}

namespace pilotfish::access_log {

// Borrowed views, valid for the duration of one Log() call. A tcp_proxy session has no headers.
struct LogContext {
  const http::StreamInfo& info;
  const http::RequestHeaders* request_headers = nullptr;
  const http::ResponseHeaders* response_headers = nullptr;
  // %PROTOCOL%: "HTTP/1.1" or "HTTP/1.0"; null for TCP (then "-").
  const char* protocol = nullptr;
  const net::Address* downstream_local = nullptr;   // after original-dst recovery
  const net::Address* downstream_remote = nullptr;  // the peer
  uint64_t connection_id = 0;
  // For stream observers: the process's stats store (null: no stats) and the accepting
  // listener's traffic_direction.
  stats::Store* stats = nullptr;
  config::TrafficDirection direction = config::TrafficDirection::kUnspecified;
};

}  // namespace pilotfish::access_log
