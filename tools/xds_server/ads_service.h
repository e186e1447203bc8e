// The xDS gRPC services over a ResourceStore: ADS and the per-type LDS, CDS, RDS and EDS
// services, each in state-of-the-world and delta mode. A stream runs on a thread of gRPC's sync
// server plus one thread of its own that reads requests; a reload wakes every stream, which
// pushes what changed for its client. Protocol rules are in discovery_state.h.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/sync_stream.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "tools/xds_server/discovery_state.h"
#include "tools/xds_server/resource_store.h"

namespace pilotfish::xds_server {

class StreamInbox;

class AdsService {
 public:
  using SotwStream = grpc::ServerReaderWriter<envoy::service::discovery::v3::DiscoveryResponse,
                                              envoy::service::discovery::v3::DiscoveryRequest>;
  using DeltaStream =
      grpc::ServerReaderWriter<envoy::service::discovery::v3::DeltaDiscoveryResponse,
                               envoy::service::discovery::v3::DeltaDiscoveryRequest>;

  // `store` must outlive this service; the service must outlive the gRPC server.
  AdsService(ResourceStore* store, LogFn log);
  ~AdsService();
  AdsService(const AdsService&) = delete;
  AdsService& operator=(const AdsService&) = delete;

  // Registers ADS, LDS, CDS, RDS and EDS with `builder`.
  void RegisterWith(grpc::ServerBuilder* builder);

  // Ends every stream and refuses new ones. Call before grpc::Server::Shutdown.
  void Shutdown();

  uint64_t acks() const { return counters_.acks; }
  uint64_t nacks() const { return counters_.nacks; }
  size_t open_streams() const;

  // One stream, until the client or the server ends it. `fixed_type` is the type URL of a
  // per-type service, empty for ADS. Called by the gRPC service classes.
  grpc::Status ServeSotw(grpc::ServerContext* context, SotwStream* stream, const char* service,
                         const char* fixed_type);
  grpc::Status ServeDelta(grpc::ServerContext* context, DeltaStream* stream, const char* service,
                          const char* fixed_type);

 private:
  template <typename State, typename Request, typename Response>
  grpc::Status Serve(grpc::ServerContext* context,
                     grpc::ServerReaderWriter<Response, Request>* stream, const char* mode,
                     const char* service, const char* fixed_type);
  bool Register(StreamInbox* inbox);
  void Unregister(StreamInbox* inbox);
  void OnStoreChanged(const std::vector<std::string>& types);

  ResourceStore* const store_;
  const LogFn log_;
  ServiceCounters counters_;
  std::atomic<uint64_t> stream_ids_{0};
  std::vector<std::unique_ptr<grpc::Service>> services_;
  int listener_id_ = 0;

  mutable std::mutex mu_;
  std::set<StreamInbox*> streams_;
  bool stopping_ = false;
};

}  // namespace pilotfish::xds_server
