// Type names of the Envoy extension protos pilotfish recognises inside google.protobuf.Any, and
// a hook that keeps their generated descriptors linked into every binary that loads config.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"

namespace pilotfish::xds {

inline constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com/";

inline constexpr absl::string_view kHcmType =
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
inline constexpr absl::string_view kTcpProxyType =
    "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
inline constexpr absl::string_view kRouterType = "envoy.extensions.filters.http.router.v3.Router";
inline constexpr absl::string_view kFaultType = "envoy.extensions.filters.http.fault.v3.HTTPFault";
inline constexpr absl::string_view kOriginalDstType =
    "envoy.extensions.filters.listener.original_dst.v3.OriginalDst";
inline constexpr absl::string_view kFileAccessLogType =
    "envoy.extensions.access_loggers.file.v3.FileAccessLog";
inline constexpr absl::string_view kStdoutAccessLogType =
    "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";
inline constexpr absl::string_view kStderrAccessLogType =
    "envoy.extensions.access_loggers.stream.v3.StderrAccessLog";
inline constexpr absl::string_view kHttpProtocolOptionsType =
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
inline constexpr absl::string_view kPreviousHostsType =
    "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate";
inline constexpr absl::string_view kRawBufferType =
    "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";
inline constexpr absl::string_view kTypedStructType = "udpa.type.v1.TypedStruct";
// Istio's stats and metadata-exchange filters, sent as TypedStructs naming these types.
inline constexpr absl::string_view kIstioStatsType = "stats.PluginConfig";
inline constexpr absl::string_view kIstioMetadataExchangeType =
    "envoy.tcp.metadataexchange.config.MetadataExchange";
inline constexpr absl::string_view kTlsTypePrefix = "envoy.extensions.transport_sockets.tls.";

// The message type name of an Any ("a.b.C" from "type.googleapis.com/a.b.C").
absl::string_view TypeNameOf(const google::protobuf::Any& any);
std::string TypeUrl(absl::string_view type_name);
// The type an Any carries, looking through a udpa.type.v1.TypedStruct to the type it names
// (Istio wraps filters whose protos Envoy's API does not ship that way).
std::string EffectiveTypeNameOf(const google::protobuf::Any& any);

// Unpacks `any` into `message`; the error names `path`, the expected and the actual type.
absl::Status UnpackAny(const google::protobuf::Any& any, google::protobuf::Message* message,
                       absl::string_view path);

// References the generated descriptors of every root proto in cmake/protos.cmake (keep the two
// lists in step), so that the static linker keeps them and DescriptorPool::generated_pool()
// can resolve their type URLs (JSON/YAML `@type`). Cheap; call before parsing config.
void EnsureEnvoyProtosLinked();

}  // namespace pilotfish::xds
