// HTTP/1.x request (server side) and response (client side) parsing on llhttp.
#include "proxy/http1/codec.h"

#include <llhttp.h>

#include <array>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <utility>

namespace pilotfish::http1 {
namespace {

constexpr const char* kCodecError = "http1.codec_error";
constexpr const char* kHeadersTooLarge = "http1.headers_too_large";
constexpr const char* kTooManyHeaders = "http1.too_many_headers";
constexpr const char* kInvalidCharacters = "http1.invalid_characters";
constexpr const char* kObsFold = "http1.obs_fold_not_allowed";
constexpr const char* kInvalidUrl = "http1.invalid_url";
constexpr const char* kInvalidAuthority = "http.invalid_authority";
constexpr const char* kInvalidContentLength = "http1.invalid_content_length";
constexpr const char* kContentLengthAndChunked = "http1.content_length_and_chunked_not_allowed";
constexpr const char* kInvalidTransferEncoding = "http1.invalid_transfer_encoding";
constexpr const char* kInvalidChunkSize = "http1.invalid_chunk_size";
constexpr const char* kBodyDisallowed = "http1.body_disallowed";
constexpr const char* kPrematureEof = "http1.premature_eof";
constexpr const char* kUnexpectedResponse = "http1.unexpected_response";

// RFC 9110 tchar mapped to its lower-case form; 0 for bytes not allowed in a header name.
constexpr std::array<char, 256> kTokenLower = [] {
  std::array<char, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<char>(c);
  for (int c = 'a'; c <= 'z'; ++c) t[c] = static_cast<char>(c);
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = static_cast<char>(c + ('a' - 'A'));
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = c;
  return t;
}();

// Bytes allowed in an authority (host[:port], the set nghttp2_check_authority accepts).
constexpr std::array<bool, 256> kAuthorityChar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("-._~!$&'()*+,;=:%@[]")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool ValidAuthority(std::string_view s) {
  for (char c : s) {
    if (!kAuthorityChar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

// llhttp already skips leading whitespace, but keeps trailing whitespace in values.
void TrimOws(std::string& s) {
  if (s.empty() || (!IsOws(s.back()) && !IsOws(s.front()))) return;
  size_t end = s.size();
  while (end > 0 && IsOws(s[end - 1])) --end;
  size_t begin = 0;
  while (begin < end && IsOws(s[begin])) ++begin;
  s.erase(end);
  s.erase(0, begin);
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// Checks the Transfer-Encoding codings (all TE headers, in order). Returns 0 when the only
// coding is "chunked", otherwise 501 Not Implemented, as Envoy's codec answers any other
// transfer-coding (its "http1.invalid_transfer_encoding").
int CheckTransferEncoding(const http::HeaderMap& headers) {
  size_t codings = 0;
  bool last_chunked = false;
  for (const auto& [name, value] : headers.entries()) {
    if (name != "transfer-encoding") continue;
    std::string_view rest = value;
    while (true) {
      const size_t comma = rest.find(',');
      const std::string_view coding = TrimOws(rest.substr(0, comma));
      if (!coding.empty()) {
        ++codings;
        last_chunked = http::EqualsIgnoreCase(coding, "chunked");
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return last_chunked && codings == 1 ? 0 : 501;
}

// Maps an llhttp error to a detail string in Envoy's style.
const char* DetailsForParserError(llhttp_errno_t err, const char* reason) {
  switch (err) {
    case HPE_UNEXPECTED_CONTENT_LENGTH:
      if (reason != nullptr && std::strstr(reason, "Transfer-Encoding") != nullptr) {
        return kContentLengthAndChunked;
      }
      return kInvalidContentLength;
    case HPE_INVALID_CONTENT_LENGTH:
      return kInvalidContentLength;
    case HPE_INVALID_TRANSFER_ENCODING:
      return kInvalidTransferEncoding;
    case HPE_INVALID_CHUNK_SIZE:
      return kInvalidChunkSize;
    case HPE_INVALID_HEADER_TOKEN:
    case HPE_LF_EXPECTED:
    case HPE_CR_EXPECTED:
    case HPE_UNEXPECTED_SPACE:
      return kInvalidCharacters;
    case HPE_INVALID_URL:
      return kInvalidUrl;
    default:
      return kCodecError;
  }
}

// State shared by both directions: the llhttp parser, the header block being accumulated from
// the pieces llhttp hands over, the limits, and the checks llhttp's loose build does not make.
struct ParserBase {
  ParserBase(const CodecLimits& codec_limits, llhttp_type_t type, const llhttp_settings_t* settings,
             void* self)
      : limits(codec_limits) {
    llhttp_init(&parser, type, settings);
    parser.data = self;
  }

  int Fail(int status, const char* details) {
    if (failure_status == 0) {
      failure_status = status;
      failure_details = details;
    }
    return -1;
  }

  // `map` receives the headers; nullptr while parsing trailers, which are checked and dropped.
  void StartBlock(http::HeaderMap* map) {
    block = map;
    block_bytes = 0;
    block_count = 0;
    in_field = false;
  }

  std::string& CurrentName() { return block ? block->back().first : scratch_name; }
  std::string& CurrentValue() { return block ? block->back().second : scratch_value; }

  int CountBytes(size_t n) {
    block_bytes += n;
    return block_bytes > limits.max_headers_bytes ? Fail(431, kHeadersTooLarge) : 0;
  }

  // True when the byte before `at`, skipping spaces and tabs, is LF: a value continuing on a new
  // line (obs-fold). The bytes before the current buffer are summarized by carry_lf_ws.
  bool PrecededByLfWs(const char* at) const {
    for (const char* p = at; p > buf_begin; --p) {
      if (!IsOws(p[-1])) return p[-1] == '\n';
    }
    return carry_lf_ws;
  }

  int OnField(const char* at, size_t len) {
    if (!in_field) {
      in_field = true;
      if (++block_count > limits.max_headers_count) return Fail(431, kTooManyHeaders);
      if (block) {
        block->AppendEmpty();
      } else {
        scratch_name.clear();
        scratch_value.clear();
      }
    }
    if (CountBytes(len) != 0) return -1;
    std::string& name = CurrentName();
    const size_t old_size = name.size();
    name.resize(old_size + len);
    // Copy lower-cased; a zero from the table marks a non-token byte, checked once at the end.
    char* out = name.data() + old_size;
    unsigned char all = 0xff;
    for (size_t i = 0; i < len; ++i) {
      const char lower = kTokenLower[static_cast<unsigned char>(at[i])];
      out[i] = lower;
      all &= lower != 0 ? 0xff : 0;
    }
    return all == 0 ? Fail(400, kInvalidCharacters) : 0;
  }

  int OnFieldComplete() {
    if (!in_field || CurrentName().empty()) return Fail(400, kInvalidCharacters);
    in_field = false;
    return 0;
  }

  int OnValue(const char* at, size_t len) {
    if (len == 0) return 0;
    if (PrecededByLfWs(at)) return Fail(400, kObsFold);
    if (CountBytes(len) != 0) return -1;
    CurrentValue().append(at, len);
    return 0;
  }

  // Runs llhttp over `data`; returns its error code and the bytes it used.
  llhttp_errno_t Execute(std::string_view data, size_t* used) {
    buf_begin = data.data();
    llhttp_errno_t err = HPE_OK;
    *used = data.size();
    if (!data.empty()) err = llhttp_execute(&parser, data.data(), data.size());
    if (err != HPE_OK) {
      const char* pos = llhttp_get_error_pos(&parser);
      *used = (pos != nullptr && pos >= data.data()) ? static_cast<size_t>(pos - data.data()) : 0;
    }
    carry_lf_ws = PrecededByLfWs(data.data() + *used);
    buf_begin = nullptr;
    return err;
  }

  // Fills failure_* from llhttp's error unless a callback already recorded a more precise one.
  void RecordParserError(llhttp_errno_t err) {
    Fail(400, DetailsForParserError(err, llhttp_get_error_reason(&parser)));
  }

  bool VersionSupported() const {
    return parser.http_major == 1 && (parser.http_minor == 0 || parser.http_minor == 1);
  }

  CodecLimits limits;
  llhttp_t parser;
  int failure_status = 0;
  const char* failure_details = nullptr;

  const char* buf_begin = nullptr;
  bool carry_lf_ws = false;

  http::HeaderMap* block = nullptr;
  std::string scratch_name;
  std::string scratch_value;
  size_t block_bytes = 0;
  uint32_t block_count = 0;
  bool in_field = false;

  bool in_message = false;
  bool headers_done = false;
  bool chunked = false;
  uint64_t body_remaining = 0;  // for Content-Length bodies
  bool end_stream_sent = false;
  bool paused = false;
  bool upgraded = false;
  bool errored = false;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Server side.

struct ServerCodecImpl : ParserBase {
  ServerCodecImpl(ServerCodecCallbacks& cbs, const CodecLimits& codec_limits)
      : ParserBase(codec_limits, HTTP_REQUEST, &kSettings, this), callbacks(cbs) {}

  static ServerCodecImpl& From(llhttp_t* p) { return *static_cast<ServerCodecImpl*>(p->data); }

  int OnMessageBegin() {
    in_message = true;
    headers_done = false;
    end_stream_sent = false;
    chunked = false;
    body_remaining = 0;
    has_host = false;
    has_authority = false;
    keep_alive = false;
    expects_continue = false;
    is_upgrade = false;
    request = http::NewRequestHeaders();
    request->headers.Reserve(16);
    StartBlock(&request->headers);
    return 0;
  }

  int OnUrl(const char* at, size_t len) {
    if (CountBytes(len) != 0) return -1;
    request->path.append(at, len);
    return 0;
  }

  int OnValueComplete() {
    if (block == nullptr) return 0;  // a trailer: checked, then dropped
    std::string& name = block->back().first;
    std::string& value = block->back().second;
    TrimOws(value);
    if (name.size() == 4 && name == "host") {
      if (has_host || !ValidAuthority(value)) return Fail(400, kInvalidAuthority);
      has_host = true;
      request->authority.swap(value);  // the entry's buffer goes back with it
      block->PopBack();
    } else if (name.size() == 6 && name == "expect") {
      expects_continue = http::EqualsIgnoreCase(value, "100-continue");
    }
    return 0;
  }

  // Splits the request target into :path / :authority / :scheme (RFC 9112 3.2).
  int ProcessTarget() {
    std::string& target = request->path;
    if (parser.method == HTTP_CONNECT) {
      // authority-form only; the Host header, if any, is superseded.
      if (target.empty() || target.find('/') != std::string::npos || !ValidAuthority(target)) {
        return Fail(400, kInvalidUrl);
      }
      request->authority = std::move(target);
      target.clear();
      return 0;
    }
    if (!target.empty() && target[0] == '/') return 0;
    if (target == "*" && parser.method == HTTP_OPTIONS) return 0;
    // absolute-form: scheme "://" authority [path-abempty] ["?" query]. The Host header is ignored.
    size_t i = 0;
    while (i < target.size() && ((target[i] | 0x20) >= 'a' && (target[i] | 0x20) <= 'z')) ++i;
    if (i == 0 || target.compare(i, 3, "://") != 0) return Fail(400, kInvalidUrl);
    const size_t host_begin = i + 3;
    size_t host_end = target.find_first_of("/?#", host_begin);
    if (host_end == std::string::npos) host_end = target.size();
    std::string_view host(target.data() + host_begin, host_end - host_begin);
    // Userinfo ("user@host") is deprecated and a classic way to confuse host checks: reject it.
    if (host.empty() || host.find('@') != std::string_view::npos || !ValidAuthority(host)) {
      return Fail(400, kInvalidUrl);
    }
    request->scheme.assign(target, 0, i);
    for (char& c : request->scheme) c = static_cast<char>(c | 0x20);
    request->authority.assign(host);
    std::string path;
    if (host_end == target.size() || target[host_end] != '/') path = "/";
    path.append(target, host_end, std::string::npos);
    target = std::move(path);
    return 0;
  }

  int OnHeadersComplete() {
    if (!VersionSupported()) return Fail(400, kCodecError);
    StartBlock(nullptr);  // anything after this is a trailer
    headers_done = true;
    if (ProcessTarget() != 0) return -1;
    has_authority = has_host || !request->authority.empty();
    const uint16_t flags = parser.flags;
    if ((flags & F_TRANSFER_ENCODING) && (flags & F_CONTENT_LENGTH)) {
      return Fail(400, kContentLengthAndChunked);
    }
    const bool connect = parser.method == HTTP_CONNECT;
    if (flags & F_TRANSFER_ENCODING) {
      if (parser.http_minor == 0) return Fail(400, kInvalidTransferEncoding);
      const int te_status = CheckTransferEncoding(request->headers);
      if (te_status != 0) return Fail(te_status, kInvalidTransferEncoding);
      // A CONNECT payload has no defined semantics (RFC 9110 9.3.6).
      if (connect) return Fail(501, kInvalidTransferEncoding);
    }
    if (connect && (flags & F_CONTENT_LENGTH)) {
      if (parser.content_length != 0) return Fail(400, kBodyDisallowed);
      request->headers.Remove("content-length");
    }
    is_upgrade = parser.upgrade != 0;
    if (is_upgrade && !connect) {
      const std::string* upgrade = request->headers.Get("upgrade");
      if (upgrade != nullptr && http::EqualsIgnoreCase(TrimOws(*upgrade), "h2c")) {
        // HTTP/2 cleartext upgrade is not supported: serve the request as plain HTTP/1.1.
        parser.upgrade = 0;
        is_upgrade = false;
        request->headers.Remove("upgrade");
        request->headers.Remove("http2-settings");
      }
    }
    keep_alive = llhttp_should_keep_alive(&parser) != 0;
    if (parser.http_minor == 0) expects_continue = false;  // Expect is an HTTP/1.1 mechanism
    version_minor = parser.http_minor;
    request->method = llhttp_method_name(static_cast<llhttp_method_t>(parser.method));
    request->version_minor = version_minor;

    if (is_upgrade) {
      // Everything after the head belongs to the tunnel, so no body is parsed here.
      upgraded = true;
      callbacks.OnRequestHeaders(std::move(request), false);
      return 2;
    }
    chunked = (flags & F_CHUNKED) != 0;
    body_remaining = chunked ? 0 : parser.content_length;
    const bool has_body = chunked || body_remaining > 0;
    end_stream_sent = !has_body;
    callbacks.OnRequestHeaders(std::move(request), !has_body);
    return 0;
  }

  int OnBody(const char* at, size_t len) {
    bool end = false;
    if (!chunked) {
      body_remaining -= len;
      end = body_remaining == 0;
      end_stream_sent = end;
    }
    callbacks.OnRequestData(std::string_view(at, len), end);
    return 0;
  }

  int OnMessageComplete() {
    in_message = false;
    if (upgraded) return 0;
    if (!end_stream_sent) {
      end_stream_sent = true;
      callbacks.OnRequestData(std::string_view(), true);
    }
    return HPE_PAUSED;  // one request at a time; the caller resumes
  }

  static const llhttp_settings_t kSettings;

  ServerCodecCallbacks& callbacks;
  http::RequestHeadersPtr request;
  bool has_host = false;
  bool keep_alive = false;
  bool expects_continue = false;
  bool is_upgrade = false;
  bool has_authority = false;
  int version_minor = 1;
};

namespace {

llhttp_settings_t MakeServerSettings() {
  llhttp_settings_t s;
  llhttp_settings_init(&s);
  s.on_message_begin = [](llhttp_t* p) { return ServerCodecImpl::From(p).OnMessageBegin(); };
  s.on_url = [](llhttp_t* p, const char* at, size_t len) {
    return ServerCodecImpl::From(p).OnUrl(at, len);
  };
  s.on_header_field = [](llhttp_t* p, const char* at, size_t len) {
    return ServerCodecImpl::From(p).OnField(at, len);
  };
  s.on_header_field_complete = [](llhttp_t* p) {
    return ServerCodecImpl::From(p).OnFieldComplete();
  };
  s.on_header_value = [](llhttp_t* p, const char* at, size_t len) {
    return ServerCodecImpl::From(p).OnValue(at, len);
  };
  s.on_header_value_complete = [](llhttp_t* p) {
    return ServerCodecImpl::From(p).OnValueComplete();
  };
  s.on_headers_complete = [](llhttp_t* p) { return ServerCodecImpl::From(p).OnHeadersComplete(); };
  s.on_body = [](llhttp_t* p, const char* at, size_t len) {
    return ServerCodecImpl::From(p).OnBody(at, len);
  };
  s.on_message_complete = [](llhttp_t* p) { return ServerCodecImpl::From(p).OnMessageComplete(); };
  return s;
}

}  // namespace

const llhttp_settings_t ServerCodecImpl::kSettings = MakeServerSettings();

ServerCodec::ServerCodec(ServerCodecCallbacks& callbacks, const CodecLimits& limits)
    : impl_(std::make_unique<ServerCodecImpl>(callbacks, limits)) {}

ServerCodec::~ServerCodec() = default;

DispatchStatus ServerCodec::Dispatch(std::string_view data, size_t* consumed) {
  ServerCodecImpl& s = *impl_;
  *consumed = 0;
  if (s.errored) return DispatchStatus::kError;
  if (s.upgraded) return DispatchStatus::kUpgrade;
  if (s.paused) return DispatchStatus::kPaused;
  const llhttp_errno_t err = s.Execute(data, consumed);
  switch (err) {
    case HPE_OK:
      return DispatchStatus::kOk;
    case HPE_PAUSED:
      s.paused = true;
      return DispatchStatus::kPaused;
    case HPE_PAUSED_UPGRADE:
      return DispatchStatus::kUpgrade;
    default:
      s.RecordParserError(err);
      s.errored = true;
      error_status_ = s.failure_status;
      error_details_ = s.failure_details;
      return DispatchStatus::kError;
  }
}

void ServerCodec::Resume() {
  if (!impl_->paused) return;
  impl_->paused = false;
  llhttp_resume(&impl_->parser);
}

DispatchStatus ServerCodec::OnEof() {
  ServerCodecImpl& s = *impl_;
  if (s.errored) return DispatchStatus::kError;
  if (s.upgraded || !s.in_message) return DispatchStatus::kOk;
  s.errored = true;
  s.Fail(400, kPrematureEof);
  error_status_ = s.failure_status;
  error_details_ = s.failure_details;
  return DispatchStatus::kError;
}

bool ServerCodec::request_keep_alive() const { return impl_->keep_alive; }
bool ServerCodec::request_expects_continue() const { return impl_->expects_continue; }
bool ServerCodec::request_is_upgrade() const { return impl_->is_upgrade; }
bool ServerCodec::request_has_authority() const { return impl_->has_authority; }
int ServerCodec::request_version_minor() const { return impl_->version_minor; }

// ---------------------------------------------------------------------------------------------
// Client side.

struct ClientCodecImpl : ParserBase {
  ClientCodecImpl(ClientCodecCallbacks& cbs, const CodecLimits& codec_limits)
      : ParserBase(codec_limits, HTTP_RESPONSE, &kSettings, this), callbacks(cbs) {}

  static ClientCodecImpl& From(llhttp_t* p) { return *static_cast<ClientCodecImpl*>(p->data); }

  int OnMessageBegin() {
    if (pending_head.empty()) return Fail(502, kUnexpectedResponse);
    in_message = true;
    headers_done = false;
    end_stream_sent = false;
    chunked = false;
    until_close = false;
    interim = false;
    body_remaining = 0;
    response = http::NewResponseHeaders();
    response->headers.Reserve(16);
    StartBlock(&response->headers);
    return 0;
  }

  int OnStatus(const char* at, size_t len) {
    if (CountBytes(len) != 0) return -1;
    response->reason.append(at, len);
    return 0;
  }

  int OnValueComplete() {
    if (block != nullptr) TrimOws(block->back().second);
    return 0;
  }

  int OnHeadersComplete() {
    const int status = parser.status_code;
    if (!VersionSupported() || status < 100) return Fail(502, kCodecError);
    StartBlock(nullptr);
    headers_done = true;
    response->status = status;
    TrimOws(response->reason);
    const uint16_t flags = parser.flags;
    if (status == 101) {
      upgraded = true;
      keep_alive = false;
      pending_head.pop_front();
      callbacks.OnResponseHeaders(std::move(response), false);
      return 2;  // no body; llhttp_execute returns HPE_PAUSED_UPGRADE after the head
    }
    if (status < 200) {
      interim = true;
      awaiting_final = true;
      callbacks.On1xxHeaders(std::move(response));
      return 1;  // no body; keep parsing for the final response
    }
    awaiting_final = false;
    if ((flags & F_TRANSFER_ENCODING) && (flags & F_CONTENT_LENGTH)) {
      return Fail(502, kContentLengthAndChunked);
    }
    if ((flags & F_TRANSFER_ENCODING) && CheckTransferEncoding(response->headers) != 0) {
      return Fail(502, kInvalidTransferEncoding);
    }
    const bool no_body = pending_head.front() || status == 204 || status == 304;
    chunked = !no_body && (flags & F_CHUNKED) != 0;
    body_remaining = (no_body || chunked) ? 0 : parser.content_length;
    until_close = !no_body && !chunked && !(flags & F_CONTENT_LENGTH);
    const bool connection_reusable = parser.http_minor == 1
                                         ? !(flags & F_CONNECTION_CLOSE)
                                         : (flags & F_CONNECTION_KEEP_ALIVE) != 0;
    keep_alive = connection_reusable && !until_close;
    const bool end_stream = no_body || (!chunked && !until_close && body_remaining == 0);
    end_stream_sent = end_stream;
    callbacks.OnResponseHeaders(std::move(response), end_stream);
    return no_body ? 1 : 0;
  }

  int OnBody(const char* at, size_t len) {
    bool end = false;
    if (!chunked && !until_close) {
      body_remaining -= len;
      end = body_remaining == 0;
      end_stream_sent = end;
    }
    callbacks.OnResponseData(std::string_view(at, len), end);
    return 0;
  }

  int OnMessageComplete() {
    in_message = false;
    if (upgraded) return 0;
    if (interim) {
      interim = false;
      return 0;  // the final response follows on the same parse
    }
    if (!end_stream_sent) {
      end_stream_sent = true;
      callbacks.OnResponseData(std::string_view(), true);
    }
    pending_head.pop_front();
    return HPE_PAUSED;
  }

  static const llhttp_settings_t kSettings;

  ClientCodecCallbacks& callbacks;
  http::ResponseHeadersPtr response;
  std::deque<bool> pending_head;  // one entry per ExpectResponse(): is it a HEAD request
  bool until_close = false;
  bool interim = false;
  bool awaiting_final = false;  // a 1xx arrived, the final response has not started
  bool keep_alive = false;
};

namespace {

llhttp_settings_t MakeClientSettings() {
  llhttp_settings_t s;
  llhttp_settings_init(&s);
  s.on_message_begin = [](llhttp_t* p) { return ClientCodecImpl::From(p).OnMessageBegin(); };
  s.on_status = [](llhttp_t* p, const char* at, size_t len) {
    return ClientCodecImpl::From(p).OnStatus(at, len);
  };
  s.on_header_field = [](llhttp_t* p, const char* at, size_t len) {
    return ClientCodecImpl::From(p).OnField(at, len);
  };
  s.on_header_field_complete = [](llhttp_t* p) {
    return ClientCodecImpl::From(p).OnFieldComplete();
  };
  s.on_header_value = [](llhttp_t* p, const char* at, size_t len) {
    return ClientCodecImpl::From(p).OnValue(at, len);
  };
  s.on_header_value_complete = [](llhttp_t* p) {
    return ClientCodecImpl::From(p).OnValueComplete();
  };
  s.on_headers_complete = [](llhttp_t* p) { return ClientCodecImpl::From(p).OnHeadersComplete(); };
  s.on_body = [](llhttp_t* p, const char* at, size_t len) {
    return ClientCodecImpl::From(p).OnBody(at, len);
  };
  s.on_message_complete = [](llhttp_t* p) { return ClientCodecImpl::From(p).OnMessageComplete(); };
  return s;
}

}  // namespace

const llhttp_settings_t ClientCodecImpl::kSettings = MakeClientSettings();

ClientCodec::ClientCodec(ClientCodecCallbacks& callbacks, const CodecLimits& limits)
    : impl_(std::make_unique<ClientCodecImpl>(callbacks, limits)) {}

ClientCodec::~ClientCodec() = default;

void ClientCodec::ExpectResponse(bool head_request) { impl_->pending_head.push_back(head_request); }

DispatchStatus ClientCodec::Dispatch(std::string_view data, size_t* consumed) {
  ClientCodecImpl& c = *impl_;
  *consumed = 0;
  if (c.errored) return DispatchStatus::kError;
  if (c.upgraded) return DispatchStatus::kUpgrade;
  if (c.paused) return DispatchStatus::kPaused;
  const llhttp_errno_t err = c.Execute(data, consumed);
  switch (err) {
    case HPE_OK:
      return DispatchStatus::kOk;
    case HPE_PAUSED:
      c.paused = true;
      return DispatchStatus::kPaused;
    case HPE_PAUSED_UPGRADE:
      return DispatchStatus::kUpgrade;
    default:
      c.RecordParserError(err);
      c.errored = true;
      error_details_ = c.failure_details;
      return DispatchStatus::kError;
  }
}

void ClientCodec::Resume() {
  if (!impl_->paused) return;
  impl_->paused = false;
  llhttp_resume(&impl_->parser);
}

DispatchStatus ClientCodec::OnEof() {
  ClientCodecImpl& c = *impl_;
  if (c.errored) return DispatchStatus::kError;
  if (c.upgraded) return DispatchStatus::kOk;
  if (c.in_message && c.headers_done && c.until_close) {
    // llhttp_finish runs on_message_complete, which delivers end_stream.
    const llhttp_errno_t err = llhttp_finish(&c.parser);
    if (err == HPE_OK || err == HPE_PAUSED) {
      c.paused = err == HPE_PAUSED;
      return DispatchStatus::kOk;
    }
  } else if (!c.in_message && !c.awaiting_final) {
    return DispatchStatus::kOk;
  }
  c.errored = true;
  c.Fail(502, kPrematureEof);
  error_details_ = c.failure_details;
  return DispatchStatus::kError;
}

bool ClientCodec::response_keep_alive() const { return impl_->keep_alive; }

}  // namespace pilotfish::http1
