// Tests for the xDS services, end to end over gRPC on loopback: an in-process server on an
// ephemeral port, a resource directory the tests rewrite, and the generated client stubs.
// "No response was sent" is shown by ordering, not by sleeping: a stream answers requests in
// order, so when a probe request (another type) is answered next, nothing was sent before it.
#include "tools/xds_server/ads_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <optional>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/service/cluster/v3/cds.grpc.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "envoy/service/endpoint/v3/eds.grpc.pb.h"
#include "envoy/service/listener/v3/lds.grpc.pb.h"
#include "tests/unit/tools/xds_server/test_util.h"

namespace pilotfish::xds_server {
namespace {

using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;
using testing::ClusterJson;
using testing::EndpointsJson;
using testing::ListenerJson;
using testing::LogCapture;
using testing::ResourceFile;
using testing::RouteJson;
using testing::TempResourceDir;
using namespace std::chrono_literals;

// A client stream whose responses are read on a thread of its own, so tests can wait for the
// next one with a deadline.
template <typename Request, typename Response>
class TestStream {
 public:
  using Start = std::function<std::unique_ptr<grpc::ClientReaderWriter<Request, Response>>(
      grpc::ClientContext*)>;

  explicit TestStream(const Start& start) {
    context_.set_deadline(std::chrono::system_clock::now() + 120s);
    stream_ = start(&context_);
    reader_ = std::thread([this] {
      Response response;
      while (stream_->Read(&response)) {
        std::lock_guard<std::mutex> lock(mu_);
        responses_.push_back(std::move(response));
        response = Response();
        cv_.notify_all();
      }
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      cv_.notify_all();
    });
  }
  ~TestStream() {
    context_.TryCancel();
    reader_.join();
    stream_->Finish().ok();
  }

  void Send(const Request& request) { EXPECT_TRUE(stream_->Write(request)); }

  // The next response, or nullopt when the stream ended or the deadline passed.
  std::optional<Response> Next(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return done_ || !responses_.empty(); });
    if (responses_.empty()) return std::nullopt;
    Response response = std::move(responses_.front());
    responses_.pop_front();
    return response;
  }
  bool WaitDone(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return done_; });
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Response> responses_;
  bool done_ = false;
};

using SotwClient = TestStream<DiscoveryRequest, DiscoveryResponse>;
using DeltaClient = TestStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

DiscoveryRequest Sotw(const std::string& type, std::vector<std::string> names = {},
                      const DiscoveryResponse* ack = nullptr, const char* nack = nullptr) {
  DiscoveryRequest request;
  request.set_type_url(type);
  for (const std::string& name : names) request.add_resource_names(name);
  if (ack != nullptr) {
    request.set_response_nonce(ack->nonce());
    if (nack == nullptr) request.set_version_info(ack->version_info());
  }
  if (nack != nullptr) {
    request.mutable_error_detail()->set_code(3);
    request.mutable_error_detail()->set_message(nack);
  }
  return request;
}

DeltaDiscoveryRequest Delta(const std::string& type, std::vector<std::string> subscribe = {},
                            std::vector<std::string> unsubscribe = {}) {
  DeltaDiscoveryRequest request;
  request.set_type_url(type);
  for (const std::string& name : subscribe) request.add_resource_names_subscribe(name);
  for (const std::string& name : unsubscribe) request.add_resource_names_unsubscribe(name);
  return request;
}

DeltaDiscoveryRequest DeltaAck(const DeltaDiscoveryResponse& response) {
  DeltaDiscoveryRequest request;
  request.set_type_url(response.type_url());
  request.set_response_nonce(response.nonce());
  return request;
}

template <typename Message>
std::vector<std::string> Names(const DiscoveryResponse& response) {
  std::vector<std::string> names;
  for (const auto& any : response.resources()) {
    Message message;
    EXPECT_TRUE(any.UnpackTo(&message)) << any.type_url();
    if constexpr (std::is_same_v<Message, envoy::config::endpoint::v3::ClusterLoadAssignment>) {
      names.push_back(message.cluster_name());
    } else {
      names.push_back(message.name());
    }
  }
  return names;
}

std::vector<std::string> Names(const DeltaDiscoveryResponse& response) {
  std::vector<std::string> names;
  for (const auto& resource : response.resources()) names.push_back(resource.name());
  return names;
}

std::vector<std::string> Removed(const DeltaDiscoveryResponse& response) {
  return {response.removed_resources().begin(), response.removed_resources().end()};
}

using Strings = std::vector<std::string>;

class AdsServiceTest : public ::testing::Test {
 protected:
  void Start() {
    store_ = std::make_unique<ResourceStore>(dir_.path(), log_.Fn());
    ASSERT_TRUE(store_->Reload().status.ok()) << log_.All();
    service_ = std::make_unique<AdsService>(store_.get(), log_.Fn());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    service_->RegisterWith(&builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    store_->StartWatching(10ms);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    ads_ = AggregatedDiscoveryService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_ == nullptr) return;
    store_->StopWatching();
    service_->Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + 5s);
    server_.reset();
    service_.reset();
    store_.reset();
  }

  std::unique_ptr<SotwClient> SotwAds() {
    return std::make_unique<SotwClient>(
        [this](grpc::ClientContext* c) { return ads_->StreamAggregatedResources(c); });
  }
  std::unique_ptr<DeltaClient> DeltaAds() {
    return std::make_unique<DeltaClient>(
        [this](grpc::ClientContext* c) { return ads_->DeltaAggregatedResources(c); });
  }

  // The first request of a stream carries the node.
  template <typename Request>
  static Request WithNode(Request request) {
    request.mutable_node()->set_id("test-id");
    return request;
  }

  // Waits until a reload whose RELOAD line contains `part` was logged after `mark`.
  void WaitReload(const std::string& part, size_t mark) {
    ASSERT_FALSE(log_.WaitFor({"RELOAD ", part}, 10s, mark).empty()) << log_.All();
  }

  TempResourceDir dir_;
  LogCapture log_;
  std::unique_ptr<ResourceStore> store_;
  std::unique_ptr<AdsService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<AggregatedDiscoveryService::Stub> ads_;
};

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;
using envoy::config::route::v3::RouteConfiguration;

TEST_F(AdsServiceTest, SotwSendsAllListenersAndClustersAndAckSendsNothing) {
  dir_.Write("listeners.json", ResourceFile({ListenerJson("l1", 1), ListenerJson("l2", 2)}));
  dir_.Write("clusters.json", ResourceFile({ClusterJson("c1"), ClusterJson("c2")}));
  Start();
  auto ads = SotwAds();
  ads->Send(WithNode(Sotw(kListenerType)));
  std::optional<DiscoveryResponse> lds = ads->Next();
  ASSERT_TRUE(lds.has_value());
  EXPECT_EQ(lds->type_url(), kListenerType);
  EXPECT_EQ(lds->version_info(), "1");
  EXPECT_EQ(Names<Listener>(*lds), (Strings{"l1", "l2"}));
  EXPECT_EQ(lds->control_plane().identifier(), "pf_xds_server");

  ads->Send(Sotw(kListenerType, {}, &*lds));  // ACK: nothing is sent
  ads->Send(Sotw(kClusterType, {"*"}));       // the probe
  std::optional<DiscoveryResponse> cds = ads->Next();
  ASSERT_TRUE(cds.has_value());
  EXPECT_EQ(cds->type_url(), kClusterType);
  EXPECT_EQ(Names<Cluster>(*cds), (Strings{"c1", "c2"}));
  EXPECT_NE(cds->nonce(), lds->nonce());
  EXPECT_EQ(service_->acks(), 1u);
  EXPECT_FALSE(log_.WaitFor({"ACK type=envoy.config.listener.v3.Listener version=1 nonce=" +
                             lds->nonce() + " node=test-id"})
                   .empty())
      << log_.All();
  EXPECT_FALSE(log_.WaitFor({"CONNECT node=test-id mode=sotw service=ads stream="}).empty());
  EXPECT_FALSE(
      log_.WaitFor({"PUSH type=envoy.config.cluster.v3.Cluster version=1 resources=2 stream="})
          .empty());
}

TEST_F(AdsServiceTest, SotwFileChangePushesANewVersion) {
  dir_.Write("listeners.json", ResourceFile({ListenerJson("l1", 1), ListenerJson("l2", 2)}));
  Start();
  auto ads = SotwAds();
  ads->Send(WithNode(Sotw(kListenerType)));
  std::optional<DiscoveryResponse> first = ads->Next();
  ASSERT_TRUE(first.has_value());
  ads->Send(Sotw(kListenerType, {}, &*first));

  dir_.Write("listeners.json", ResourceFile({ListenerJson("l1", 11), ListenerJson("l2", 2)}));
  std::optional<DiscoveryResponse> second = ads->Next();
  ASSERT_TRUE(second.has_value()) << log_.All();
  EXPECT_EQ(second->version_info(), "2");
  ASSERT_EQ(second->resources_size(), 2);
  Listener l1;
  ASSERT_TRUE(second->resources(0).UnpackTo(&l1));
  EXPECT_EQ(l1.address().socket_address().port_value(), 11u);

  // The same content in a new file: reloaded, but nothing is pushed.
  ads->Send(Sotw(kListenerType, {}, &*second));
  const size_t mark = log_.Size();
  dir_.Write("listeners.json", ResourceFile({ListenerJson("l1", 11), ListenerJson("l2", 2)}));
  WaitReload("ok types=none", mark);
  ads->Send(Sotw(kClusterType));
  std::optional<DiscoveryResponse> probe = ads->Next();
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->type_url(), kClusterType);
  EXPECT_EQ(probe->resources_size(), 0);
  EXPECT_EQ(probe->version_info(), "0");
}

TEST_F(AdsServiceTest, SotwRoutesAndEndpointsByName) {
  dir_.Write("routes.json", ResourceFile({RouteJson("r1", "c1"), RouteJson("r2", "c2")}));
  dir_.Write("endpoints.json", ResourceFile({EndpointsJson("c1", 1), EndpointsJson("c2", 2)}));
  Start();
  auto ads = SotwAds();
  ads->Send(WithNode(Sotw(kRouteType, {"r1", "missing"})));
  std::optional<DiscoveryResponse> rds = ads->Next();
  ASSERT_TRUE(rds.has_value());
  EXPECT_EQ(Names<RouteConfiguration>(*rds), (Strings{"r1"}));

  ads->Send(Sotw(kRouteType, {"r1", "missing"}, &*rds));  // ACK
  ads->Send(Sotw(kRouteType, {"r1", "r2"}, &*rds));       // new names, same nonce: no new ACK
  rds = ads->Next();
  ASSERT_TRUE(rds.has_value());
  EXPECT_EQ(Names<RouteConfiguration>(*rds), (Strings{"r1", "r2"}));
  EXPECT_EQ(service_->acks(), 1u);
  ads->Send(Sotw(kRouteType, {"r1", "r2"}, &*rds));

  ads->Send(Sotw(kEndpointType, {"c2"}));
  std::optional<DiscoveryResponse> eds = ads->Next();
  ASSERT_TRUE(eds.has_value());
  EXPECT_EQ(Names<ClusterLoadAssignment>(*eds), (Strings{"c2"}));
  ads->Send(Sotw(kEndpointType, {"c2"}, &*eds));

  // c1 changes: this client does not watch it, so nothing is pushed (shown by the probe).
  size_t mark = log_.Size();
  dir_.Write("endpoints.json", ResourceFile({EndpointsJson("c1", 11), EndpointsJson("c2", 2)}));
  WaitReload("ClusterLoadAssignment:2", mark);
  ads->Send(Sotw(kListenerType));
  std::optional<DiscoveryResponse> probe = ads->Next();
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->type_url(), kListenerType);

  // c2 changes: pushed.
  dir_.Write("endpoints.json", ResourceFile({EndpointsJson("c1", 11), EndpointsJson("c2", 22)}));
  eds = ads->Next();
  ASSERT_TRUE(eds.has_value());
  EXPECT_EQ(eds->type_url(), kEndpointType);
  EXPECT_EQ(eds->version_info(), "3");
  EXPECT_EQ(Names<ClusterLoadAssignment>(*eds), (Strings{"c2"}));
}

TEST_F(AdsServiceTest, SotwNackIsLoggedAndCountedAndStaleNoncesAreIgnored) {
  dir_.Write("listeners.json", ResourceFile({ListenerJson("l1", 1)}));
  Start();
  auto ads = SotwAds();
  ads->Send(WithNode(Sotw(kListenerType)));
  std::optional<DiscoveryResponse> lds = ads->Next();
  ASSERT_TRUE(lds.has_value());
  ads->Send(Sotw(kListenerType, {}, &*lds, "bad listener l1\nsecond line"));
  EXPECT_FALSE(log_.WaitFor({"NACK type=envoy.config.listener.v3.Listener version=1 nonce=" +
                                 lds->nonce() + " node=test-id stream=",
                             " error=bad listener l1 second line"})
                   .empty())
      << log_.All();

  DiscoveryResponse stale = *lds;
  stale.set_nonce("no-such-nonce");
  ads->Send(Sotw(kListenerType, {}, &stale, "stale"));  // neither an ACK nor a NACK
  ads->Send(Sotw(kClusterType));                        // the probe: no resend before it
  std::optional<DiscoveryResponse> probe = ads->Next();
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->type_url(), kClusterType);
  EXPECT_EQ(service_->nacks(), 1u);
  EXPECT_EQ(service_->acks(), 0u);
}

TEST_F(AdsServiceTest, BadFileKeepsThePreviousSet) {
  dir_.Write("listeners.json", ResourceFile({ListenerJson("l1", 1)}));
  Start();
  auto ads = SotwAds();
  ads->Send(WithNode(Sotw(kListenerType)));
  std::optional<DiscoveryResponse> lds = ads->Next();
  ASSERT_TRUE(lds.has_value());
  ads->Send(Sotw(kListenerType, {}, &*lds));

  size_t mark = log_.Size();
  dir_.Write("bad.yaml", "resources: [ {\"@type\": \"type.googleapis.com/nope.Nope\"} ]\n");
  WaitReload("error file=" + dir_.File("bad.yaml"), mark);
  dir_.Remove("bad.yaml");
  mark = log_.Size();
  dir_.Write("z-dup.json", ResourceFile({ListenerJson("l1", 2)}));
  WaitReload("error file=" + dir_.File("z-dup.json") + " resources[0]: duplicate", mark);
  ads->Send(Sotw(kClusterType));
  std::optional<DiscoveryResponse> probe = ads->Next();
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->type_url(), kClusterType);

  // Fixed: the new set is pushed.
  dir_.Write("z-dup.json", ResourceFile({ListenerJson("l2", 2)}));
  lds = ads->Next();
  ASSERT_TRUE(lds.has_value());
  EXPECT_EQ(lds->version_info(), "2");
  EXPECT_EQ(Names<Listener>(*lds), (Strings{"l1", "l2"}));
}

TEST_F(AdsServiceTest, PerTypeServicesServeTheirOwnType) {
  dir_.Write("all.json",
             ResourceFile({ListenerJson("l1", 1), EndpointsJson("c1", 1), EndpointsJson("c2", 2)}));
  Start();
  auto lds_stub = envoy::service::listener::v3::ListenerDiscoveryService::NewStub(channel_);
  SotwClient lds([&](grpc::ClientContext* c) { return lds_stub->StreamListeners(c); });
  lds.Send(WithNode(Sotw("")));  // a per-type service may leave type_url empty
  std::optional<DiscoveryResponse> listeners = lds.Next();
  ASSERT_TRUE(listeners.has_value());
  EXPECT_EQ(listeners->type_url(), kListenerType);
  EXPECT_EQ(Names<Listener>(*listeners), (Strings{"l1"}));
  EXPECT_FALSE(log_.WaitFor({"CONNECT node=test-id mode=sotw service=lds"}).empty());

  auto eds_stub = envoy::service::endpoint::v3::EndpointDiscoveryService::NewStub(channel_);
  DeltaClient eds([&](grpc::ClientContext* c) { return eds_stub->DeltaEndpoints(c); });
  eds.Send(WithNode(Delta(kEndpointType, {"c2"})));
  std::optional<DeltaDiscoveryResponse> endpoints = eds.Next();
  ASSERT_TRUE(endpoints.has_value());
  EXPECT_EQ(Names(*endpoints), (Strings{"c2"}));
  EXPECT_FALSE(log_.WaitFor({"CONNECT node=test-id mode=delta service=eds"}).empty());

  // The wrong type on a per-type service ends the stream.
  auto cds_stub = envoy::service::cluster::v3::ClusterDiscoveryService::NewStub(channel_);
  SotwClient cds([&](grpc::ClientContext* c) { return cds_stub->StreamClusters(c); });
  cds.Send(WithNode(Sotw(kListenerType)));
  EXPECT_FALSE(cds.Next().has_value());
  EXPECT_TRUE(cds.WaitDone());
  EXPECT_FALSE(log_.WaitFor({"DISCONNECT node=test-id mode=sotw service=cds",
                             "reason=this cds stream serves"})
                   .empty())
      << log_.All();
}

TEST_F(AdsServiceTest, DeltaSendsOnlyChangesAndRemovals) {
  dir_.Write("listeners.json", ResourceFile({ListenerJson("l1", 1), ListenerJson("l2", 2)}));
  Start();
  auto ads = DeltaAds();
  ads->Send(WithNode(Delta(kListenerType)));
  std::optional<DeltaDiscoveryResponse> first = ads->Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->type_url(), kListenerType);
  EXPECT_EQ(first->system_version_info(), "1");
  EXPECT_EQ(Names(*first), (Strings{"l1", "l2"}));
  EXPECT_TRUE(first->removed_resources().empty());
  EXPECT_EQ(first->resources(0).version().size(), 16u);
  ads->Send(DeltaAck(*first));
  EXPECT_FALSE(log_.WaitFor({"ACK type=envoy.config.listener.v3.Listener version=1 nonce=" +
                             first->nonce() + " node=test-id"})
                   .empty())
      << log_.All();

  dir_.Write("listeners.json", ResourceFile({ListenerJson("l1", 11), ListenerJson("l2", 2)}));
  std::optional<DeltaDiscoveryResponse> update = ads->Next();
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->system_version_info(), "2");
  EXPECT_EQ(Names(*update), (Strings{"l1"}));
  EXPECT_NE(update->resources(0).version(), first->resources(0).version());
  EXPECT_TRUE(update->removed_resources().empty());
  ads->Send(DeltaAck(*update));

  dir_.Write("listeners.json", ResourceFile({ListenerJson("l1", 11)}));
  std::optional<DeltaDiscoveryResponse> removal = ads->Next();
  ASSERT_TRUE(removal.has_value());
  EXPECT_TRUE(removal->resources().empty());
  EXPECT_EQ(Removed(*removal), (Strings{"l2"}));
  EXPECT_FALSE(log_.WaitFor({"PUSH type=envoy.config.listener.v3.Listener version=3 resources=0",
                             "removed=1"})
                   .empty())
      << log_.All();
}

TEST_F(AdsServiceTest, DeltaInitialResourceVersionsSuppressResending) {
  dir_.Write("listeners.json", ResourceFile({ListenerJson("l1", 1), ListenerJson("l2", 2)}));
  Start();
  std::map<std::string, std::string> versions;
  {
    auto ads = DeltaAds();
    ads->Send(WithNode(Delta(kListenerType)));
    std::optional<DeltaDiscoveryResponse> first = ads->Next();
    ASSERT_TRUE(first.has_value());
    for (const auto& resource : first->resources()) versions[resource.name()] = resource.version();
  }
  // A reconnecting client that has l1 (current), l2 (old) and gone (deleted since).
  auto ads = DeltaAds();
  DeltaDiscoveryRequest request = WithNode(Delta(kListenerType));
  (*request.mutable_initial_resource_versions())["l1"] = versions["l1"];
  (*request.mutable_initial_resource_versions())["l2"] = "old";
  (*request.mutable_initial_resource_versions())["gone"] = "x";
  ads->Send(request);
  std::optional<DeltaDiscoveryResponse> response = ads->Next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(Names(*response), (Strings{"l2"}));
  EXPECT_EQ(Removed(*response), (Strings{"gone"}));
}

TEST_F(AdsServiceTest, DeltaSubscriptionsByName) {
  dir_.Write("endpoints.json", ResourceFile({EndpointsJson("c1", 1), EndpointsJson("c2", 2)}));
  Start();
  auto ads = DeltaAds();
  ads->Send(WithNode(Delta(kEndpointType, {"c1", "missing"})));
  std::optional<DeltaDiscoveryResponse> response = ads->Next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(Names(*response), (Strings{"c1"}));
  ads->Send(DeltaAck(*response));

  ads->Send(Delta(kEndpointType, {"c2"}));
  response = ads->Next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(Names(*response), (Strings{"c2"}));
  ads->Send(DeltaAck(*response));

  // After unsubscribing c1, its change is not sent (the probe comes first); c2's is.
  ads->Send(Delta(kEndpointType, {}, {"c1"}));
  size_t mark = log_.Size();
  dir_.Write("endpoints.json", ResourceFile({EndpointsJson("c1", 11), EndpointsJson("c2", 2)}));
  WaitReload("ClusterLoadAssignment:2", mark);
  ads->Send(Delta(kClusterType));
  response = ads->Next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->type_url(), kClusterType);  // the first wildcard answer, even if empty
  EXPECT_TRUE(response->resources().empty());

  dir_.Write("endpoints.json", ResourceFile({EndpointsJson("c1", 11), EndpointsJson("c2", 22)}));
  response = ads->Next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->type_url(), kEndpointType);
  EXPECT_EQ(Names(*response), (Strings{"c2"}));
  EXPECT_EQ(service_->nacks(), 0u);
}

TEST_F(AdsServiceTest, AdsRequiresATypeUrlAndShutdownEndsStreams) {
  Start();
  auto bad = SotwAds();
  bad->Send(WithNode(Sotw("")));
  EXPECT_TRUE(bad->WaitDone());
  EXPECT_FALSE(log_.WaitFor({"DISCONNECT", "reason=type_url is required"}).empty()) << log_.All();

  auto ads = SotwAds();
  ads->Send(WithNode(Sotw(kListenerType)));
  ASSERT_TRUE(ads->Next().has_value());
  service_->Shutdown();
  EXPECT_TRUE(ads->WaitDone());
  EXPECT_FALSE(log_.WaitFor({"DISCONNECT", "reason=server shutting down"}).empty()) << log_.All();
}

}  // namespace
}  // namespace pilotfish::xds_server
