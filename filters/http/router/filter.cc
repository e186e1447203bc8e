// RouterFilter: forwarding, local replies for upstream failures, timeouts, flow control.
#include "filters/http/router/filter.h"

#include "proxy/common/str_util.h"
#include "proxy/router/route_table.h"
#include "proxy/server/worker.h"

namespace pilotfish::filters::router {
namespace {

constexpr std::chrono::milliseconds kDefaultRouteTimeout{15000};
constexpr std::string_view kResetPrefix =
    "upstream connect error or disconnect/reset before headers. reset reason: ";

void ApplyHeaderOptions(const std::vector<config::HeaderValueOption>& opts,
                        http::HeaderMap& headers) {
  for (const auto& o : opts) {
    if (o.value.empty() && !o.keep_empty_value) continue;
    switch (o.action) {
      case config::HeaderAppendAction::kAppendIfExistsOrAdd:
        headers.Add(o.key, o.value);
        break;
      case config::HeaderAppendAction::kAddIfAbsent:
        if (!headers.Has(o.key)) headers.Add(o.key, o.value);
        break;
      case config::HeaderAppendAction::kOverwriteIfExistsOrAdd:
        headers.Set(o.key, o.value);
        break;
      case config::HeaderAppendAction::kOverwriteIfExists:
        if (headers.Has(o.key)) headers.Set(o.key, o.value);
        break;
    }
  }
}

void ApplyRequestHeaders(const config::HeaderMutations& m, http::HeaderMap& headers) {
  for (const auto& name : m.request_headers_to_remove) headers.Remove(name);
  ApplyHeaderOptions(m.request_headers_to_add, headers);
}

void ApplyResponseHeaders(const config::HeaderMutations& m, http::HeaderMap& headers) {
  for (const auto& name : m.response_headers_to_remove) headers.Remove(name);
  ApplyHeaderOptions(m.response_headers_to_add, headers);
}

}  // namespace

RouterFilter::~RouterFilter() { CleanupUpstream(false); }

void RouterFilter::ApplyRequestMutations(http::RequestHeaders& headers) {
  // Least specific first, so a route's setting wins over its virtual host's.
  if (callbacks_->virtual_host() != nullptr) {
    ApplyRequestHeaders(callbacks_->virtual_host()->config->headers, headers.headers);
  }
  ApplyRequestHeaders(callbacks_->route()->config().headers, headers.headers);
  if (weighted_ != nullptr) ApplyRequestHeaders(weighted_->headers, headers.headers);
}

http::FilterHeadersStatus RouterFilter::DecodeHeaders(http::RequestHeaders& headers,
                                                      bool end_stream) {
  request_ = &headers;
  request_complete_ = end_stream;
  const pilotfish::router::CompiledRoute* route = callbacks_->route();
  if (route == nullptr) {
    callbacks_->SendLocalReply(404, "", http::kNoRouteFound, "route_not_found");
    return http::FilterHeadersStatus::kStopIteration;
  }
  const config::Route& rc = route->config();
  if (rc.kind == config::Route::Kind::kDirectResponse) {
    callbacks_->SendLocalReply(static_cast<int>(rc.direct_response.status),
                               rc.direct_response.body.value_or(""), http::kNoFlags,
                               "direct_response");
    return http::FilterHeadersStatus::kStopIteration;
  }
  if (rc.kind == config::Route::Kind::kRedirect) {
    const config::RedirectAction& r = rc.redirect;
    std::string scheme = r.scheme_redirect.empty() ? headers.scheme : r.scheme_redirect;
    std::string host = r.host_redirect.empty() ? headers.authority : r.host_redirect;
    if (r.port_redirect != 0) {
      size_t colon = host.rfind(':');
      if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
        host.resize(colon);
      }
      host += ":" + std::to_string(r.port_redirect);
    }
    std::string path = headers.path;
    std::string query;
    if (size_t q = path.find('?'); q != std::string::npos) {
      query = path.substr(q);
      path.resize(q);
    }
    if (!r.path_redirect.empty()) {
      path = r.path_redirect;
    } else if (!r.prefix_rewrite.empty() && rc.match.kind == config::PathMatchKind::kPrefix) {
      path = r.prefix_rewrite + path.substr(std::min(path.size(), rc.match.value.size()));
    }
    if (r.strip_query) query.clear();
    auto h = std::make_unique<http::ResponseHeaders>();
    h->status = static_cast<int>(r.response_code);
    h->headers.Add("location", scheme + "://" + host + path + query);
    h->headers.Add("content-length", "0");
    callbacks_->stream_info().response_code_details = "via_route_redirect";
    callbacks_->EncodeHeaders(std::move(h), true);
    return http::FilterHeadersStatus::kStopIteration;
  }

  server::Worker& worker = callbacks_->worker();
  const std::string& cluster_name = route->SelectCluster(headers, worker.Random(), &weighted_);
  upstream::WorkerClusterManager::Cluster* cluster = worker.cluster_manager().Get(cluster_name);
  callbacks_->stream_info().upstream_cluster = cluster_name;
  if (cluster == nullptr) {
    callbacks_->SendLocalReply(503, "", http::kNoClusterFound, "cluster_not_found");
    return http::FilterHeadersStatus::kStopIteration;
  }

  // Upgrades (WebSocket) need the HCM or the route to allow the type.
  if (const std::string* up = headers.headers.Get("upgrade"); up != nullptr) {
    bool allowed = callbacks_->UpgradeAllowedByHcm(*up);
    for (const auto& t : rc.route.upgrade_types)
      allowed = allowed || http::EqualsIgnoreCase(t, *up);
    if (!allowed) {
      callbacks_->SendLocalReply(403, "", http::kNoFlags, "upgrade_failed");
      return http::FilterHeadersStatus::kStopIteration;
    }
    upgrade_ = true;
  }

  timeout_ = rc.route.timeout.value_or(kDefaultRouteTimeout);
  if (const std::string* t = headers.headers.Get("x-envoy-upstream-rq-timeout-ms")) {
    uint64_t ms;
    if (ParseInt(std::string_view(*t), &ms)) timeout_ = std::chrono::milliseconds(ms);
    headers.headers.Remove("x-envoy-upstream-rq-timeout-ms");
  }
  const bool envoy_headers = !callbacks_->suppress_envoy_headers();
  if (timeout_.count() > 0 && envoy_headers) {
    headers.headers.Set("x-envoy-expected-rq-timeout-ms", std::to_string(timeout_.count()));
  }

  // Rewrites.
  if (!rc.route.prefix_rewrite.empty() && rc.match.kind != config::PathMatchKind::kSafeRegex) {
    if (envoy_headers) headers.headers.Set("x-envoy-original-path", headers.path);
    size_t n = std::min(headers.path.size(), rc.match.value.size());
    headers.path = rc.route.prefix_rewrite + headers.path.substr(n);
  } else if (route->regex_rewrite() != nullptr) {
    if (envoy_headers) headers.headers.Set("x-envoy-original-path", headers.path);
    std::string path = headers.path, query;
    if (size_t q = path.find('?'); q != std::string::npos) {
      query = path.substr(q);
      path.resize(q);
    }
    RE2::GlobalReplace(&path, *route->regex_rewrite(), rc.route.regex_rewrite->second);
    headers.path = path + query;
  }
  if (!rc.route.host_rewrite_literal.empty()) headers.authority = rc.route.host_rewrite_literal;
  ApplyRequestMutations(headers);

  upstream::HostSharedPtr host = cluster->lb->ChooseHost(nullptr);
  if (host == nullptr) {
    callbacks_->SendLocalReply(503, "no healthy upstream", http::kNoHealthyUpstream,
                               "no_healthy_upstream");
    return http::FilterHeadersStatus::kStopIteration;
  }
  callbacks_->stream_info().upstream_host = host->ToString();
  if (upgrade_ || end_stream) {
    framing_ = http1::BodyFraming::kNone;
  } else if (headers.headers.Has("content-length")) {
    framing_ = http1::BodyFraming::kContentLength;
  } else {
    framing_ = http1::BodyFraming::kChunked;
  }
  request_head_.reserve(256 + headers.headers.ByteSize());
  http1::EncodeRequestHeaders(headers, framing_, request_head_);

  pool_ = &worker.cluster_manager().PoolFor(*cluster, host);
  if (end_stream) StartGlobalTimer();
  pending_ = pool_->NewStream(*this);
  return http::FilterHeadersStatus::kStopIteration;
}

http::FilterDataStatus RouterFilter::DecodeData(std::string_view data, bool end_stream) {
  if (destroyed_) return http::FilterDataStatus::kStopIterationAndBuffer;
  if (end_stream) {
    request_complete_ = true;
    StartGlobalTimer();
  }
  if (client_ != nullptr) {
    SendToUpstream(data, end_stream);
  } else {
    buffered_body_.append(data);
    if (!downstream_read_disabled_ && buffered_body_.size() > callbacks_->buffer_limit()) {
      downstream_read_disabled_ = true;
      callbacks_->ReadDisableDownstream(true);
    }
  }
  return http::FilterDataStatus::kStopIterationAndBuffer;
}

void RouterFilter::SendToUpstream(std::string_view data, bool end_stream) {
  std::string out;
  http1::EncodeBody(data, end_stream, framing_, out);
  if (!out.empty()) client_->Write(std::move(out));
  if (end_stream) upstream_request_complete_ = true;
}

void RouterFilter::StartGlobalTimer() {
  if (timeout_.count() == 0 || global_timer_) return;
  global_timer_ =
      std::make_unique<event::Timer>(callbacks_->dispatcher(), [this] { OnGlobalTimeout(); });
  global_timer_->Enable(timeout_);
}

void RouterFilter::OnGlobalTimeout() {
  CleanupUpstream(false);
  if (!response_started_) {
    callbacks_->SendLocalReply(504, "upstream request timeout", http::kUpstreamRequestTimeout,
                               "upstream_response_timeout");
    return;
  }
  callbacks_->stream_info().SetFlag(http::kUpstreamRequestTimeout);
  callbacks_->ResetStream();
}

void RouterFilter::OnPoolReady(upstream::UpstreamClient& client) {
  pending_ = nullptr;
  client_ = &client;
  client.StartStream(this, request_->method == "HEAD");
  upstream_start_ = callbacks_->dispatcher().time().Now();
  client.Write(std::move(request_head_));
  request_head_.clear();
  if (upgrade_) {
    if (!buffered_body_.empty()) client.Write(std::move(buffered_body_));
    buffered_body_.clear();
  } else if (!buffered_body_.empty() ||
             (request_complete_ && framing_ != http1::BodyFraming::kNone)) {
    std::string body = std::move(buffered_body_);
    buffered_body_.clear();
    SendToUpstream(body, request_complete_);
  } else if (request_complete_) {
    upstream_request_complete_ = true;
  }
  if (downstream_read_disabled_) {
    downstream_read_disabled_ = false;
    callbacks_->ReadDisableDownstream(false);
  }
}

void RouterFilter::OnPoolFailure(upstream::PoolFailure reason) {
  pending_ = nullptr;
  switch (reason) {
    case upstream::PoolFailure::kOverflow:
      callbacks_->SendLocalReply(503, std::string(kResetPrefix) + "overflow",
                                 http::kUpstreamOverflow,
                                 "upstream_reset_before_response_started{overflow}");
      return;
    case upstream::PoolFailure::kConnectTimeout:
      callbacks_->SendLocalReply(503, std::string(kResetPrefix) + "connection timeout",
                                 http::kUpstreamConnectionFailure,
                                 "upstream_reset_before_response_started{connection_timeout}");
      return;
    case upstream::PoolFailure::kConnectFail:
      callbacks_->SendLocalReply(
          503,
          std::string(kResetPrefix) +
              "remote connection failure, transport failure reason: delayed connect error: 111",
          http::kUpstreamConnectionFailure,
          "upstream_reset_before_response_started{remote_connection_failure}");
      return;
  }
}

void RouterFilter::On1xxHeaders(http::ResponseHeadersPtr headers) {
  // Envoy already answered 100-continue downstream; other 1xx are passed through.
  if (headers->status != 100) callbacks_->Encode1xxHeaders(std::move(headers));
}

void RouterFilter::OnResponseHeaders(http::ResponseHeadersPtr headers, bool end_stream) {
  response_started_ = true;
  upstream_keep_alive_ = client_ != nullptr && client_->response_keep_alive();
  if (!callbacks_->suppress_envoy_headers()) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        callbacks_->dispatcher().time().Now() - upstream_start_);
    headers->headers.Set("x-envoy-upstream-service-time", std::to_string(ms.count()));
  }
  if (callbacks_->virtual_host() != nullptr) {
    ApplyResponseHeaders(callbacks_->virtual_host()->config->headers, headers->headers);
  }
  if (callbacks_->route() != nullptr) {
    ApplyResponseHeaders(callbacks_->route()->config().headers, headers->headers);
  }
  if (weighted_ != nullptr) ApplyResponseHeaders(weighted_->headers, headers->headers);

  if (headers->status == 101 && upgrade_) {
    tunnel_ = true;
    global_timer_.reset();
    if (client_ != nullptr) client_->EnterTunnel();
    callbacks_->EncodeHeaders(std::move(headers), false);
    return;
  }
  if (end_stream) {
    response_complete_ = true;
    CleanupUpstream(upstream_request_complete_ && upstream_keep_alive_);
  }
  callbacks_->EncodeHeaders(std::move(headers), end_stream);
}

void RouterFilter::OnResponseData(std::string_view data, bool end_stream) {
  if (end_stream) {
    response_complete_ = true;
    CleanupUpstream(upstream_request_complete_ && upstream_keep_alive_);
  }
  callbacks_->EncodeData(data, end_stream);
}

void RouterFilter::OnUpstreamReset(upstream::UpstreamResetReason reason) {
  client_ = nullptr;
  global_timer_.reset();
  if (tunnel_) {
    callbacks_->EncodeTunnelEof();
    return;
  }
  if (!response_started_) {
    const bool protocol = reason == upstream::UpstreamResetReason::kProtocolError;
    callbacks_->SendLocalReply(
        protocol ? 502 : 503,
        std::string(kResetPrefix) + (protocol ? "protocol error" : "connection termination"),
        protocol ? http::kUpstreamProtocolError : http::kUpstreamConnectionTermination,
        "upstream_reset_before_response_started");
    return;
  }
  callbacks_->stream_info().SetFlag(http::kUpstreamConnectionTermination);
  callbacks_->ResetStream();
}

void RouterFilter::OnUpstreamWriteHighWatermark() {
  if (!downstream_read_disabled_) {
    downstream_read_disabled_ = true;
    callbacks_->ReadDisableDownstream(true);
  }
}

void RouterFilter::OnUpstreamWriteLowWatermark() {
  if (downstream_read_disabled_) {
    downstream_read_disabled_ = false;
    callbacks_->ReadDisableDownstream(false);
  }
}

void RouterFilter::OnDownstreamAboveWriteHighWatermark() {
  if (client_ != nullptr && !upstream_read_disabled_) {
    upstream_read_disabled_ = true;
    client_->ReadDisable(true);
  }
}

void RouterFilter::OnDownstreamBelowWriteLowWatermark() {
  if (client_ != nullptr && upstream_read_disabled_) {
    upstream_read_disabled_ = false;
    client_->ReadDisable(false);
  }
}

void RouterFilter::DecodeTunnelData(std::string_view data) {
  if (client_ != nullptr) {
    client_->Write(data);
  } else {
    buffered_body_.append(data);
  }
}

void RouterFilter::OnDownstreamTunnelEof() {
  if (client_ != nullptr) client_->ShutdownWrite();
}

void RouterFilter::OnUpstreamTunnelData(std::string_view data) {
  callbacks_->EncodeTunnelData(data);
}

void RouterFilter::OnUpstreamTunnelEof() {
  CleanupUpstream(false);
  callbacks_->EncodeTunnelEof();
}

void RouterFilter::CleanupUpstream(bool reusable) {
  global_timer_.reset();
  if (pending_ != nullptr) {
    pool_->Cancel(pending_);
    pending_ = nullptr;
  }
  if (client_ != nullptr) {
    upstream::UpstreamClient* c = client_;
    client_ = nullptr;
    if (upstream_read_disabled_) {
      upstream_read_disabled_ = false;
      c->ReadDisable(false);
    }
    c->ReleaseStream(reusable);
  }
}

void RouterFilter::OnDestroy() {
  destroyed_ = true;
  CleanupUpstream(false);
}

}  // namespace pilotfish::filters::router
