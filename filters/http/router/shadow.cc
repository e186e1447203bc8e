// ShadowRequest: the mirrored copy of a request.
#include "filters/http/router/shadow.h"

#include "proxy/http1/codec.h"

namespace pilotfish::filters::router {

ShadowRequest::ShadowRequest(server::Worker& worker, http::RequestHeaders headers, std::string body)
    : worker_(worker), headers_(std::move(headers)), body_(std::move(body)) {}

ShadowRequest::~ShadowRequest() {
  if (pending_ != nullptr) pool_->Cancel(pending_);
  if (client_ != nullptr) client_->ReleaseStream(false);
}

void ShadowRequest::Start(server::Worker& worker, const std::string& cluster_name,
                          const http::RequestHeaders& headers, std::string body,
                          std::chrono::milliseconds timeout) {
  upstream::WorkerClusterManager::Cluster* cluster = worker.cluster_manager().Get(cluster_name);
  if (cluster == nullptr) return;
  upstream::HostSharedPtr host = cluster->lb->ChooseHost(nullptr);
  if (host == nullptr) return;
  http::RequestHeaders copy = headers;
  // Envoy marks mirrored traffic by suffixing the authority (host:port -> host-shadow:port).
  const size_t colon = copy.authority.rfind(':');
  if (colon != std::string::npos && copy.authority.find(']', colon) == std::string::npos) {
    copy.authority.insert(colon, "-shadow");
  } else {
    copy.authority += "-shadow";
  }
  copy.headers.Remove("transfer-encoding");
  copy.headers.Remove("expect");
  copy.headers.Set("content-length", std::to_string(body.size()));
  std::unique_ptr<ShadowRequest> s(new ShadowRequest(worker, std::move(copy), std::move(body)));
  ShadowRequest* raw = s.get();
  worker.AddSession(std::move(s));
  if (timeout.count() > 0) {
    raw->timer_ =
        std::make_unique<event::Timer>(worker.dispatcher(), [raw] { raw->Finish(false); });
    raw->timer_->Enable(timeout);
  }
  raw->pool_ = &worker.cluster_manager().PoolFor(*cluster, host);
  raw->pending_ = raw->pool_->NewStream(*raw);
}

void ShadowRequest::OnPoolReady(upstream::UpstreamClient& client) {
  pending_ = nullptr;
  if (done_) {
    client.StartStream(this, false);
    client.ReleaseStream(true);
    return;
  }
  client_ = &client;
  client.StartStream(this, headers_.method == "HEAD");
  std::string out;
  http1::EncodeRequestHeaders(headers_, http1::BodyFraming::kContentLength, out);
  out += body_;
  client.Write(std::move(out));
}

void ShadowRequest::OnResponseHeaders(http::ResponseHeadersPtr, bool end_stream) {
  keep_alive_ = client_ != nullptr && client_->response_keep_alive();
  if (end_stream) Finish(keep_alive_);
}

void ShadowRequest::OnResponseData(std::string_view, bool end_stream) {
  if (end_stream) Finish(keep_alive_);
}

void ShadowRequest::OnUpstreamReset(upstream::UpstreamResetReason) {
  client_ = nullptr;
  Finish(false);
}

void ShadowRequest::Finish(bool reusable) {
  if (done_) return;
  done_ = true;
  if (timer_) timer_->Disable();  // may be running inside the timer's own callback
  if (pending_ != nullptr) {
    pool_->Cancel(pending_);
    pending_ = nullptr;
  }
  if (client_ != nullptr) {
    upstream::UpstreamClient* c = client_;
    client_ = nullptr;
    c->ReleaseStream(reusable);
  }
  worker_.RemoveSession(this);
}

}  // namespace pilotfish::filters::router
