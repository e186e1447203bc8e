// Evaluating compiled operators against a LogContext; see operators.h.
#include "proxy/access_log/operators.h"

#include <netinet/in.h>

#include <charconv>

#include "proxy/common/str_util.h"

namespace pilotfish::access_log {
namespace {

bool Happened(http::StreamInfo::MonotonicTime t) { return t.time_since_epoch().count() != 0; }

Value Str(std::string_view s) { return {Value::Kind::kString, s, 0}; }
Value Num(uint64_t n) { return {Value::Kind::kNumber, {}, n}; }
Value NonEmpty(std::string_view s) { return s.empty() ? Value{} : Str(s); }

Value Millis(http::StreamInfo::MonotonicTime from, http::StreamInfo::MonotonicTime to) {
  if (!Happened(from) || !Happened(to) || to < from) return {};
  return Num(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count()));
}

Value FromAddress(const net::Address* a, AddressForm form, std::string& scratch) {
  if (a == nullptr) return {};
  if (form == AddressForm::kPortOnly) return Num(a->port());
  scratch.clear();
  if (form == AddressForm::kWithPort) {
    a->AppendTo(scratch);
  } else {
    a->AppendIp(scratch);
  }
  return Str(scratch);
}

Value FromAddress(const std::optional<net::Address>& a, AddressForm form, std::string& scratch) {
  return FromAddress(a ? &*a : nullptr, form, scratch);
}

Value Truncated(const std::string* v, size_t max_length) {
  if (v == nullptr) return {};
  return Str(std::string_view(*v).substr(0, max_length));
}

Value RequestHeader(const Piece& p, const http::RequestHeaders* h) {
  if (h == nullptr) return {};
  const std::string* v = h->GetAny(p.text);
  if (v == nullptr && !p.alt.empty()) v = h->GetAny(p.alt);
  return Truncated(v, p.max_length);
}

Value ResponseHeader(const Piece& p, const http::ResponseHeaders* h, std::string& scratch) {
  if (h == nullptr) return {};
  for (const std::string* name : {&p.text, &p.alt}) {
    if (name->empty()) continue;
    if (*name == ":status") {
      scratch.clear();
      AppendNumber(static_cast<uint64_t>(h->status), scratch);
      return Str(std::string_view(scratch).substr(0, p.max_length));
    }
    if (const std::string* v = h->headers.Get(*name)) return Truncated(v, p.max_length);
  }
  return {};
}

uint64_t RequestHeadersBytes(const http::RequestHeaders& h) {
  // Envoy counts names and values, pseudo-headers included.
  uint64_t n = h.headers.ByteSize() + sizeof(":method") - 1 + h.method.size() + sizeof(":path") -
               1 + h.path.size();
  if (!h.authority.empty()) n += sizeof(":authority") - 1 + h.authority.size();
  return n;
}

Value ReplaceSpaces(std::string_view s, std::string& scratch) {
  if (s.empty()) return {};
  if (s.find_first_of(" \t\f\v\n\r") == std::string_view::npos) return Str(s);
  scratch.assign(s);
  for (char& c : scratch) {
    if (c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\n' || c == '\r') c = '_';
  }
  return Str(scratch);
}
}  // namespace

void AppendNumber(uint64_t n, std::string& out) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof(buf), n).ptr);
}

Value Evaluate(const Piece& p, const LogContext& ctx, std::string& scratch) {
  const http::StreamInfo& info = ctx.info;
  switch (p.op) {
    case Op::kLiteral:
      return Str(p.text);
    case Op::kStartTime:
      scratch.clear();
      p.time->Append(info.start_time, scratch);
      return Str(scratch);
    case Op::kRequestHeader:
      return RequestHeader(p, ctx.request_headers);
    case Op::kResponseHeader:
      return ResponseHeader(p, ctx.response_headers, scratch);
    case Op::kResponseTrailer:  // HTTP/1 trailers are not kept
      return {};
    case Op::kRequestHeadersBytes:
      return Num(ctx.request_headers != nullptr ? RequestHeadersBytes(*ctx.request_headers) : 0);
    case Op::kResponseHeadersBytes:
      return Num(ctx.response_headers != nullptr
                     ? ctx.response_headers->headers.ByteSize() + sizeof(":status") - 1 + 3
                     : 0);
    case Op::kResponseTrailersBytes:
      return Num(0);
    case Op::kResponseCode:
      return Num(info.response_code > 0 ? static_cast<uint64_t>(info.response_code) : 0);
    case Op::kResponseCodeDetails:
      if (p.flag) return NonEmpty(info.response_code_details);
      return ReplaceSpaces(info.response_code_details, scratch);
    case Op::kConnectionTerminationDetails:
      return NonEmpty(info.connection_termination_details);
    case Op::kResponseFlags:
      scratch = http::ResponseFlagsToString(info.response_flags);
      return Str(scratch);
    case Op::kBytesReceived:
      return Num(info.bytes_received);
    case Op::kBytesSent:
      return Num(info.bytes_sent);
    case Op::kDuration:
      return Millis(info.start_mono, info.end);
    case Op::kRequestDuration:
      return Millis(info.start_mono, info.last_downstream_rx);
    case Op::kRequestTxDuration:
      return Millis(info.start_mono, info.last_upstream_tx);
    case Op::kResponseDuration:
      return Millis(info.start_mono, info.first_upstream_rx);
    case Op::kResponseTxDuration:
      return Millis(info.first_upstream_rx, info.last_downstream_tx);
    case Op::kProtocol:
      return ctx.protocol != nullptr ? Str(ctx.protocol) : Value{};
    case Op::kUpstreamProtocol:
      if (ctx.protocol == nullptr || !Happened(info.first_upstream_tx)) return {};
      return Str("HTTP/1.1");
    case Op::kUpstreamRemoteAddress:
      return FromAddress(info.upstream_host, p.form, scratch);
    case Op::kUpstreamLocalAddress:
      return FromAddress(info.upstream_local_address, p.form, scratch);
    case Op::kUpstreamCluster:
      return NonEmpty(info.upstream_cluster);
    case Op::kUpstreamTransportFailureReason:
      scratch.assign(info.upstream_transport_failure_reason);
      for (char& c : scratch) c = c == ' ' ? '_' : c;
      return NonEmpty(scratch);
    case Op::kUpstreamRequestAttemptCount:
      return Num(info.attempt_count);
    case Op::kDownstreamLocalAddress:
      return FromAddress(ctx.downstream_local, p.form, scratch);
    case Op::kDownstreamRemoteAddress:
      return FromAddress(ctx.downstream_remote, p.form, scratch);
    case Op::kRouteName:
      return NonEmpty(info.route_name);
    case Op::kConnectionId:
      return Num(ctx.connection_id);
    case Op::kConstant:
      return p.flag ? Str(p.text) : Value{};
    case Op::kUnset:
      return {};
  }
  return {};
}

}  // namespace pilotfish::access_log
