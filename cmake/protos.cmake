# Generates C++ for the transitive closure of the Envoy v3 protos pilotfish uses.
# The sources come from the pinned @grpc/grpc-js-xds npm package, fetched into the build tree.
# Every root here is also referenced in xds/translate/proto_types.cc (EnsureEnvoyProtosLinked),
# so its descriptors are linked and its `@type` URLs resolve.
set(PF_PROTO_ROOTS
  envoy/config/bootstrap/v3/bootstrap.proto
  envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
  envoy/extensions/filters/http/router/v3/router.proto
  envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto
  envoy/extensions/filters/listener/original_dst/v3/original_dst.proto
  envoy/extensions/filters/http/fault/v3/fault.proto
  envoy/extensions/access_loggers/file/v3/file.proto
  envoy/extensions/access_loggers/stream/v3/stream.proto
  envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto
  envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto
  envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.proto
  udpa/type/v1/typed_struct.proto
  envoy/extensions/upstreams/http/v3/http_protocol_options.proto
  envoy/service/discovery/v3/ads.proto
  envoy/service/listener/v3/lds.proto
  envoy/service/cluster/v3/cds.proto
  envoy/service/route/v3/rds.proto
  envoy/service/endpoint/v3/eds.proto
  envoy/admin/v3/config_dump.proto
  envoy/admin/v3/clusters.proto
  envoy/admin/v3/listeners.proto
  envoy/admin/v3/server_info.proto
  envoy/admin/v3/memory.proto
  envoy/admin/v3/certs.proto
  envoy/admin/v3/init_dump.proto)

set(PF_PROTO_DIR ${CMAKE_BINARY_DIR}/protos)
execute_process(
  COMMAND bash ${CMAKE_SOURCE_DIR}/tools/fetch_protos.sh ${PF_PROTO_DIR} ${PF_PROTO_ROOTS}
  RESULT_VARIABLE pf_fetch_rc)
if(NOT pf_fetch_rc EQUAL 0)
  message(FATAL_ERROR "fetching the Envoy v3 protos failed (tools/fetch_protos.sh)")
endif()
file(STRINGS ${PF_PROTO_DIR}/proto-closure.txt PF_PROTO_FILES)

set(PF_PROTO_SRC ${PF_PROTO_DIR}/proto-src)
set(PF_PROTO_INCLUDES
  -I${PF_PROTO_SRC}/envoy-api -I${PF_PROTO_SRC}/xds -I${PF_PROTO_SRC}/googleapis
  -I${PF_PROTO_SRC}/protoc-gen-validate)
set(PF_GEN_DIR ${PF_PROTO_DIR}/gen)
file(MAKE_DIRECTORY ${PF_GEN_DIR})

set(pf_pb_srcs)
set(pf_pb_hdrs)
foreach(f ${PF_PROTO_FILES})
  string(REGEX REPLACE "\\.proto$" "" base ${f})
  list(APPEND pf_pb_srcs ${PF_GEN_DIR}/${base}.pb.cc)
  list(APPEND pf_pb_hdrs ${PF_GEN_DIR}/${base}.pb.h)
endforeach()

add_custom_command(
  OUTPUT ${pf_pb_srcs} ${pf_pb_hdrs}
  COMMAND protobuf::protoc ${PF_PROTO_INCLUDES} --cpp_out=${PF_GEN_DIR} ${PF_PROTO_FILES}
  DEPENDS ${PF_PROTO_DIR}/proto-closure.txt
  COMMENT "protoc: the Envoy v3 proto closure"
  VERBATIM)

add_library(pf_envoy_protos STATIC ${pf_pb_srcs})
target_include_directories(pf_envoy_protos SYSTEM PUBLIC ${PF_GEN_DIR})
target_link_libraries(pf_envoy_protos PUBLIC pf_dep_protobuf)
# Generated code: no debug info (keeps ccache hits across build trees), no warnings of ours.
target_compile_options(pf_envoy_protos PRIVATE -g0 -w)

# gRPC stubs for the xDS services: ADS (used by xds/) and the per-type LDS/CDS/RDS/EDS services
# (served by tools/xds_server).
set(PF_GRPC_PROTOS
  envoy/service/discovery/v3/ads.proto
  envoy/service/listener/v3/lds.proto
  envoy/service/cluster/v3/cds.proto
  envoy/service/route/v3/rds.proto
  envoy/service/endpoint/v3/eds.proto)
set(pf_grpc_srcs)
set(pf_grpc_hdrs)
foreach(f ${PF_GRPC_PROTOS})
  string(REGEX REPLACE "\\.proto$" "" base ${f})
  list(APPEND pf_grpc_srcs ${PF_GEN_DIR}/${base}.grpc.pb.cc)
  list(APPEND pf_grpc_hdrs ${PF_GEN_DIR}/${base}.grpc.pb.h)
endforeach()
add_custom_command(
  OUTPUT ${pf_grpc_srcs} ${pf_grpc_hdrs}
  COMMAND protobuf::protoc ${PF_PROTO_INCLUDES} --grpc_out=${PF_GEN_DIR}
          --plugin=protoc-gen-grpc=${PF_GRPC_CPP_PLUGIN} ${PF_GRPC_PROTOS}
  DEPENDS ${PF_PROTO_DIR}/proto-closure.txt
  VERBATIM)
add_library(pf_envoy_grpc STATIC ${pf_grpc_srcs})
target_link_libraries(pf_envoy_grpc PUBLIC pf_envoy_protos pf_dep_grpc)
target_compile_options(pf_envoy_grpc PRIVATE -g0 -w)
