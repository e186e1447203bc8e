// Decoding xDS resources: type checks, names, content hashes.
#include "xds/client/resources.h"

#include "absl/strings/str_cat.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace pilotfish::xds {

const char* ShortTypeName(const std::string& type_url) {
  if (type_url == kListenerTypeUrl) return "lds";
  if (type_url == kClusterTypeUrl) return "cds";
  if (type_url == kRouteTypeUrl) return "rds";
  if (type_url == kEndpointTypeUrl) return "eds";
  return "";
}

uint64_t MessageHash(const google::protobuf::Message& message, std::string* out_bytes) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  if (out_bytes != nullptr) *out_bytes = std::move(bytes);
  return h;
}

namespace {

template <typename T>
absl::StatusOr<Resource> Decode(const google::protobuf::Any& any,
                                std::string (*name_of)(const T&)) {
  auto message = std::make_shared<T>();
  if (!any.UnpackTo(message.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot decode a ", T::descriptor()->full_name(), " (malformed bytes)"));
  }
  Resource r;
  r.name = name_of(*message);
  if (r.name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", T::descriptor()->full_name(), " has no name"));
  }
  r.hash = MessageHash(*message, &r.bytes);
  r.message = std::move(message);
  return r;
}

}  // namespace

absl::StatusOr<Resource> DecodeResource(const google::protobuf::Any& any,
                                        const std::string& type_url) {
  if (any.type_url() == "type.googleapis.com/envoy.service.discovery.v3.Resource") {
    envoy::service::discovery::v3::Resource wrapper;
    if (!any.UnpackTo(&wrapper)) {
      return absl::InvalidArgumentError("cannot decode an envoy.service.discovery.v3.Resource");
    }
    auto inner = DecodeResource(wrapper.resource(), type_url);
    if (inner.ok() && !wrapper.version().empty()) inner->version = wrapper.version();
    return inner;
  }
  if (any.type_url() != type_url) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource of type ", any.type_url(), " in a response for ", type_url));
  }
  if (type_url == kListenerTypeUrl) {
    return Decode<envoy::config::listener::v3::Listener>(
        any, +[](const envoy::config::listener::v3::Listener& m) { return m.name(); });
  }
  if (type_url == kClusterTypeUrl) {
    return Decode<envoy::config::cluster::v3::Cluster>(
        any, +[](const envoy::config::cluster::v3::Cluster& m) { return m.name(); });
  }
  if (type_url == kRouteTypeUrl) {
    return Decode<envoy::config::route::v3::RouteConfiguration>(
        any, +[](const envoy::config::route::v3::RouteConfiguration& m) { return m.name(); });
  }
  if (type_url == kEndpointTypeUrl) {
    return Decode<envoy::config::endpoint::v3::ClusterLoadAssignment>(
        any, +[](const envoy::config::endpoint::v3::ClusterLoadAssignment& m) {
          return m.cluster_name();
        });
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported resource type ", type_url));
}

}  // namespace pilotfish::xds
