// ADS client: stream lifecycle, SotW and delta request building, ACK/NACK, back-off.
#include "xds/client/ads_client.h"

#include <algorithm>
#include <condition_variable>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "envoy/service/cluster/v3/cds.grpc.pb.h"
#include "envoy/service/endpoint/v3/eds.grpc.pb.h"
#include "envoy/service/listener/v3/lds.grpc.pb.h"
#include "envoy/service/route/v3/rds.grpc.pb.h"
#include "proxy/common/log.h"

namespace pilotfish::xds {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

// Envoy's defaults for xDS stream retries: 500 ms doubling up to 30 s, fully jittered.
constexpr uint64_t kBackoffBaseMs = 500;
constexpr uint64_t kBackoffMaxMs = 30000;

}  // namespace

// Lets the destructor wait until gRPC has finished with a stream it cancelled.
struct AdsClient::StreamDone {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  void Set() {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return done; });
  }
};
namespace {

uint64_t Fnv(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

AdsClient::AdsClient(event::Dispatcher& main, AdsClientConfig config, XdsSink& sink)
    : main_(main),
      config_(std::move(config)),
      sink_(sink),
      rng_(std::random_device{}()),
      alive_(std::make_shared<bool>(true)) {
  for (const char* url : {kClusterTypeUrl, kEndpointTypeUrl, kListenerTypeUrl, kRouteTypeUrl}) {
    TypeState ts;
    ts.type_url = url;
    ts.wildcard = ts.type_url == kClusterTypeUrl || ts.type_url == kListenerTypeUrl;
    ts.enabled = (ts.type_url == kClusterTypeUrl && config_.subscribe_cds) ||
                 (ts.type_url == kListenerTypeUrl && config_.subscribe_lds);
    types_.push_back(std::move(ts));
  }
  retry_timer_ = std::make_unique<event::Timer>(main_, [this] { Connect(); });
}

AdsClient::~AdsClient() {
  *alive_ = false;
  retry_timer_.reset();
  if (sotw_ != nullptr) sotw_->Cancel();
  if (delta_ != nullptr) delta_->Cancel();
  if (done_ != nullptr) done_->Wait();
}

const SubscriptionStats& AdsClient::stats(const std::string& type_url) const {
  static const SubscriptionStats kNone;
  for (const auto& ts : types_) {
    if (ts.type_url == type_url) return ts.stats;
  }
  return kNone;
}

AdsClient::TypeState* AdsClient::Find(const std::string& type_url) {
  for (auto& ts : types_) {
    if (ts.type_url == type_url) return &ts;
  }
  return nullptr;
}

void AdsClient::Start() { Connect(); }

void AdsClient::FillNode(envoy::config::core::v3::Node* node) {
  if (!first_message_ && config_.set_node_on_first_message_only) return;
  *node = config_.node;
  first_message_ = false;
}

void AdsClient::Connect() {
  ++generation_;
  const uint64_t generation = generation_;
  established_ = false;
  first_message_ = true;
  for (auto& ts : types_) {
    ts.nonce.clear();
    ts.requested = false;
    ts.sent_names.clear();
  }
  // A fresh channel per attempt: gRPC's own reconnect back-off (up to minutes) stays out of it.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 300000);
  channel_ = grpc::CreateCustomChannel(config_.target, grpc::InsecureChannelCredentials(), args);
  done_ = std::make_shared<StreamDone>();
  std::weak_ptr<bool> alive = alive_;
  auto done = done_;
  auto on_close = [this, alive, generation, done](grpc::Status status) {
    main_.Post([this, alive, generation, status] {
      if (auto a = alive.lock(); a != nullptr && *a) OnStreamClosed(generation, status);
    });
    done->Set();
  };
  PF_LOG(kInfo, "xds: connecting to %s (%s)", config_.target.c_str(),
         config_.delta ? "delta" : "state of the world");
  if (config_.delta) {
    delta_ = DeltaStream::Start(
        [this](grpc::ClientContext* ctx,
               grpc::ClientBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>* r) {
          StartDeltaRpc(ctx, r);
        },
        [this, alive, generation](DeltaStream::Message r) {
          const auto received = std::chrono::steady_clock::now();
          main_.Post([this, alive, generation, received, r = std::move(r)] {
            if (auto a = alive.lock(); a == nullptr || !*a) return;
            received_at_ = received;
            OnDeltaResponse(generation, *r);
          });
        },
        on_close);
    stream_ = delta_.get();
  } else {
    sotw_ = SotwStream::Start(
        [this](grpc::ClientContext* ctx,
               grpc::ClientBidiReactor<DiscoveryRequest, DiscoveryResponse>* r) {
          StartSotwRpc(ctx, r);
        },
        [this, alive, generation](SotwStream::Message r) {
          const auto received = std::chrono::steady_clock::now();
          main_.Post([this, alive, generation, received, r = std::move(r)] {
            if (auto a = alive.lock(); a == nullptr || !*a) return;
            received_at_ = received;
            OnSotwResponse(generation, *r);
          });
        },
        on_close);
    stream_ = sotw_.get();
  }
  for (auto& ts : types_) {
    if (Handles(ts) && (ts.wildcard ? ts.enabled : !ts.names.empty())) SendSubscription(ts);
  }
}

bool AdsClient::Handles(const TypeState& ts) const {
  return config_.only_type_url.empty() || config_.only_type_url == ts.type_url;
}

// Each attempt makes its stub; stub_ keeps it (and the method descriptors it owns) alive for
// the call.
void AdsClient::StartSotwRpc(grpc::ClientContext* ctx,
                             grpc::ClientBidiReactor<DiscoveryRequest, DiscoveryResponse>* r) {
  const std::string& t = config_.only_type_url;
  if (t.empty()) {
    auto stub = std::shared_ptr<envoy::service::discovery::v3::AggregatedDiscoveryService::Stub>(
        envoy::service::discovery::v3::AggregatedDiscoveryService::NewStub(channel_));
    stub->async()->StreamAggregatedResources(ctx, r);
    stub_ = std::move(stub);
  } else if (t == kListenerTypeUrl) {
    auto stub = std::shared_ptr<envoy::service::listener::v3::ListenerDiscoveryService::Stub>(
        envoy::service::listener::v3::ListenerDiscoveryService::NewStub(channel_));
    stub->async()->StreamListeners(ctx, r);
    stub_ = std::move(stub);
  } else if (t == kClusterTypeUrl) {
    auto stub = std::shared_ptr<envoy::service::cluster::v3::ClusterDiscoveryService::Stub>(
        envoy::service::cluster::v3::ClusterDiscoveryService::NewStub(channel_));
    stub->async()->StreamClusters(ctx, r);
    stub_ = std::move(stub);
  } else if (t == kRouteTypeUrl) {
    auto stub = std::shared_ptr<envoy::service::route::v3::RouteDiscoveryService::Stub>(
        envoy::service::route::v3::RouteDiscoveryService::NewStub(channel_));
    stub->async()->StreamRoutes(ctx, r);
    stub_ = std::move(stub);
  } else {
    auto stub = std::shared_ptr<envoy::service::endpoint::v3::EndpointDiscoveryService::Stub>(
        envoy::service::endpoint::v3::EndpointDiscoveryService::NewStub(channel_));
    stub->async()->StreamEndpoints(ctx, r);
    stub_ = std::move(stub);
  }
}

void AdsClient::StartDeltaRpc(
    grpc::ClientContext* ctx,
    grpc::ClientBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>* r) {
  const std::string& t = config_.only_type_url;
  if (t.empty()) {
    auto stub = std::shared_ptr<envoy::service::discovery::v3::AggregatedDiscoveryService::Stub>(
        envoy::service::discovery::v3::AggregatedDiscoveryService::NewStub(channel_));
    stub->async()->DeltaAggregatedResources(ctx, r);
    stub_ = std::move(stub);
  } else if (t == kListenerTypeUrl) {
    auto stub = std::shared_ptr<envoy::service::listener::v3::ListenerDiscoveryService::Stub>(
        envoy::service::listener::v3::ListenerDiscoveryService::NewStub(channel_));
    stub->async()->DeltaListeners(ctx, r);
    stub_ = std::move(stub);
  } else if (t == kClusterTypeUrl) {
    auto stub = std::shared_ptr<envoy::service::cluster::v3::ClusterDiscoveryService::Stub>(
        envoy::service::cluster::v3::ClusterDiscoveryService::NewStub(channel_));
    stub->async()->DeltaClusters(ctx, r);
    stub_ = std::move(stub);
  } else if (t == kRouteTypeUrl) {
    auto stub = std::shared_ptr<envoy::service::route::v3::RouteDiscoveryService::Stub>(
        envoy::service::route::v3::RouteDiscoveryService::NewStub(channel_));
    stub->async()->DeltaRoutes(ctx, r);
    stub_ = std::move(stub);
  } else {
    auto stub = std::shared_ptr<envoy::service::endpoint::v3::EndpointDiscoveryService::Stub>(
        envoy::service::endpoint::v3::EndpointDiscoveryService::NewStub(channel_));
    stub->async()->DeltaEndpoints(ctx, r);
    stub_ = std::move(stub);
  }
}

void AdsClient::OnStreamClosed(uint64_t generation, const grpc::Status& status) {
  if (generation != generation_) return;
  PF_LOG(kWarning, "xds: stream to %s closed: %s (%d)", config_.target.c_str(),
         status.error_message().c_str(), static_cast<int>(status.error_code()));
  for (auto& ts : types_) {
    if (!ts.requested) continue;
    ++ts.stats.update_failure;
    sink_.OnOutcome(ts.type_url, XdsSink::Outcome::kNetworkFailure, ts.stats.version_text);
  }
  sink_.OnConnectedState(false);
  stream_ = nullptr;
  established_ = false;
  sotw_.reset();
  delta_.reset();
  ScheduleReconnect();
}

void AdsClient::ScheduleReconnect() {
  const uint64_t cap =
      std::min<uint64_t>(kBackoffMaxMs, kBackoffBaseMs << std::min<uint32_t>(backoff_attempt_, 16));
  ++backoff_attempt_;
  const uint64_t delay = std::uniform_int_distribution<uint64_t>(0, cap)(rng_);
  ++reconnects_;
  retry_timer_->Enable(std::chrono::milliseconds(delay));
}

void AdsClient::SendSubscription(TypeState& ts) {
  if (stream_ == nullptr || !Handles(ts)) return;
  if (!config_.delta) {
    SendSotw(ts, absl::OkStatus());
    return;
  }
  DeltaDiscoveryRequest req;
  req.set_type_url(ts.type_url);
  if (!ts.requested) {
    FillNode(req.mutable_node());
    // The first request resyncs: what we have, by version (absent = wildcard for LDS/CDS).
    for (const auto& [name, version] : ts.known) {
      (*req.mutable_initial_resource_versions())[name] = version;
    }
    for (const auto& n : ts.names) req.add_resource_names_subscribe(n);
    ts.sent_names = ts.names;
    ts.requested = true;
  } else {
    for (const auto& n : ts.names) {
      if (!ts.sent_names.contains(n)) req.add_resource_names_subscribe(n);
    }
    for (const auto& n : ts.sent_names) {
      if (!ts.names.contains(n)) req.add_resource_names_unsubscribe(n);
    }
    if (req.resource_names_subscribe_size() == 0 && req.resource_names_unsubscribe_size() == 0) {
      return;
    }
    ts.sent_names = ts.names;
  }
  delta_->Send(std::move(req));
}

void AdsClient::SendSotw(TypeState& ts, const absl::Status& nack) {
  if (sotw_ == nullptr) return;
  DiscoveryRequest req;
  req.set_type_url(ts.type_url);
  req.set_version_info(ts.version_info);
  req.set_response_nonce(ts.nonce);
  FillNode(req.mutable_node());
  if (!ts.wildcard) {
    for (const auto& n : ts.names) req.add_resource_names(n);
  }
  if (!nack.ok()) {
    req.mutable_error_detail()->set_code(static_cast<int>(nack.code()));
    req.mutable_error_detail()->set_message(std::string(nack.message()));
  }
  ts.requested = true;
  PF_LOG(kDebug, "xds: -> %s version=%s nonce=%s names=%d%s", ShortTypeName(ts.type_url),
         req.version_info().c_str(), req.response_nonce().c_str(), req.resource_names_size(),
         nack.ok() ? "" : " NACK");
  sotw_->Send(std::move(req));
}

void AdsClient::SetInterest(const std::string& type_url, NameSet names) {
  TypeState* ts = Find(type_url);
  if (ts == nullptr || ts->wildcard || ts->names == names) return;
  ts->names = std::move(names);
  // Forget what is no longer wanted, so a later re-subscription is not answered as "have it".
  for (auto it = ts->known.begin(); it != ts->known.end();) {
    it = ts->names.contains(it->first) ? std::next(it) : ts->known.erase(it);
  }
  if (applying_) {
    deferred_interest_.insert(type_url);
    return;
  }
  SendSubscription(*ts);
}

void AdsClient::FlushDeferredInterest() {
  auto pending = std::move(deferred_interest_);
  deferred_interest_.clear();
  for (const auto& url : pending) {
    if (TypeState* ts = Find(url)) SendSubscription(*ts);
  }
}

absl::Status AdsClient::Apply(TypeState& ts, std::vector<Resource> updated,
                              std::vector<std::string> removed, const std::string& version) {
  ++ts.stats.update_attempt;
  applying_ = true;
  absl::Status s = sink_.OnUpdate(ts.type_url, updated, removed);
  applying_ = false;
  if (!s.ok()) {
    ++ts.stats.update_rejected;
    sink_.OnOutcome(ts.type_url, XdsSink::Outcome::kRejected, ts.stats.version_text);
    ts.stats.last_error = std::string(s.message());
    PF_LOG(kWarning, "xds: %s update rejected: %s", ShortTypeName(ts.type_url),
           ts.stats.last_error.c_str());
    return s;
  }
  ++ts.stats.update_success;
  sink_.OnOutcome(ts.type_url, XdsSink::Outcome::kSuccess, version);
  for (const auto& name : removed) ts.known.erase(name);
  for (const auto& r : updated) ts.known[r.name] = r.version;
  return s;
}

void AdsClient::OnSotwResponse(uint64_t generation, const DiscoveryResponse& r) {
  if (generation != generation_ || sotw_ == nullptr) return;
  if (!established_) sink_.OnConnectedState(true);
  established_ = true;
  backoff_attempt_ = 0;
  TypeState* ts = Find(r.type_url());
  if (ts == nullptr) {
    PF_LOG(kWarning, "xds: ignoring a response of unsubscribed type %s", r.type_url().c_str());
    return;
  }
  ts->nonce = r.nonce();
  std::vector<Resource> updated;
  std::set<std::string> seen;
  absl::Status status;
  for (int i = 0; i < r.resources_size() && status.ok(); ++i) {
    auto res = DecodeResource(r.resources(i), ts->type_url);
    if (!res.ok()) {
      status =
          absl::InvalidArgumentError(absl::StrCat("resources[", i, "]: ", res.status().message()));
      break;
    }
    if (!ts->wildcard && !ts->names.contains(res->name)) continue;  // not asked for: ignored
    if (!seen.insert(res->name).second) {
      status =
          absl::InvalidArgumentError(absl::StrCat("duplicate resource name '", res->name, "'"));
      break;
    }
    res->version = r.version_info();
    updated.push_back(*std::move(res));
  }
  std::vector<std::string> removed;
  if (status.ok() && ts->wildcard) {
    // State of the world: a wildcard resource missing from the response is gone.
    for (const auto& [name, version] : ts->known) {
      if (!seen.contains(name)) removed.push_back(name);
    }
  }
  const bool decoded = status.ok();
  if (decoded) status = Apply(*ts, std::move(updated), std::move(removed), r.version_info());
  if (status.ok()) {
    ts->version_info = r.version_info();
    ts->stats.version_text = r.version_info();
    ts->stats.version = Fnv(r.version_info());
  } else if (!decoded) {  // a decode error never reached Apply()
    ++ts->stats.update_attempt;
    ++ts->stats.update_rejected;
    sink_.OnOutcome(ts->type_url, XdsSink::Outcome::kRejected, ts->stats.version_text);
    ts->stats.last_error = std::string(status.message());
    PF_LOG(kWarning, "xds: %s response rejected: %s", ShortTypeName(ts->type_url),
           ts->stats.last_error.c_str());
  }
  SendSotw(*ts, status);  // ACK (new version) or NACK (previous version + error_detail)
  FlushDeferredInterest();
}

void AdsClient::OnDeltaResponse(uint64_t generation, const DeltaDiscoveryResponse& r) {
  if (generation != generation_ || delta_ == nullptr) return;
  if (!established_) sink_.OnConnectedState(true);
  established_ = true;
  backoff_attempt_ = 0;
  TypeState* ts = Find(r.type_url());
  if (ts == nullptr) {
    PF_LOG(kWarning, "xds: ignoring a delta response of unsubscribed type %s",
           r.type_url().c_str());
    return;
  }
  std::vector<Resource> updated;
  std::vector<std::string> removed;
  std::set<std::string> seen;
  absl::Status status;
  for (int i = 0; i < r.resources_size(); ++i) {
    const auto& wrapped = r.resources(i);
    if (!wrapped.has_resource()) {  // a name without a body: the resource does not exist
      if (!wrapped.name().empty()) removed.push_back(wrapped.name());
      continue;
    }
    auto res = DecodeResource(wrapped.resource(), ts->type_url);
    if (!res.ok()) {
      status = absl::InvalidArgumentError(
          absl::StrCat("resource '", wrapped.name(), "': ", res.status().message()));
      break;
    }
    if (!wrapped.name().empty()) res->name = wrapped.name();
    if (!ts->wildcard && !ts->names.contains(res->name)) continue;
    if (!seen.insert(res->name).second) {
      status =
          absl::InvalidArgumentError(absl::StrCat("duplicate resource name '", res->name, "'"));
      break;
    }
    res->version = wrapped.version();
    updated.push_back(*std::move(res));
  }
  for (const auto& name : r.removed_resources()) removed.push_back(name);
  const bool decoded = status.ok();
  if (decoded) status = Apply(*ts, std::move(updated), std::move(removed), r.system_version_info());
  if (status.ok()) {
    ts->stats.version_text = r.system_version_info();
    ts->stats.version = Fnv(r.system_version_info());
  } else if (!decoded) {
    ++ts->stats.update_attempt;
    ++ts->stats.update_rejected;
    sink_.OnOutcome(ts->type_url, XdsSink::Outcome::kRejected, ts->stats.version_text);
    ts->stats.last_error = std::string(status.message());
    PF_LOG(kWarning, "xds: %s delta response rejected: %s", ShortTypeName(ts->type_url),
           ts->stats.last_error.c_str());
  }
  DeltaDiscoveryRequest ack;
  ack.set_type_url(ts->type_url);
  ack.set_response_nonce(r.nonce());
  if (!status.ok()) {
    ack.mutable_error_detail()->set_code(static_cast<int>(status.code()));
    ack.mutable_error_detail()->set_message(std::string(status.message()));
  }
  delta_->Send(std::move(ack));
  FlushDeferredInterest();
}

}  // namespace pilotfish::xds
