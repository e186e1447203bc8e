// RouterFilter: forwarding, local replies for upstream failures, timeouts, flow control.
#include "filters/http/router/filter.h"

#include "proxy/common/str_util.h"
#include "proxy/http/http_stats.h"
#include "proxy/router/route_table.h"
#include "proxy/server/worker.h"
#include "proxy/upstream/hash_lb.h"
#include "proxy/upstream/outlier_detector.h"

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

// The request's hash from the route's hash_policy list, combined as Envoy does (rotate and xor);
// a terminal policy that produced a hash ends the list. nullopt when no policy applies.
std::optional<uint64_t> ComputeHash(const std::vector<config::HashPolicy>& policies,
                                    const http::RequestHeaders& headers,
                                    const net::Address& remote) {
  std::optional<uint64_t> hash;
  for (const config::HashPolicy& p : policies) {
    std::optional<uint64_t> h;
    switch (p.kind) {
      case config::HashPolicy::Kind::kHeader:
        if (const std::string* v = headers.GetAny(p.name)) h = upstream::StableHash(*v);
        break;
      case config::HashPolicy::Kind::kSourceIp:
        h = upstream::StableHash(remote.ip());
        break;
      case config::HashPolicy::Kind::kCookie: {
        const std::string* cookies = headers.headers.Get("cookie");
        for (std::string_view rest = cookies != nullptr ? std::string_view(*cookies) : "";
             !rest.empty();) {
          size_t semi = rest.find(';');
          std::string_view kv = TrimWhitespace(rest.substr(0, semi));
          rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
          size_t eq = kv.find('=');
          if (eq != std::string_view::npos && kv.substr(0, eq) == p.name) {
            h = upstream::StableHash(kv.substr(eq + 1));
            break;
          }
        }
        break;
      }
      case config::HashPolicy::Kind::kQueryParameter: {
        std::string_view path = headers.path;
        size_t q = path.find('?');
        for (std::string_view rest = q == std::string_view::npos ? "" : path.substr(q + 1);
             !rest.empty();) {
          size_t amp = rest.find('&');
          std::string_view kv = rest.substr(0, amp);
          rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
          size_t eq = kv.find('=');
          if (kv.substr(0, eq) == p.name) {
            h = upstream::StableHash(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
            break;
          }
        }
        break;
      }
      case config::HashPolicy::Kind::kFilterState:
        break;  // no filter state in pilotfish: this policy never produces a hash
    }
    if (h) hash = hash ? (((*hash << 1) | (*hash >> 63)) ^ *h) : *h;
    if (p.terminal && hash) break;
  }
  return hash;
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
  // Before the router adds its own: without x-envoy-* request headers (the usual case) the
  // ones the router and the retry state honour are not looked for one by one.
  const bool client_envoy_headers = headers.headers.HasNamePrefix("x-envoy-");
  const http::RouterStats* stats = callbacks_->router_stats();
  if (stats != nullptr) stats->Inc(stats->rq_total);
  const pilotfish::router::CompiledRoute* route = callbacks_->route();
  if (route == nullptr) {
    if (stats != nullptr) stats->Inc(stats->no_route);
    callbacks_->SendLocalReply(404, "", http::kNoRouteFound, "route_not_found");
    return http::FilterHeadersStatus::kStopIteration;
  }
  const config::Route& rc = route->config();
  if (rc.kind == config::Route::Kind::kDirectResponse) {
    if (stats != nullptr) stats->Inc(stats->rq_direct_response);
    callbacks_->SendLocalReply(static_cast<int>(rc.direct_response->status),
                               rc.direct_response->body.value_or(""), http::kNoFlags,
                               "direct_response");
    return http::FilterHeadersStatus::kStopIteration;
  }
  if (rc.kind == config::Route::Kind::kRedirect) {
    if (stats != nullptr) stats->Inc(stats->rq_redirect);
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
  if (cluster == nullptr) {
    if (stats != nullptr) stats->Inc(stats->no_cluster);
    callbacks_->SendLocalReply(503, "", http::kNoClusterFound, "cluster_not_found");
    return http::FilterHeadersStatus::kStopIteration;
  }
  callbacks_->stream_info().upstream_cluster = cluster_name;

  // Upgrades (WebSocket) need the HCM or the route to allow the type.
  if (const std::string* up = headers.headers.Get("upgrade"); up != nullptr) {
    // A route's upgrade_configs entry for the type, enabled or not, overrides the HCM's.
    bool allowed = callbacks_->UpgradeAllowedByHcm(*up);
    for (const auto& t : rc.route.upgrade_types)
      allowed = allowed || http::EqualsIgnoreCase(t, *up);
    for (const auto& t : rc.route.disabled_upgrade_types)
      allowed = allowed && !http::EqualsIgnoreCase(t, *up);
    if (!allowed) {
      callbacks_->SendLocalReply(403, "", http::kNoFlags, "upgrade_failed");
      return http::FilterHeadersStatus::kStopIteration;
    }
    upgrade_ = true;
  }

  timeout_ = rc.route.timeout.value_or(kDefaultRouteTimeout);
  if (const std::string* t =
          client_envoy_headers ? headers.headers.Get("x-envoy-upstream-rq-timeout-ms") : nullptr) {
    uint64_t ms;
    if (ParseInt(std::string_view(*t), &ms)) timeout_ = std::chrono::milliseconds(ms);
    headers.headers.Remove("x-envoy-upstream-rq-timeout-ms");
  }
  const bool envoy_headers = !callbacks_->suppress_envoy_headers();
  if (timeout_.count() > 0 && envoy_headers) {
    DecimalBuffer ms;
    // Only a client's copy could already be there (replaced, as Envoy does).
    const std::string_view value = FormatDecimal(ms, timeout_.count());
    if (client_envoy_headers) {
      headers.headers.Set("x-envoy-expected-rq-timeout-ms", value);
    } else {
      headers.headers.Add("x-envoy-expected-rq-timeout-ms", value);
    }
  }

  // Rewrites.
  if (!rc.route.prefix_rewrite->empty() && rc.match.kind != config::PathMatchKind::kSafeRegex) {
    if (envoy_headers) headers.headers.Set("x-envoy-original-path", headers.path);
    size_t n = std::min(headers.path.size(), rc.match.value.size());
    headers.path = *rc.route.prefix_rewrite + headers.path.substr(n);
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
  if (!rc.route.host_rewrite_literal->empty()) headers.authority = *rc.route.host_rewrite_literal;
  auto_host_rewrite_ = rc.route.auto_host_rewrite && rc.route.host_rewrite_literal->empty();
  ApplyRequestMutations(headers);
  for (const config::RequestMirrorPolicy& m : *rc.route.request_mirror_policies) {
    if (worker.Random() % 1000000 >= m.per_million) continue;
    if (!m.cluster.empty()) {
      mirror_clusters_.push_back(m.cluster);
    } else if (const std::string* c = headers.headers.Get(m.cluster_header)) {
      mirror_clusters_.push_back(*c);
    }
  }
  if (!mirror_clusters_.empty() && !upgrade_) {
    mirror_headers_ = std::make_unique<http::RequestHeaders>(headers);
  }

  if (upgrade_ || end_stream) {
    framing_ = http1::BodyFraming::kNone;
  } else if (headers.headers.Has("content-length")) {
    framing_ = http1::BodyFraming::kContentLength;
  } else {
    framing_ = http1::BodyFraming::kChunked;
  }
  const pilotfish::router::CompiledVirtualHost* vh = callbacks_->virtual_host();
  retry_ = RetryState::Create(route->retry_policy(),
                              vh != nullptr && vh->retry_policy ? &*vh->retry_policy : nullptr,
                              headers, client_envoy_headers);
  retain_body_ = retry_ != nullptr && retry_->retries_left() && !upgrade_;
  cluster_name_ = cluster_name;
  hash_ = ComputeHash(rc.route.hash_policy, headers, callbacks_->downstream_remote_address());
  if (end_stream) {
    StartGlobalTimer();
    LaunchMirrors();
  }
  StartAttempt(cluster);  // nothing between the lookup above and here changes the clusters
  return http::FilterHeadersStatus::kStopIteration;
}

void RouterFilter::StartAttempt(upstream::WorkerClusterManager::Cluster* cluster) {
  backoff_timer_.reset();
  if (cluster == nullptr) cluster = callbacks_->worker().cluster_manager().Get(cluster_name_);
  if (cluster == nullptr) {  // removed between attempts
    callbacks_->SendLocalReply(503, "", http::kNoClusterFound, "cluster_not_found");
    return;
  }
  upstream::LbContext ctx;
  if (retry_ != nullptr && retry_->previous_hosts_predicate() && host_ != nullptr) {
    ctx.exclude = host_.get();
  }
  ctx.hash = hash_;
  ctx.original_dst = callbacks_->downstream_original_destination();
  if (cluster->info->config().use_http_header) {
    if (const std::string* h = request_->headers.Get("x-envoy-original-dst-host")) {
      ctx.original_dst_header = *h;
    }
  }
  ctx.outlier.detector = cluster->info->outlier_detector();
  ctx.outlier.panic_threshold_percent = cluster->info->config().healthy_panic_threshold_percent;
  upstream::HostSharedPtr host = cluster->lb->ChooseHost(&ctx);
  if (host == nullptr) {
    callbacks_->SendLocalReply(503, "no healthy upstream", http::kNoHealthyUpstream,
                               "no_healthy_upstream");
    return;
  }
  host_ = std::move(host);
  ++attempt_;
  callbacks_->stream_info().upstream_host = host_->address();
  callbacks_->stream_info().attempt_count = attempt_;
  if (cluster_info_ != cluster->info) cluster_info_ = cluster->info;
  // max_requests: upstream requests in progress on this cluster, across all workers.
  upstream::ClusterResources& res = cluster->info->resources();
  if (res.requests.load(std::memory_order_relaxed) >=
      cluster->info->config().circuit_breakers.max_requests) {
    // Envoy counts a max_requests refusal as a pending overflow too.
    cluster_info_->stats().Inc(cluster_info_->stats().upstream_rq_pending_overflow);
    ChargeUpstreamCode(503);
    SendOverflowReply();
    return;
  }
  res.requests.fetch_add(1, std::memory_order_relaxed);
  counted_request_ = cluster->info;
  pool_ = &callbacks_->worker().cluster_manager().PoolFor(*cluster, host_);
  pending_ = pool_->NewStream(*this);
}

http::FilterDataStatus RouterFilter::DecodeData(std::string_view data, bool end_stream) {
  if (destroyed_) return http::FilterDataStatus::kStopIterationAndBuffer;
  if (mirror_headers_ != nullptr) {
    mirror_body_.append(data);
    if (mirror_body_.size() > callbacks_->buffer_limit()) {  // too large to mirror: skip it
      mirror_headers_.reset();
      mirror_body_.clear();
    }
  }
  if (end_stream) {
    request_complete_ = true;
    StartGlobalTimer();
    LaunchMirrors();
  }
  if (retain_body_ || client_ == nullptr) body_.append(data);
  if (retain_body_ && body_.size() > callbacks_->buffer_limit()) {
    // Too large to replay: this request is not retried (Envoy's behaviour).
    retain_body_ = false;
    retry_->DisableRetries();
    if (client_ != nullptr) body_.clear();  // everything kept was already sent
  }
  if (client_ != nullptr) {
    SendToUpstream(data, end_stream);
    if (!retain_body_) body_.clear();
    if (end_stream) StartPerTryTimer();
  } else if (!downstream_read_disabled_ && body_.size() > callbacks_->buffer_limit()) {
    downstream_read_disabled_ = true;
    callbacks_->ReadDisableDownstream(true);
  }
  return http::FilterDataStatus::kStopIterationAndBuffer;
}

void RouterFilter::SendToUpstream(std::string_view data, bool end_stream) {
  client_->WriteWith([&](std::string& out) { http1::EncodeBody(data, end_stream, framing_, out); });
  if (end_stream) {
    upstream_request_complete_ = true;
    callbacks_->stream_info().last_upstream_tx = callbacks_->dispatcher().time().Now();
  }
}

void RouterFilter::LaunchMirrors() {
  if (mirror_headers_ == nullptr) return;
  for (const std::string& cluster : mirror_clusters_) {
    ShadowRequest::Start(callbacks_->worker(), cluster, *mirror_headers_, mirror_body_,
                         timeout_.count() > 0 ? timeout_ : kDefaultRouteTimeout);
  }
  mirror_headers_.reset();
  mirror_body_.clear();
}

void RouterFilter::StartGlobalTimer() {
  if (timeout_.count() == 0 || global_timer_started_) return;
  global_timer_started_ = true;
  global_timer_.Enable(callbacks_->dispatcher(), timeout_);
}

void RouterFilter::StartPerTryTimer() {
  if (retry_ == nullptr) return;
  if (retry_->per_try_timeout() && retry_->per_try_timeout()->count() > 0) {
    per_try_timer_ =
        std::make_unique<event::Timer>(callbacks_->dispatcher(), [this] { OnPerTryTimeout(); });
    per_try_timer_->Enable(*retry_->per_try_timeout());
  }
  if (retry_->per_try_idle_timeout().count() > 0) {
    if (per_try_idle_timer_ == nullptr) {
      per_try_idle_timer_ = std::make_unique<event::Timer>(callbacks_->dispatcher(),
                                                           [this] { OnPerTryIdleTimeout(); });
    }
    per_try_idle_timer_->Enable(retry_->per_try_idle_timeout());
  }
}

void RouterFilter::TouchPerTryIdleTimer() {
  if (per_try_idle_timer_ != nullptr && per_try_idle_timer_->Enabled()) {
    per_try_idle_timer_->Enable(retry_->per_try_idle_timeout());
  }
}

void RouterFilter::OnPerTryTimeout() {
  // Once the response streams downstream the per-try timeout no longer applies (Envoy).
  if (response_started_) return;
  callbacks_->stream_info().SetFlag(http::kUpstreamRequestTimeout);
  OnAttemptTimeout(&upstream::ClusterStats::upstream_rq_per_try_timeout,
                   "upstream_per_try_timeout");
}

void RouterFilter::OnPerTryIdleTimeout() {
  // Unlike per_try_timeout this one also ends a response that has started and then stalls.
  OnAttemptTimeout(&upstream::ClusterStats::upstream_rq_per_try_idle_timeout,
                   "upstream_per_try_idle_timeout");
}

void RouterFilter::OnAttemptTimeout(stats::Counter upstream::ClusterStats::*counter,
                                    std::string_view details) {
  if (cluster_info_ != nullptr) cluster_info_->stats().Inc(cluster_info_->stats().*counter);
  if (host_ != nullptr) host_->Inc(&upstream::HostCounters::rq_timeout);
  ReportToOutlierDetector(0, true);
  if (!response_started_ &&
      MaybeRetry(retry_->MatchesReset(RetryState::Reset::kPerTryTimeout, true))) {
    return;
  }
  if (!response_started_) ChargeUpstreamCode(504);
  CleanupUpstream(false);
  StopGlobalTimer();
  // After the response started this resets the downstream stream instead.
  callbacks_->SendLocalReply(504, "upstream request timeout", http::kUpstreamRequestTimeout,
                             details);
}

bool RouterFilter::MaybeRetry(bool matched) {
  if (!matched || retry_ == nullptr) return false;
  if (!retry_->retries_left()) {
    callbacks_->stream_info().SetFlag(http::kUpstreamRetryLimitExceeded);
    return false;
  }
  upstream::WorkerClusterManager::Cluster* cluster =
      callbacks_->worker().cluster_manager().Get(cluster_name_);
  if (cluster == nullptr) return false;
  // The retry circuit breaker (max_retries, or the retry budget) counts retries in progress
  // across all workers. As in Envoy, every retry is checked again, this request's own slot
  // excluded: a budget shrinks when the load drops.
  ReleaseRetryResource();
  upstream::ClusterResources& res = cluster->info->resources();
  const upstream::ClusterStats& stats = cluster->info->stats();
  if (res.retries.load(std::memory_order_relaxed) >= cluster->info->RetryLimit()) {
    stats.Inc(stats.upstream_rq_retry_overflow);
    callbacks_->stream_info().SetFlag(http::kUpstreamOverflow);
    return false;
  }
  res.retries.fetch_add(1, std::memory_order_relaxed);
  counted_retry_ = cluster->info;
  stats.Inc(stats.upstream_rq_retry);
  CleanupUpstream(false);
  const auto delay = retry_->ConsumeRetry(callbacks_->worker().Random());
  backoff_timer_ =
      std::make_unique<event::Timer>(callbacks_->dispatcher(), [this] { StartAttempt(); });
  backoff_timer_->Enable(delay);
  return true;
}

void RouterFilter::ReleaseRetryResource() {
  if (counted_retry_ == nullptr) return;
  counted_retry_->resources().retries.fetch_sub(1, std::memory_order_relaxed);
  counted_retry_.reset();
}

void RouterFilter::OnGlobalTimeout() {
  backoff_timer_.reset();
  CleanupUpstream(false);
  if (cluster_info_ != nullptr) {
    cluster_info_->stats().Inc(cluster_info_->stats().upstream_rq_timeout);
  }
  if (!response_started_) {
    ChargeUpstreamCode(504);
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
  http::StreamInfo& info = callbacks_->stream_info();
  info.first_upstream_tx = upstream_start_;
  info.upstream_local_address = client.connection().local_address();
  const config::VirtualHost* vh =
      callbacks_->virtual_host() != nullptr ? callbacks_->virtual_host()->config : nullptr;
  if (vh != nullptr && vh->include_request_attempt_count) {
    request_->headers.Set("x-envoy-attempt-count", std::to_string(attempt_));
  }
  // Envoy: only hosts with a name (DNS clusters, endpoints with a hostname) rewrite Host.
  if (auto_host_rewrite_ && !host_->hostname().empty()) request_->authority = host_->hostname();
  client.WriteWith(
      [&](std::string& out) { http1::EncodeRequestHeaders(*request_, framing_, out); });
  upstream_request_complete_ = false;
  if (upgrade_) {
    if (!body_.empty()) client.Write(std::move(body_));
    body_.clear();
  } else if (!body_.empty() || (request_complete_ && framing_ != http1::BodyFraming::kNone)) {
    SendToUpstream(body_, request_complete_);
    if (!retain_body_) body_.clear();
  } else if (request_complete_) {
    upstream_request_complete_ = true;
    info.last_upstream_tx = upstream_start_;
  }
  if (request_complete_) StartPerTryTimer();
  if (downstream_read_disabled_) {
    downstream_read_disabled_ = false;
    callbacks_->ReadDisableDownstream(false);
  }
}

void RouterFilter::OnPoolFailure(upstream::PoolFailure reason) {
  pending_ = nullptr;
  if (reason != upstream::PoolFailure::kOverflow) ReportToOutlierDetector(0, true);
  if (retry_ != nullptr) {
    const auto r = reason == upstream::PoolFailure::kOverflow ? RetryState::Reset::kOverflow
                                                              : RetryState::Reset::kConnectFailure;
    if (MaybeRetry(retry_->MatchesReset(r, false))) return;
  }
  StopGlobalTimer();
  ChargeUpstreamCode(503);
  switch (reason) {
    case upstream::PoolFailure::kOverflow:
      SendOverflowReply();
      return;
    case upstream::PoolFailure::kConnectTimeout:
      callbacks_->SendLocalReply(503, std::string(kResetPrefix) + "connection timeout",
                                 http::kUpstreamConnectionFailure,
                                 "upstream_reset_before_response_started{connection_timeout}");
      return;
    case upstream::PoolFailure::kConnectFail:
      callbacks_->stream_info().upstream_transport_failure_reason = "delayed connect error: 111";
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
  TouchPerTryIdleTimer();
  // Envoy already answered 100-continue downstream; other 1xx are passed through.
  if (headers->status != 100) callbacks_->Encode1xxHeaders(std::move(headers));
}

void RouterFilter::OnResponseHeaders(http::ResponseHeadersPtr headers, bool end_stream) {
  per_try_timer_.reset();
  TouchPerTryIdleTimer();
  ChargeUpstreamCode(headers->status);
  host_->Inc(headers->status >= 500 ? &upstream::HostCounters::rq_error
                                    : &upstream::HostCounters::rq_success);
  ReportToOutlierDetector(headers->status, false);
  if (!upgrade_ && retry_ != nullptr && retry_->MatchesResponse(*headers) && MaybeRetry(true)) {
    return;  // this response is dropped with its connection; the next attempt answers
  }
  response_started_ = true;
  const auto now = callbacks_->dispatcher().time().Now();
  callbacks_->stream_info().first_upstream_rx = now;
  callbacks_->stream_info().response_code_details = "via_upstream";
  const config::VirtualHost* vh =
      callbacks_->virtual_host() != nullptr ? callbacks_->virtual_host()->config : nullptr;
  if (vh != nullptr && vh->include_attempt_count_in_response) {
    headers->headers.Set("x-envoy-attempt-count", std::to_string(attempt_));
  }
  upstream_keep_alive_ = client_ != nullptr && client_->response_keep_alive();
  if (!callbacks_->suppress_envoy_headers()) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - upstream_start_);
    DecimalBuffer b;
    headers->headers.Set("x-envoy-upstream-service-time", FormatDecimal(b, ms.count()));
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
    StopGlobalTimer();
    if (per_try_idle_timer_ != nullptr) per_try_idle_timer_->Disable();  // an idle tunnel is fine
    if (client_ != nullptr) client_->EnterTunnel();
    callbacks_->EncodeHeaders(std::move(headers), false);
    return;
  }
  if (end_stream) {
    response_complete_ = true;
    StopGlobalTimer();
    CleanupUpstream(upstream_request_complete_ && upstream_keep_alive_);
  }
  callbacks_->EncodeHeaders(std::move(headers), end_stream);
}

void RouterFilter::OnResponseData(std::string_view data, bool end_stream) {
  TouchPerTryIdleTimer();
  if (end_stream) {
    response_complete_ = true;
    StopGlobalTimer();
    CleanupUpstream(upstream_request_complete_ && upstream_keep_alive_);
  }
  callbacks_->EncodeData(data, end_stream);
}

void RouterFilter::OnUpstreamReset(upstream::UpstreamResetReason reason) {
  client_ = nullptr;
  per_try_timer_.reset();
  if (host_ != nullptr) host_->Inc(&upstream::HostCounters::rq_error);
  if (!tunnel_ && !response_started_) ReportToOutlierDetector(0, true);
  if (!tunnel_ && !response_started_ && retry_ != nullptr &&
      MaybeRetry(retry_->MatchesReset(RetryState::Reset::kConnectionTermination, true))) {
    return;
  }
  StopGlobalTimer();
  if (tunnel_) {
    callbacks_->EncodeTunnelEof();
    return;
  }
  if (!response_started_) {
    const bool protocol = reason == upstream::UpstreamResetReason::kProtocolError;
    ChargeUpstreamCode(protocol ? 502 : 503);
    callbacks_->SendLocalReply(
        protocol ? 502 : 503,
        std::string(kResetPrefix) + (protocol ? "protocol error" : "connection termination"),
        protocol ? http::kUpstreamProtocolError : http::kUpstreamConnectionTermination,
        "upstream_reset_before_response_started");
    return;
  }
  callbacks_->stream_info().SetFlag(http::kUpstreamConnectionTermination);
  if (const http::RouterStats* stats = callbacks_->router_stats()) {
    stats->Inc(stats->rq_reset_after_downstream_response_started);
  }
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
    body_.append(data);
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

int64_t RouterFilter::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             callbacks_->dispatcher().time().Now().time_since_epoch())
      .count();
}

void RouterFilter::ReportToOutlierDetector(int status, bool local_origin_failure) {
  // The attempt's cluster says whether there is a detector, without a lookup by name.
  if (host_ == nullptr || cluster_info_ == nullptr ||
      cluster_info_->outlier_detector() == nullptr) {
    return;
  }
  upstream::WorkerClusterManager::Cluster* cluster =
      callbacks_->worker().cluster_manager().Get(cluster_name_);
  if (cluster == nullptr || cluster->info->outlier_detector() == nullptr) return;
  upstream::OutlierDetector& d = *cluster->info->outlier_detector();
  const uint64_t random = callbacks_->worker().Random();
  if (local_origin_failure) {
    d.ReportLocalFailure(*host_, *cluster->hosts, NowMs(), random);
  } else {
    d.ReportStatus(*host_, status, *cluster->hosts, NowMs(), random);
  }
}

void RouterFilter::ChargeUpstreamCode(int status) {
  if (cluster_info_ != nullptr) cluster_info_->stats().ChargeResponseCode(status);
}

void RouterFilter::SendOverflowReply() {
  callbacks_->SendLocalReply(503, std::string(kResetPrefix) + "overflow", http::kUpstreamOverflow,
                             "upstream_reset_before_response_started{overflow}");
}

void RouterFilter::CleanupUpstream(bool reusable) {
  per_try_timer_.reset();
  if (per_try_idle_timer_ != nullptr) per_try_idle_timer_->Disable();
  if (counted_request_ != nullptr) {
    counted_request_->resources().requests.fetch_sub(1, std::memory_order_relaxed);
    counted_request_.reset();
  }
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
  StopGlobalTimer();
  backoff_timer_.reset();
  CleanupUpstream(false);
  ReleaseRetryResource();
}

}  // namespace pilotfish::filters::router
