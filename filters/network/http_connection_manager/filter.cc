// ConnectionManager and ActiveStream: the HTTP/1 downstream side of the proxy.
#include "filters/network/http_connection_manager/filter.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "proxy/common/str_util.h"
#include "proxy/http/path_util.h"

namespace pilotfish::filters::hcm {
namespace {

// A random (version 4) UUID in `out`, as text.
void GenerateUuid(server::Worker& worker, char (&out)[36]) {
  uint64_t a = worker.Random(), b = worker.Random();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  std::fill(std::begin(out), std::end(out), '-');
  // 8-4-4-4-12 hex digits: a fills the first 16 digits, b the last 16.
  static constexpr int kPos[32] = {0,  1,  2,  3,  4,  5,  6,  7,  9,  10, 11, 12, 14, 15, 16, 17,
                                   19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35};
  for (int i = 0; i < 16; ++i) out[kPos[i]] = kHex[(a >> (60 - 4 * i)) & 0xf];
  for (int i = 0; i < 16; ++i) out[kPos[16 + i]] = kHex[(b >> (60 - 4 * i)) & 0xf];
}

// Hop-by-hop headers describe one connection and are never forwarded; an upgrade keeps
// Connection/Upgrade, which the next hop needs to agree to the switch.
void RemoveHopByHopHeaders(http::HeaderMap& headers, bool upgrade) {
  if (upgrade) {
    headers.RemoveAll({"keep-alive", "proxy-connection", "transfer-encoding"});
  } else {
    headers.RemoveAll(
        {"connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding"});
  }
}

}  // namespace

// ------------------------------------------------------------------------------ ActiveStream
ActiveStream::ActiveStream(ConnectionManager& cm, http::RequestHeadersPtr headers)
    : cm_(cm), headers_(std::move(headers)) {
  info_.start_time = cm.worker().dispatcher().time().SystemNow();
  info_.start_mono = cm.worker().dispatcher().time().Now();
  const HcmStats& stats = cm.stats();
  stats.Inc(stats.downstream_rq_total);
  stats.Inc(stats.downstream_rq_http1_total);
  stats.downstream_rq_active.Inc();
  head_request_ = headers_->method == "HEAD";
  for (const auto& f : cm.config().filter_factories) filters_.push_back(f->Create());
  for (auto& f : filters_) f->SetDecoderFilterCallbacks(*this);
}

ActiveStream::~ActiveStream() {
  DestroyFilters();
  cm_.stats().downstream_rq_active.Dec();
}

void ActiveStream::DestroyFilters() {
  if (filters_destroyed_) return;
  filters_destroyed_ = true;
  request_timer_.reset();
  for (auto& f : filters_) f->OnDestroy();
}

server::Worker& ActiveStream::worker() { return cm_.worker(); }
const net::Address& ActiveStream::downstream_remote_address() const {
  return cm_.connection().remote_address();
}
const net::Address* ActiveStream::downstream_original_destination() const {
  const net::Connection& c = cm_.connection();
  return c.local_address_restored() ? &c.local_address() : nullptr;
}
event::Dispatcher& ActiveStream::dispatcher() { return cm_.worker().dispatcher(); }

uint32_t ActiveStream::buffer_limit() const {
  return cm_.listener_info().per_connection_buffer_limit_bytes;
}

bool ActiveStream::suppress_envoy_headers() const {
  return cm_.config().config.suppress_envoy_headers;
}

const http::RouterStats* ActiveStream::router_stats() const { return &cm_.stats().router; }

bool ActiveStream::UpgradeAllowedByHcm(std::string_view type) const {
  for (const auto& t : cm_.config().config.upgrade_types) {
    if (http::EqualsIgnoreCase(t, type)) return true;
  }
  return false;
}

void ActiveStream::OnStreamIdleTimeout() {
  cm_.stats().Inc(cm_.stats().downstream_rq_idle_timeout);
  if (response_started_) {
    info_.SetFlag(http::kStreamIdleTimeout);
    ResetStream();
    return;
  }
  // Envoy's maybeRequestTimeoutCode: 504 once the whole request is in (the wait is on the
  // upstream), 408 while the client still owes part of it.
  SendLocalReply(request_complete_ ? 504 : 408, "stream timeout", http::kStreamIdleTimeout,
                 "stream_idle_timeout");
}

std::chrono::milliseconds ActiveStream::IdleTimeout() const {
  // A route's idle_timeout overrides the HCM's stream_idle_timeout (0 disables it).
  if (route_.route != nullptr) {
    const config::Route& r = route_.route->config();
    if (r.kind == config::Route::Kind::kRoute && r.route.idle_timeout) return *r.route.idle_timeout;
  }
  return cm_.config().config.stream_idle_timeout;
}

void ActiveStream::LogAccess() {
  if (logged_) return;
  logged_ = true;
  const access_log::AccessLoggerList& loggers = cm_.config().access_logs;
  const access_log::StreamObserverList& observers = cm_.config().observers;
  if (loggers.empty() && observers.empty()) return;
  // A completed response ended with its last byte out (Envoy's DURATION); a reset ends now.
  info_.end = info_.last_downstream_tx.time_since_epoch().count() != 0 ? info_.last_downstream_tx
                                                                       : dispatcher().time().Now();
  const net::Connection& c = cm_.connection();
  // A request the codec could not parse has no headers to log (Envoy: "- - HTTP/1.1").
  const access_log::LogContext ctx{
      .info = info_,
      .request_headers = synthetic_headers_ ? nullptr : headers_.get(),
      .response_headers = response_headers_.get(),
      .protocol = headers_->version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1",
      .downstream_local = &c.local_address(),
      .downstream_remote = &c.remote_address(),
      .connection_id = c.id(),
      .stats = cm_.listener_info().stats,
      .direction = cm_.listener_info().traffic_direction};
  access_log::LogAll(loggers, ctx);
  for (const auto& o : observers) o->OnStreamComplete(ctx);
}

void ActiveStream::DecodeHeaders(bool end_stream) {
  headers_end_stream_ = end_stream;
  request_complete_ = end_stream;
  if (end_stream) info_.last_downstream_rx = info_.start_mono;
  // RDS: the table current in the worker's snapshot now; the stream keeps it alive to its end.
  route_table_ = cm_.config().route_table;
  if (route_table_ == nullptr && !cm_.config().config.rds_route_config_name.empty()) {
    const auto& routes = cm_.worker().snapshot()->routes;
    auto it = routes.find(cm_.config().config.rds_route_config_name);
    if (it != routes.end()) route_table_ = it->second;
  }
  route_ = route_table_ != nullptr ? route_table_->Find(*headers_, worker().Random())
                                   : ::pilotfish::router::RouteTable::Match{};
  if (route_.route != nullptr) info_.route_name = route_.route->config().name;
  cm_.Touch();
  const auto rt = cm_.config().config.request_timeout;
  if (rt.count() > 0 && !end_stream) {
    request_timer_ = std::make_unique<event::Timer>(dispatcher(), [this] {
      if (!request_complete_ && !response_started_) {
        SendLocalReply(408, "request timeout", http::kNoFlags, "request_overall_timeout");
      }
    });
    request_timer_->Enable(rt);
  }
  RunDecodeHeaders();
}

void ActiveStream::RunDecodeHeaders() {
  while (next_filter_ < filters_.size()) {
    http::DecoderFilter& f = *filters_[next_filter_++];
    if (f.DecodeHeaders(*headers_, headers_end_stream_) ==
        http::FilterHeadersStatus::kStopIteration) {
      if (next_filter_ < filters_.size() && !response_started_) {
        stopped_ = true;
        return;
      }
    }
    if (response_started_ || filters_destroyed_) return;
  }
  stopped_ = false;
}

void ActiveStream::ContinueDecoding() {
  if (!stopped_ || response_started_) return;
  stopped_ = false;
  RunDecodeHeaders();
  if (stopped_ || response_started_) return;
  if (!buffered_body_.empty() || buffered_end_stream_) {
    std::string body = std::move(buffered_body_);
    buffered_body_.clear();
    bool end = buffered_end_stream_;
    for (auto& f : filters_) {
      f->DecodeData(body, end);
      if (response_started_) break;
    }
  }
  // The held body is delivered: read the rest (the filters apply their own flow control).
  if (buffer_read_disabled_ && !filters_destroyed_) {
    buffer_read_disabled_ = false;
    ReadDisableDownstream(false);
  }
}

void ActiveStream::DecodeData(std::string_view data, bool end_stream) {
  info_.bytes_received += data.size();
  if (end_stream) {
    request_complete_ = true;
    info_.last_downstream_rx = dispatcher().time().Now();
  }
  cm_.Touch();
  if (response_complete_) return;  // e.g. after a local reply; the rest is discarded
  if (stopped_) {
    buffered_body_.append(data);
    buffered_end_stream_ = end_stream;
    if (buffered_body_.size() > buffer_limit() && !buffer_read_disabled_) {
      buffer_read_disabled_ = true;  // released by ContinueDecoding
      ReadDisableDownstream(true);
    }
    return;
  }
  for (auto& f : filters_) {
    f->DecodeData(data, end_stream);
    if (response_started_ && response_complete_) break;
  }
}

void ActiveStream::SendLocalReply(int status, std::string_view body, http::ResponseFlag flag,
                                  std::string_view details) {
  info_.SetFlag(flag);
  info_.response_code_details = std::string(details);
  if (response_started_) {
    ResetStream();
    return;
  }
  auto h = std::make_unique<http::ResponseHeaders>();
  h->status = status;
  if (!body.empty()) {
    h->headers.Add("content-length", std::to_string(body.size()));
    h->headers.Add("content-type", "text/plain");
  } else {
    h->headers.Add("content-length", "0");
  }
  if (flag == http::kUpstreamOverflow && !suppress_envoy_headers()) {
    h->headers.Add("x-envoy-overloaded", "true");
  }
  // A local reply before the request body is read leaves the connection unusable.
  if (!request_complete_) cm_.close_after_response_ = true;
  EncodeHeaders(std::move(h), body.empty());
  if (!body.empty() && !filters_destroyed_ && !response_complete_) EncodeData(body, true);
}

void ActiveStream::Encode1xxHeaders(http::ResponseHeadersPtr headers) {
  std::string out;
  out.reserve(64);
  out.append("HTTP/1.1 ").append(std::to_string(headers->status)).append(" ");
  out.append(http::StatusReason(headers->status)).append("\r\n\r\n");
  cm_.connection().Write(std::move(out));
}

void ActiveStream::EncodeHeaders(http::ResponseHeadersPtr headers, bool end_stream) {
  response_started_ = true;
  info_.response_code = headers->status;
  if (headers->status >= 100 && headers->status < 600) {
    cm_.stats().Inc(cm_.stats().downstream_rq_class[headers->status / 100 - 1]);
  }
  cm_.Touch();
  cm_.WriteResponseHeaders(*this, *headers, end_stream);
  const bool upgrade = headers->status == 101;
  response_headers_ = std::move(headers);
  if ((end_stream || response_framing_ == http1::BodyFraming::kNone) && !upgrade) {
    response_complete_ = true;
    info_.last_downstream_tx = dispatcher().time().Now();
    cm_.OnStreamComplete();
  }
}

void ActiveStream::EncodeData(std::string_view data, bool end_stream) {
  if (response_complete_) return;
  info_.bytes_sent += data.size();
  cm_.Touch();
  cm_.connection().WriteWith(
      [&](std::string& out) { http1::EncodeBody(data, end_stream, response_framing_, out); });
  if (end_stream) {
    response_complete_ = true;
    info_.last_downstream_tx = dispatcher().time().Now();
    cm_.OnStreamComplete();
  }
}

void ActiveStream::EncodeTunnelData(std::string_view data) {
  info_.bytes_sent += data.size();
  cm_.connection().Write(data);
}

void ActiveStream::EncodeTunnelEof() {
  response_complete_ = true;
  cm_.Close(net::Connection::CloseType::kFlushWrite);
}

void ActiveStream::ReadDisableDownstream(bool disable) {
  if (disable) {
    ++read_disabled_;
  } else if (read_disabled_ > 0) {
    --read_disabled_;
  } else {
    return;
  }
  cm_.connection().ReadDisable(disable);
}

void ActiveStream::ResetStream() {
  info_.SetFlag(http::kLocalReset);
  cm_.Close(net::Connection::CloseType::kNoFlush);
}

void ActiveStream::OnResetFromDownstream() {
  if (!response_complete_) info_.SetFlag(http::kDownstreamConnectionTermination);
  DestroyFilters();
}

// ------------------------------------------------------------------------- ConnectionManager
ConnectionManager::ConnectionManager(server::Worker& worker, HcmRuntimeConfigSharedPtr config,
                                     net::ConnectionPtr connection, const net::ListenerInfo& info,
                                     const HcmStats& stats,
                                     const server::ListenerStats* listener_stats)
    : worker_(worker),
      config_(std::move(config)),
      connection_(std::move(connection)),
      listener_info_(info),
      stats_(stats),
      listener_stats_(listener_stats) {
  http1::CodecLimits limits;
  limits.max_headers_bytes = config_->config.max_request_headers_kb * 1024;
  codec_ = std::make_unique<http1::ServerCodec>(*this, limits);
}

ConnectionManager::~ConnectionManager() {
  if (stream_) {
    stream_->DestroyFilters();
    stream_->LogAccess();
  }
  connection_->SetCallbacks(nullptr);
  if (counted_) {
    stats_.Inc(stats_.downstream_cx_destroy);
    stats_.downstream_cx_active.Dec();
    stats_.downstream_cx_http1_active.Dec();
    if (listener_stats_ != nullptr) listener_stats_->downstream_cx_active.Dec();
  }
}

void ConnectionManager::Start() {
  counted_ = true;
  stats_.Inc(stats_.downstream_cx_total);
  stats_.Inc(stats_.downstream_cx_http1_total);
  stats_.downstream_cx_active.Inc();
  stats_.downstream_cx_http1_active.Inc();
  if (listener_stats_ != nullptr) {
    listener_stats_->scope.Inc(listener_stats_->downstream_cx_total);
    listener_stats_->downstream_cx_active.Inc();
  }
  connection_->SetCallbacks(this);
  connection_->StartReading();
  Touch();
}

std::chrono::milliseconds ConnectionManager::CurrentIdleTimeout() const {
  if (stream_) return stream_->IdleTimeout();
  const auto& t = config_->config.idle_timeout;
  return t ? *t : std::chrono::milliseconds(0);
}

void ConnectionManager::Touch() {
  const uint64_t now = worker_.dispatcher().LoopNowMs();
  last_activity_ms_ = now;
  const auto timeout = CurrentIdleTimeout();
  if (timeout.count() == 0) return;  // disabled in this state; a pending fire re-checks
  const uint64_t deadline = now + static_cast<uint64_t>(timeout.count());
  if (!idle_timer_) {
    idle_timer_ = std::make_unique<event::Timer>(worker_.dispatcher(), [this] { OnIdleTimer(); });
  } else if (idle_timer_->Enabled() && armed_deadline_ms_ <= deadline) {
    return;  // fires no later than needed; OnIdleTimer re-arms for the remainder
  }
  armed_deadline_ms_ = deadline;
  idle_timer_->Enable(timeout);
}

void ConnectionManager::OnIdleTimer() {
  const auto timeout = CurrentIdleTimeout();
  if (timeout.count() == 0) return;
  const uint64_t now = worker_.dispatcher().LoopNowMs();
  const uint64_t deadline = last_activity_ms_ + static_cast<uint64_t>(timeout.count());
  if (now < deadline) {
    armed_deadline_ms_ = deadline;
    idle_timer_->Enable(std::chrono::milliseconds(deadline - now));
    return;
  }
  if (stream_) {
    stream_->OnStreamIdleTimeout();
  } else {
    Close(net::Connection::CloseType::kFlushWrite);
  }
}

void ConnectionManager::OnData(std::string_view data) {
  if (tunnel_) {
    if (stream_) {
      stream_->info_.bytes_received += data.size();
      for (auto& f : stream_->filters_) f->DecodeTunnelData(data);
    }
    return;
  }
  if (stream_ && (stream_->request_complete() || upgrade_pending_)) {
    if (upgrade_pending_) {
      for (auto& f : stream_->filters_) f->DecodeTunnelData(data);
      return;
    }
    // Pipelined requests wait for the active one; bound what we hold.
    pending_input_.append(data);
    if (pending_input_.size() > listener_info_.per_connection_buffer_limit_bytes) {
      connection_->ReadDisable(true);
    }
    return;
  }
  Dispatch(data);
}

void ConnectionManager::Dispatch(std::string_view data) {
  in_dispatch_ = true;
  while (!data.empty() && !closed_) {
    size_t consumed = 0;
    http1::DispatchStatus st = codec_->Dispatch(data, &consumed);
    data.remove_prefix(consumed);
    if (st == http1::DispatchStatus::kError) {
      in_dispatch_ = false;
      HandleCodecError();
      return;
    }
    if (st == http1::DispatchStatus::kUpgrade) {
      upgrade_pending_ = true;
      if (!data.empty() && stream_) {
        for (auto& f : stream_->filters_) f->DecodeTunnelData(data);
      }
      data = {};
      break;
    }
    if (st == http1::DispatchStatus::kPaused) {
      if (stream_) {
        // The request is complete; keep the rest until its response is done.
        pending_input_.append(data);
        data = {};
        break;
      }
      codec_->Resume();  // the stream already finished (e.g. a local reply)
    }
  }
  in_dispatch_ = false;
}

void ConnectionManager::HandleCodecError() {
  int status = codec_->error_status() != 0 ? codec_->error_status() : 400;
  close_after_response_ = true;
  if (stream_ && stream_->response_started()) {
    Close(net::Connection::CloseType::kNoFlush);
    return;
  }
  if (!stream_) {
    auto h = std::make_unique<http::RequestHeaders>();
    h->method = "GET";
    h->path = "/";
    stream_ = std::make_unique<ActiveStream>(*this, std::move(h));
    stream_->synthetic_headers_ = true;
  }
  stream_->request_complete_ = true;
  stream_->SendLocalReply(status, "", http::kDownstreamProtocolError, codec_->error_details());
}

void ConnectionManager::OnRequestHeaders(http::RequestHeadersPtr headers, bool end_stream) {
  ++requests_;
  const uint32_t max_rq = config_->config.max_requests_per_connection;
  if (max_rq != 0 && requests_ >= max_rq) close_after_response_ = true;
  if (!codec_->request_keep_alive()) close_after_response_ = true;
  if (headers->version_minor == 0 && !config_->config.accept_http_10) {
    close_after_response_ = true;
  }
  MutateRequestHeaders(*headers);
  stream_ = std::make_unique<ActiveStream>(*this, std::move(headers));
  if (stream_->headers_->version_minor == 0 && !config_->config.accept_http_10) {
    RejectRequest(426, "low_version", end_stream);  // the connection closes (set above)
    return;
  }
  const config::HttpConnectionManager& c = config_->config;
  http::RequestHeaders& rh = *stream_->headers_;
  if (rh.authority.empty() && !codec_->request_has_authority()) {
    // No Host header (an empty one counts), no CONNECT or absolute-form target and no
    // default_host_for_http_10: Envoy's 400.
    RejectRequest(400, "missing_host_header", end_stream);
    return;
  }
  // A fragment never belongs in a request target (RFC 9112 3.2): Envoy rejects it or, as
  // Istio's bootstrap asks, strips it before anything matches on the path.
  if (const size_t hash = rh.path.find('#');
      hash != std::string::npos && c.path_fragment != config::PathFragment::kKeep) {
    if (c.path_fragment == config::PathFragment::kReject) {
      RejectRequest(400, "path_normalization_failed", end_stream);
      return;
    }
    rh.path.resize(hash);
  }
  if ((c.normalize_path || c.merge_slashes) && rh.method != "CONNECT" &&
      !(rh.method == "OPTIONS" && rh.path == "*")) {
    std::optional<std::string> normalized =
        http::NormalizePath(rh.path, c.normalize_path, c.merge_slashes);
    if (!normalized) {
      close_after_response_ = true;  // the connection closes even after a complete request
      RejectRequest(400, "path_normalization_failed", end_stream);
      return;
    }
    rh.path = std::move(*normalized);
  }
  if (codec_->request_expects_continue()) {
    // Envoy answers 100-continue itself and does not forward the Expect header.
    stream_->headers_->headers.Remove("expect");
    connection_->Write(std::string_view("HTTP/1.1 100 Continue\r\n\r\n"));
  }
  stream_->DecodeHeaders(end_stream);
}

void ConnectionManager::OnRequestData(std::string_view data, bool end_stream) {
  if (stream_) stream_->DecodeData(data, end_stream);
}

void ConnectionManager::RejectRequest(int status, std::string_view details, bool end_stream) {
  stream_->request_complete_ = end_stream;
  stream_->SendLocalReply(status, "", http::kNoFlags, details);
}

void ConnectionManager::MutateRequestHeaders(http::RequestHeaders& h) {
  const config::HttpConnectionManager& c = config_->config;
  const bool upgrade = codec_->request_is_upgrade();
  RemoveHopByHopHeaders(h.headers, upgrade);
  if (const std::string* te = h.headers.Get("te"); te != nullptr && *te != "trailers") {
    h.headers.Remove("te");
  }
  if (c.use_remote_address) {
    if (!c.skip_xff_append) {
      const std::string ip = connection_->remote_address().ip();
      const std::string* xff = h.headers.Get("x-forwarded-for");
      h.headers.Set("x-forwarded-for", xff != nullptr ? *xff + "," + ip : ip);
    }
    h.headers.Set("x-forwarded-proto", "http");
  } else if (!h.headers.Has("x-forwarded-proto")) {
    h.headers.Add("x-forwarded-proto", "http");  // absent: no need to look for others
  }
  if (c.generate_request_id && !h.headers.Has("x-request-id")) {
    char uuid[36];
    GenerateUuid(worker_, uuid);
    h.headers.Add("x-request-id", std::string_view(uuid, sizeof(uuid)));
  }
  if (h.authority.empty() && h.version_minor == 0 && !c.default_host_for_http_10.empty()) {
    h.authority = c.default_host_for_http_10;
  }
}

void ConnectionManager::WriteResponseHeaders(ActiveStream& stream, http::ResponseHeaders& h,
                                             bool end_stream) {
  const config::HttpConnectionManager& c = config_->config;
  const bool upgrade_response = h.status == 101;
  RemoveHopByHopHeaders(h.headers, upgrade_response);
  switch (c.server_header) {
    case config::HttpConnectionManager::ServerHeader::kOverwrite:
      h.headers.Set("server", c.server_name);
      break;
    case config::HttpConnectionManager::ServerHeader::kAppendIfAbsent:
      if (!h.headers.Has("server")) h.headers.Add("server", c.server_name);
      break;
    case config::HttpConnectionManager::ServerHeader::kPassThrough:
      break;
  }
  // A body whose length is known up front and empty: say so instead of chunking nothing. Not
  // for HEAD: its headers describe the GET's body, which is not known to be empty.
  if (end_stream && !stream.head_request_ && !h.headers.Has("content-length") && h.status >= 200 &&
      h.status != 204 && h.status != 304) {
    h.headers.Add("content-length", "0");
  }
  bool keep_alive =
      !close_after_response_ && !draining_ && !worker_.draining() &&
      !(worker_.health_check_failed() && listener_info_.drain_type == config::DrainType::kDefault);
  connection_->WriteWith([&](std::string& out) {
    http1::EncodeResponseHeaders(h, stream.headers_->version_minor, stream.head_request_,
                                 keep_alive && !upgrade_response, out, &stream.response_framing_);
  });
  if (upgrade_response) {
    tunnel_ = true;
    stream.response_framing_ = http1::BodyFraming::kNone;
  }
  if (stream.response_framing_ == http1::BodyFraming::kUntilClose) close_after_response_ = true;
  if (!keep_alive) close_after_response_ = true;
}

void ConnectionManager::OnStreamComplete() {
  stats_.Inc(stats_.downstream_rq_completed);
  if (stats_.scope.store() != nullptr) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        worker_.dispatcher().time().Now() - stream_->info_.start_mono);
    stats_.scope.Record(stats_.downstream_rq_time, static_cast<uint64_t>(elapsed.count()));
  }
  // The response is fully written (buffered). An incomplete request body cannot be skipped on
  // HTTP/1: close the connection then.
  if (!stream_->request_complete() && !tunnel_) close_after_response_ = true;
  stream_->DestroyFilters();
  stream_->LogAccess();
  worker_.dispatcher().DeferredDelete(std::move(stream_));
  upgrade_pending_ = false;
  if (close_after_response_ || draining_) {
    Close(net::Connection::CloseType::kFlushWrite);
    return;
  }
  Touch();  // now measuring the connection's idle time
  codec_->Resume();
  if (!pending_input_.empty() && !in_dispatch_) {
    std::string input = std::move(pending_input_);
    pending_input_.clear();
    connection_->ReadDisable(false);
    Dispatch(input);
  }
}

void ConnectionManager::OnEof() {
  if (tunnel_ || upgrade_pending_) {
    if (stream_) {
      for (auto& f : stream_->filters_) f->OnDownstreamTunnelEof();
    }
    return;
  }
  if (stream_ && stream_->request_complete()) {
    // Half-closed after a full request: answer it, then close.
    close_after_response_ = true;
    return;
  }
  if (stream_) {
    ResetActiveStream(http::kDownstreamConnectionTermination);
  }
  Close(net::Connection::CloseType::kFlushWrite);
}

void ConnectionManager::ResetActiveStream(http::ResponseFlag flag) {
  if (!stream_) return;
  stream_->info_.SetFlag(flag);
  stream_->OnResetFromDownstream();
  stream_->LogAccess();
  worker_.dispatcher().DeferredDelete(std::move(stream_));
}

void ConnectionManager::OnClose(net::CloseReason) {
  closed_ = true;
  ResetActiveStream(http::kDownstreamConnectionTermination);
  idle_timer_.reset();
  worker_.RemoveSession(this);
}

void ConnectionManager::OnAboveWriteHighWatermark() {
  if (stream_) {
    for (auto& f : stream_->filters_) f->OnDownstreamAboveWriteHighWatermark();
  }
}

void ConnectionManager::OnBelowWriteLowWatermark() {
  if (stream_) {
    for (auto& f : stream_->filters_) f->OnDownstreamBelowWriteLowWatermark();
  }
}

void ConnectionManager::Close(net::Connection::CloseType type) {
  if (closed_) return;
  connection_->Close(type);  // OnClose follows (now, or after the flush)
}

void ConnectionManager::StartDrain() {
  draining_ = true;
  if (!stream_) Close(net::Connection::CloseType::kFlushWrite);
}

void ConnectionManager::CloseNow() { Close(net::Connection::CloseType::kNoFlush); }

void HcmFactory::OnNewConnection(server::Worker& worker, net::ConnectionPtr connection,
                                 const net::ListenerInfo& info) const {
  // The stats are created by the first connection (the store comes with the listener).
  const HcmStats& stats = info.stats != nullptr
                              ? config_->stats.Get(info.stats, config_->config.stat_prefix)
                              : HcmStats::None();
  const server::ListenerStats* listener_stats =
      info.stats != nullptr && !info.stat_prefix.empty()
          ? &config_->listener_stats.Get(info.stats, info.stat_prefix)
          : nullptr;
  auto cm = std::make_unique<ConnectionManager>(worker, config_, std::move(connection), info, stats,
                                                listener_stats);
  ConnectionManager* raw = cm.get();
  worker.AddSession(std::move(cm));
  raw->Start();
}

}  // namespace pilotfish::filters::hcm
