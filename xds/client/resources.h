// The xDS resource types pilotfish subscribes to, and decoding a resource from its Any.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/btree_set.h"
#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"

namespace pilotfish::xds {

// Resource names, ordered (requests list them in order). A B-tree, not std::set: a mesh has
// thousands of them and a tree node per name costs ~48 bytes more than a B-tree slot.
using NameSet = absl::btree_set<std::string>;

inline constexpr char kListenerTypeUrl[] = "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr char kClusterTypeUrl[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr char kRouteTypeUrl[] =
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
inline constexpr char kEndpointTypeUrl[] =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

// The short name Envoy's stats and logs use: "lds", "cds", "rds", "eds" ("" if unknown).
const char* ShortTypeName(const std::string& type_url);

// One decoded resource of an update.
struct Resource {
  std::string name;
  std::string version;  // delta: the resource's version; SotW: the response's version_info
  std::shared_ptr<const google::protobuf::Message> message;
  uint64_t hash = 0;  // FNV-1a of the deterministic serialization: equal hash = unchanged
  std::string bytes;  // that serialization (kept for /config_dump: far smaller than a message)
};

// Decodes `any` (also when wrapped in envoy.service.discovery.v3.Resource) as `type_url`;
// the error says what is wrong (type mismatch, bad bytes, no name).
absl::StatusOr<Resource> DecodeResource(const google::protobuf::Any& any,
                                        const std::string& type_url);

// FNV-1a 64 of the message's deterministic serialization; `bytes` (may be null) receives it.
uint64_t MessageHash(const google::protobuf::Message& message, std::string* bytes = nullptr);

}  // namespace pilotfish::xds
