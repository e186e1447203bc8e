// See ads_service.h.
#include "tools/xds_server/ads_service.h"

#include <condition_variable>
#include <deque>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "envoy/service/cluster/v3/cds.grpc.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "envoy/service/endpoint/v3/eds.grpc.pb.h"
#include "envoy/service/listener/v3/lds.grpc.pb.h"
#include "envoy/service/route/v3/rds.grpc.pb.h"

namespace pilotfish::xds_server {

// What wakes a stream's serving thread: requests (TypedInbox), reloads and shutdown. Requests
// and reloads are handled in the order they arrived (reloads coalesce), so a request sent after
// a reload was announced is answered after that reload's pushes.
class StreamInbox {
 public:
  void Changed(const std::vector<std::string>& types) {
    std::lock_guard<std::mutex> lock(mu_);
    if (changed_.empty()) changed_after_ = requests_in_;
    changed_.insert(types.begin(), types.end());
    cv_.notify_one();
  }
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    cv_.notify_one();
  }

 protected:
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> changed_;
  uint64_t requests_in_ = 0;    // requests queued so far
  uint64_t changed_after_ = 0;  // requests_in_ when changed_ became non-empty
  bool stopped_ = false;
};

namespace {

template <typename Request>
class TypedInbox : public StreamInbox {
 public:
  enum class Event { kRequest, kChanged, kStopped, kClientDone };

  void Push(Request request) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.emplace_back(++requests_in_, std::move(request));
    cv_.notify_one();
  }
  void ReaderDone() {
    std::lock_guard<std::mutex> lock(mu_);
    reader_done_ = true;
    cv_.notify_one();
  }
  // Blocks until there is something to do.
  Event Next(Request* request, std::vector<std::string>* changed) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] {
      return stopped_ || reader_done_ || !requests_.empty() || !changed_.empty();
    });
    if (stopped_) return Event::kStopped;
    if (!changed_.empty() && (requests_.empty() || requests_.front().first > changed_after_)) {
      changed->assign(changed_.begin(), changed_.end());
      changed_.clear();
      return Event::kChanged;
    }
    if (!requests_.empty()) {
      *request = std::move(requests_.front().second);
      requests_.pop_front();
      return Event::kRequest;
    }
    return Event::kClientDone;
  }

 private:
  std::deque<std::pair<uint64_t, Request>> requests_;  // (sequence number, request)
  bool reader_done_ = false;
};

std::string PushLine(const StreamContext& context,
                     const envoy::service::discovery::v3::DiscoveryResponse& response) {
  return absl::StrCat("PUSH type=", ShortType(response.type_url()),
                      " version=", response.version_info(),
                      " resources=", response.resources_size(), " stream=", context.id,
                      " nonce=", response.nonce(), " node=", context.node);
}

std::string PushLine(const StreamContext& context,
                     const envoy::service::discovery::v3::DeltaDiscoveryResponse& response) {
  return absl::StrCat(
      "PUSH type=", ShortType(response.type_url()), " version=", response.system_version_info(),
      " resources=", response.resources_size(), " stream=", context.id, " nonce=", response.nonce(),
      " node=", context.node, " removed=", response.removed_resources_size());
}

// The gRPC service classes: each method serves one stream through AdsService. The unary
// Fetch* methods stay unimplemented.
#define PF_XDS_SERVICE(Class, Base, SotwMethod, DeltaMethod, name, type) \
  class Class final : public Base::Service {                             \
   public:                                                               \
    explicit Class(AdsService* service) : service_(service) {}           \
    grpc::Status SotwMethod(grpc::ServerContext* context,                \
                            AdsService::SotwStream* stream) override {   \
      return service_->ServeSotw(context, stream, name, type);           \
    }                                                                    \
    grpc::Status DeltaMethod(grpc::ServerContext* context,               \
                             AdsService::DeltaStream* stream) override { \
      return service_->ServeDelta(context, stream, name, type);          \
    }                                                                    \
                                                                         \
   private:                                                              \
    AdsService* const service_;                                          \
  };

PF_XDS_SERVICE(AdsGrpc, envoy::service::discovery::v3::AggregatedDiscoveryService,
               StreamAggregatedResources, DeltaAggregatedResources, "ads", "")
PF_XDS_SERVICE(LdsGrpc, envoy::service::listener::v3::ListenerDiscoveryService, StreamListeners,
               DeltaListeners, "lds", kListenerType)
PF_XDS_SERVICE(CdsGrpc, envoy::service::cluster::v3::ClusterDiscoveryService, StreamClusters,
               DeltaClusters, "cds", kClusterType)
PF_XDS_SERVICE(RdsGrpc, envoy::service::route::v3::RouteDiscoveryService, StreamRoutes, DeltaRoutes,
               "rds", kRouteType)
PF_XDS_SERVICE(EdsGrpc, envoy::service::endpoint::v3::EndpointDiscoveryService, StreamEndpoints,
               DeltaEndpoints, "eds", kEndpointType)
#undef PF_XDS_SERVICE

}  // namespace

AdsService::AdsService(ResourceStore* store, LogFn log) : store_(store), log_(std::move(log)) {
  services_.push_back(std::make_unique<AdsGrpc>(this));
  services_.push_back(std::make_unique<LdsGrpc>(this));
  services_.push_back(std::make_unique<CdsGrpc>(this));
  services_.push_back(std::make_unique<RdsGrpc>(this));
  services_.push_back(std::make_unique<EdsGrpc>(this));
  listener_id_ =
      store_->AddListener([this](const std::vector<std::string>& types) { OnStoreChanged(types); });
}

AdsService::~AdsService() {
  store_->RemoveListener(listener_id_);
  Shutdown();
}

void AdsService::RegisterWith(grpc::ServerBuilder* builder) {
  for (const auto& service : services_) builder->RegisterService(service.get());
}

void AdsService::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  for (StreamInbox* stream : streams_) stream->Stop();
}

size_t AdsService::open_streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

bool AdsService::Register(StreamInbox* inbox) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  streams_.insert(inbox);
  return true;
}

void AdsService::Unregister(StreamInbox* inbox) {
  std::lock_guard<std::mutex> lock(mu_);
  streams_.erase(inbox);
}

void AdsService::OnStoreChanged(const std::vector<std::string>& types) {
  std::lock_guard<std::mutex> lock(mu_);
  for (StreamInbox* stream : streams_) stream->Changed(types);
}

grpc::Status AdsService::ServeSotw(grpc::ServerContext* context, SotwStream* stream,
                                   const char* service, const char* fixed_type) {
  return Serve<SotwState>(context, stream, "sotw", service, fixed_type);
}

grpc::Status AdsService::ServeDelta(grpc::ServerContext* context, DeltaStream* stream,
                                    const char* service, const char* fixed_type) {
  return Serve<DeltaState>(context, stream, "delta", service, fixed_type);
}

template <typename State, typename Request, typename Response>
grpc::Status AdsService::Serve(grpc::ServerContext* context,
                               grpc::ServerReaderWriter<Response, Request>* stream,
                               const char* mode, const char* service, const char* fixed_type) {
  TypedInbox<Request> inbox;
  if (!Register(&inbox)) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down");
  StreamContext stream_context;
  stream_context.id = ++stream_ids_;
  stream_context.service = service;
  stream_context.fixed_type = fixed_type;
  stream_context.log = log_;
  stream_context.counters = &counters_;
  State state(&stream_context);

  // Sync streams allow one reader and one writer at a time: requests are read here, responses
  // are written by the serving thread below.
  std::thread reader([stream, &inbox] {
    Request request;
    while (stream->Read(&request)) {
      inbox.Push(std::move(request));
      request = Request();
    }
    inbox.ReaderDone();
  });

  grpc::Status status;
  std::string reason = "client closed";
  bool connected = false;
  bool client_done = false;
  std::vector<Response> out;
  while (true) {
    Request request;
    std::vector<std::string> changed;
    const auto event = inbox.Next(&request, &changed);
    if (event == TypedInbox<Request>::Event::kStopped) {
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down");
      reason = "server shutting down";
      break;
    }
    if (event == TypedInbox<Request>::Event::kClientDone) {
      client_done = true;
      break;
    }
    const SnapshotPtr snapshot = store_->snapshot();
    out.clear();
    if (event == TypedInbox<Request>::Event::kRequest) {
      const absl::Status s = state.OnRequest(request, *snapshot, &out);
      if (!connected) {
        connected = true;
        log_(absl::StrCat("CONNECT node=", stream_context.node, " mode=", mode,
                          " service=", service, " stream=", stream_context.id));
      }
      if (!s.ok()) {
        status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()));
        reason = std::string(s.message());
        break;
      }
    } else {
      state.OnChanged(changed, *snapshot, &out);
    }
    bool written = true;
    for (const Response& response : out) {
      if (!stream->Write(response)) {
        written = false;
        break;
      }
      log_(PushLine(stream_context, response));
    }
    if (!written) {
      reason = "write failed";
      break;
    }
  }
  Unregister(&inbox);
  // The reader may be blocked in Read(): cancelling the call ends it. (The client then sees
  // CANCELLED rather than `status`; the log line has the reason.)
  if (!client_done) context->TryCancel();
  reader.join();
  log_(absl::StrCat("DISCONNECT node=", stream_context.node, " mode=", mode, " service=", service,
                    " stream=", stream_context.id, " reason=", reason));
  return status;
}

}  // namespace pilotfish::xds_server
