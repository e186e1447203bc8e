// The ADS client: one gRPC stream (state of the world or delta) carrying CDS, EDS, LDS and RDS,
// with Envoy's protocol rules: ACK/NACK by nonce, wildcard LDS/CDS, RDS/EDS by name, resources
// not asked for ignored, reconnect with jittered exponential back-off, resync with the versions
// it has. Protocol state lives on the main loop; gRPC's threads only hand messages over.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "proxy/event/dispatcher.h"
#include "xds/client/grpc_stream.h"
#include "xds/client/resources.h"

namespace pilotfish::xds {

// Where the config goes: implemented by the bootstrap's config manager, on the main loop.
class XdsSink {
 public:
  virtual ~XdsSink() = default;
  // Added or changed (`updated`) and deleted (`removed`) resources of one type. All or nothing:
  // a non-OK status is NACKed with its message and nothing of the update is kept.
  virtual absl::Status OnUpdate(const std::string& type_url, const std::vector<Resource>& updated,
                                const std::vector<std::string>& removed) = 0;
  // How each response (or the stream) ended, for Envoy's update_* stats.
  enum class Outcome { kSuccess, kRejected, kNetworkFailure };
  virtual void OnOutcome(const std::string& type_url, Outcome outcome, const std::string& version) {
  }
  virtual void OnConnectedState(bool connected) {}
};

// Envoy's per-subscription stats (e.g. listener_manager.lds.update_success).
struct SubscriptionStats {
  uint64_t update_attempt = 0;
  uint64_t update_success = 0;
  uint64_t update_rejected = 0;
  uint64_t update_failure = 0;
  uint64_t version = 0;  // hash of the accepted version_info, as Envoy's `version` gauge
  std::string version_text;
  std::string last_error;
};

struct AdsClientConfig {
  std::string target;  // gRPC target: "ipv4:127.0.0.1:18000", "unix:/path", "dns:///host:port"
  bool delta = false;  // DELTA_GRPC (else GRPC, state of the world)
  bool set_node_on_first_message_only = false;
  envoy::config::core::v3::Node node;
  bool subscribe_lds = true;
  bool subscribe_cds = true;
  // Empty: ADS (every type on one stream). Otherwise the one type this client fetches over its
  // own service (ListenerDiscoveryService, ...), as `api_config_source` asks.
  std::string only_type_url;
};

class AdsClient {
 public:
  AdsClient(event::Dispatcher& main, AdsClientConfig config, XdsSink& sink);
  ~AdsClient();  // cancels the stream and waits for gRPC to let go of it

  void Start();
  // The names needed of a by-name type (RDS route configs, EDS service names). A change sends a
  // (un)subscription; during an update it is sent after that update's ACK.
  void SetInterest(const std::string& type_url, NameSet names);

  bool connected() const { return stream_ != nullptr && established_; }
  const SubscriptionStats& stats(const std::string& type_url) const;
  uint64_t reconnects() const { return reconnects_; }
  // When the response being applied left gRPC (valid inside XdsSink::OnUpdate).
  std::chrono::steady_clock::time_point received_at() const { return received_at_; }

 private:
  struct StreamDone;
  using SotwStream = GrpcStream<envoy::service::discovery::v3::DiscoveryRequest,
                                envoy::service::discovery::v3::DiscoveryResponse>;
  using DeltaStream = GrpcStream<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                                 envoy::service::discovery::v3::DeltaDiscoveryResponse>;

  struct TypeState {
    std::string type_url;
    bool wildcard = false;
    bool enabled = false;                             // wildcard types: subscribed at all
    NameSet names;                                    // by-name types: what the proxy needs
    NameSet sent_names;                               // delta: subscribed on the current stream
    std::string version_info;                         // SotW: last accepted
    std::string nonce;                                // last response nonce on the current stream
    absl::btree_map<std::string, std::string> known;  // accepted resources: name -> version
    bool requested = false;                           // a request went out on the current stream
    SubscriptionStats stats;
  };

  void Connect();
  void OnStreamClosed(uint64_t generation, const grpc::Status& status);
  void ScheduleReconnect();
  TypeState* Find(const std::string& type_url);
  bool Handles(const TypeState& ts) const;
  void SendSubscription(TypeState& ts);
  void SendSotw(TypeState& ts, const absl::Status& nack);
  void OnSotwResponse(uint64_t generation,
                      const envoy::service::discovery::v3::DiscoveryResponse& r);
  void OnDeltaResponse(uint64_t generation,
                       const envoy::service::discovery::v3::DeltaDiscoveryResponse& r);
  absl::Status Apply(TypeState& ts, std::vector<Resource> updated, std::vector<std::string> removed,
                     const std::string& version);
  void FlushDeferredInterest();
  void FillNode(envoy::config::core::v3::Node* node);

  event::Dispatcher& main_;
  AdsClientConfig config_;
  XdsSink& sink_;
  std::vector<TypeState> types_;  // CDS, EDS, LDS, RDS: make-before-break order
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<void> stub_;  // the current stream's generated stub
  // Starts the RPC for the configured service (ADS or one per-type service) on channel_.
  void StartSotwRpc(grpc::ClientContext* ctx,
                    grpc::ClientBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                                            envoy::service::discovery::v3::DiscoveryResponse>* r);
  void StartDeltaRpc(
      grpc::ClientContext* ctx,
      grpc::ClientBidiReactor<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                              envoy::service::discovery::v3::DeltaDiscoveryResponse>* r);
  std::shared_ptr<SotwStream> sotw_;
  std::shared_ptr<DeltaStream> delta_;
  std::shared_ptr<StreamDone> done_;  // set once gRPC is finished with the current stream
  void* stream_ = nullptr;            // the current stream (either kind), null while disconnected
  uint64_t generation_ = 0;           // stream generation: messages of an old stream are dropped
  bool established_ = false;          // a response arrived on the current stream
  bool first_message_ = true;
  bool applying_ = false;
  std::set<std::string> deferred_interest_;  // types whose interest changed during an update
  event::TimerPtr retry_timer_;
  uint32_t backoff_attempt_ = 0;
  uint64_t reconnects_ = 0;
  std::chrono::steady_clock::time_point received_at_;
  std::mt19937_64 rng_;
  std::shared_ptr<bool> alive_;
};

}  // namespace pilotfish::xds
