// See proto_types.h.
#include "xds/translate/proto_types.h"

#include "absl/strings/str_cat.h"
#include "envoy/admin/v3/certs.pb.h"
#include "envoy/admin/v3/clusters.pb.h"
#include "envoy/admin/v3/config_dump.pb.h"
#include "envoy/admin/v3/init_dump.pb.h"
#include "envoy/admin/v3/listeners.pb.h"
#include "envoy/admin/v3/memory.pb.h"
#include "envoy/admin/v3/server_info.pb.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb.h"
#include "envoy/extensions/access_loggers/stream/v3/stream.pb.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.pb.h"
#include "envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.pb.h"
#include "envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.pb.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"
#include "envoy/service/cluster/v3/cds.pb.h"
#include "envoy/service/discovery/v3/ads.pb.h"
#include "envoy/service/endpoint/v3/eds.pb.h"
#include "envoy/service/listener/v3/lds.pb.h"
#include "envoy/service/route/v3/rds.pb.h"
#include "udpa/type/v1/typed_struct.pb.h"

namespace pilotfish::xds {

absl::string_view TypeNameOf(const google::protobuf::Any& any) {
  absl::string_view url = any.type_url();
  const size_t slash = url.rfind('/');
  return slash == absl::string_view::npos ? url : url.substr(slash + 1);
}

std::string TypeUrl(absl::string_view type_name) { return absl::StrCat(kTypeUrlPrefix, type_name); }

std::string EffectiveTypeNameOf(const google::protobuf::Any& any) {
  if (TypeNameOf(any) != kTypedStructType) return std::string(TypeNameOf(any));
  udpa::type::v1::TypedStruct typed;
  if (!typed.ParseFromString(any.value())) return std::string(kTypedStructType);
  const absl::string_view url = typed.type_url();
  const size_t slash = url.rfind('/');
  return std::string(slash == absl::string_view::npos ? url : url.substr(slash + 1));
}

absl::Status UnpackAny(const google::protobuf::Any& any, google::protobuf::Message* message,
                       absl::string_view path) {
  const std::string& expected = message->GetDescriptor()->full_name();
  if (TypeNameOf(any) != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": expected type ", TypeUrl(expected), ", got ", any.type_url()));
  }
  if (!message->ParseFromString(any.value())) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot parse ", expected));
  }
  return absl::OkStatus();
}

void EnsureEnvoyProtosLinked() {
  // Each descriptor() call references the generated file, whose descriptor table pulls in the
  // files it imports; the result is cached by protobuf, so repeated calls are cheap.
  static const bool linked = [] {
    const google::protobuf::Descriptor* roots[] = {
        envoy::config::bootstrap::v3::Bootstrap::descriptor(),
        envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager::
            descriptor(),
        envoy::extensions::filters::http::router::v3::Router::descriptor(),
        envoy::extensions::filters::http::fault::v3::HTTPFault::descriptor(),
        envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy::descriptor(),
        envoy::extensions::filters::listener::original_dst::v3::OriginalDst::descriptor(),
        envoy::extensions::access_loggers::file::v3::FileAccessLog::descriptor(),
        envoy::extensions::access_loggers::stream::v3::StdoutAccessLog::descriptor(),
        envoy::extensions::retry::host::previous_hosts::v3::PreviousHostsPredicate::descriptor(),
        envoy::extensions::transport_sockets::raw_buffer::v3::RawBuffer::descriptor(),
        envoy::extensions::resource_monitors::downstream_connections::v3::
            DownstreamConnectionsConfig::descriptor(),
        udpa::type::v1::TypedStruct::descriptor(),
        envoy::extensions::upstreams::http::v3::HttpProtocolOptions::descriptor(),
        envoy::service::discovery::v3::DiscoveryRequest::descriptor(),
        envoy::service::listener::v3::LdsDummy::descriptor(),
        envoy::service::cluster::v3::CdsDummy::descriptor(),
        envoy::service::route::v3::RdsDummy::descriptor(),
        envoy::service::endpoint::v3::EdsDummy::descriptor(),
        envoy::admin::v3::ConfigDump::descriptor(),
        envoy::admin::v3::Clusters::descriptor(),
        envoy::admin::v3::Listeners::descriptor(),
        envoy::admin::v3::ServerInfo::descriptor(),
        envoy::admin::v3::Memory::descriptor(),
        envoy::admin::v3::Certificates::descriptor(),
        envoy::admin::v3::UnreadyTargetsDumps::descriptor(),
    };
    return sizeof(roots) > 0;
  }();
  (void)linked;
}

}  // namespace pilotfish::xds
