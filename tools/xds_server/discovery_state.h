// The xDS protocol state of one stream, without gRPC: which resources the client subscribed
// to and has, ACK/NACK by nonce, and the responses owed after a request or a reload. One class
// for state of the world (SotW), one for delta (incremental); both serve ADS (any type) and the
// per-type services (one fixed type).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "tools/xds_server/resource_store.h"

namespace pilotfish::xds_server {

inline constexpr char kListenerType[] = "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr char kClusterType[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr char kRouteType[] = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
inline constexpr char kEndpointType[] =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

// Counters shared by every stream of a service.
struct ServiceCounters {
  std::atomic<uint64_t> acks{0};
  std::atomic<uint64_t> nacks{0};
  std::atomic<uint64_t> nonces{0};
};

// What a stream's protocol state needs from its surroundings.
struct StreamContext {
  uint64_t id = 0;
  std::string service;     // "ads", "lds", "cds", "rds", "eds"
  std::string fixed_type;  // the type URL of a per-type service; empty for ADS
  std::string node = "-";  // node.id from the first request that had one
  LogFn log;
  ServiceCounters* counters = nullptr;

  std::string NextNonce() const { return std::to_string(++counters->nonces); }
  // The request's type URL (a per-type service may leave it empty), or INVALID_ARGUMENT.
  absl::Status ResolveType(const std::string& requested, std::string* type) const;
  void SetNode(const envoy::config::core::v3::Node& node);
  // Logs (and counts) an ACK, or a NACK when error_message is not null.
  void LogAckOrNack(const std::string& type, const std::string& version, const std::string& nonce,
                    const std::string* error_message) const;
};

class SotwState {
 public:
  using Response = envoy::service::discovery::v3::DiscoveryResponse;

  explicit SotwState(StreamContext* context) : context_(context) {}

  // Handles a request; appends the responses to send (in order) to `out`.
  absl::Status OnRequest(const envoy::service::discovery::v3::DiscoveryRequest& request,
                         const Snapshot& snapshot, std::vector<Response>* out);
  // After a reload: a response for each subscribed type whose resources, as this client sees
  // them, changed.
  void OnChanged(const std::vector<std::string>& types, const Snapshot& snapshot,
                 std::vector<Response>* out);

 private:
  struct TypeState {
    bool wildcard = false;
    std::set<std::string> names;
    bool responded = false;
    std::string nonce;                        // of the last response
    std::string version;                      // of the last response
    std::string acked_nonce;                  // the last nonce ACKed or NACKed
    std::map<std::string, std::string> sent;  // name -> resource version, last response
  };
  void Respond(const std::string& type, TypeState& state, const Snapshot& snapshot, bool force,
               std::vector<Response>* out);

  StreamContext* context_;
  std::map<std::string, TypeState> types_;
};

class DeltaState {
 public:
  using Response = envoy::service::discovery::v3::DeltaDiscoveryResponse;

  explicit DeltaState(StreamContext* context) : context_(context) {}

  absl::Status OnRequest(const envoy::service::discovery::v3::DeltaDiscoveryRequest& request,
                         const Snapshot& snapshot, std::vector<Response>* out);
  void OnChanged(const std::vector<std::string>& types, const Snapshot& snapshot,
                 std::vector<Response>* out);

 private:
  struct TypeState {
    bool wildcard = false;
    std::set<std::string> names;               // explicit subscriptions
    std::map<std::string, std::string> known;  // name -> version the client has (we believe)
    std::string nonce;                         // of the last response
    std::string version;                       // system_version_info of the last response
    std::string acked_nonce;                   // the last nonce ACKed or NACKed
  };
  void Respond(const std::string& type, TypeState& state, const Snapshot& snapshot, bool force,
               std::vector<Response>* out);

  StreamContext* context_;
  std::map<std::string, TypeState> types_;
};

}  // namespace pilotfish::xds_server
