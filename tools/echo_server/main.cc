// pf_echo_server: a small, fast HTTP/1.1 upstream (libuv + llhttp) for demos, tests and benchmarks.
//
// Self-contained on purpose: it must not share code (or bugs) with the proxy it is used to test.
// Endpoints are listed in kUsage. One loop, one thread; every connection parses with llhttp and
// answers in order. A response that is not produced inside the parse callbacks (/delay, /hang,
// a large /bytes) pauses the parser, and the rest of the input waits in pending_in_ until it
// is done, so pipelined responses keep their order.

#include <arpa/inet.h>
#include <llhttp.h>
#include <openssl/evp.h>
#include <signal.h>
#include <uv.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace pilotfish::echo_server {
namespace {

constexpr char kUsage[] =
    "usage: pf_echo_server [--port N] [--address A] [--name NAME] [--port-file PATH]\n"
    "endpoints (any method; the query string is ignored unless stated):\n"
    "  /status/N          status N, body \"N\\n\"\n"
    "  /bytes/N[?chunked=1]  N bytes 'a'+i%26 (content-length, or 16 KiB chunks)\n"
    "  /upload            {\"bytes\":N,\"sha256\":\"hex\"} of the request body\n"
    "  /echo              the request body back (content-length or chunked, as sent)\n"
    "  /delay/MS          the echo JSON after MS milliseconds\n"
    "  /hang              never answers\n"
    "  /close             200 with connection: close, then closes\n"
    "  /stats             {\"connections_total\",\"connections_active\",\"requests_total\"}\n"
    "  /fail?rate=P       500 for P percent of requests (every k-th), else 200\n"
    "  /reset             closes the connection with a TCP RST\n"
    "  WebSocket upgrade  echoes frames (ping gets pong, close gets close)\n"
    "  anything else      200 JSON {server,method,path,headers,body_bytes}\n";

constexpr size_t kReadBufferSize = 64 << 10;
constexpr size_t kHighWater = 1 << 20;   // stop producing and reading above this many queued
constexpr size_t kLowWater = 256 << 10;  // bytes; resume below this
constexpr size_t kMaxPendingInput = 1 << 20;
constexpr size_t kMaxHeaderBytes = 64 << 10;
constexpr size_t kChunkSize = 16 << 10;  // /bytes?chunked=1
constexpr size_t kPieceSize = 64 << 10;  // /bytes with content-length, per write
constexpr uint64_t kMaxWebSocketFrame = 16 << 20;
constexpr uint64_t kLingerMs = 2000;  // read-and-discard time after our FIN
constexpr char kWebSocketGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// The /bytes payload: byte i is 'a' + i % 26, so a piece at offset o starts at Pattern()[o % 26].
const char* Pattern() {
  static const std::string pattern = [] {
    std::string p(kPieceSize + 26, '\0');
    for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<char>('a' + i % 26);
    return p;
  }();
  return pattern.data();
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True if the comma-separated header value `list` holds `token` (case-insensitive).
bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (EqualsIgnoreCase(Trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool ParseUint(std::string_view s, uint64_t* value) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *value);
  return ec == std::errc() && end == s.data() + s.size();
}

// The value of `key` in the query string of `target`, or empty.
std::string_view QueryParam(std::string_view target, std::string_view key) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

void AppendHex(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, 16);
  out.append(buf, end);
}

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  AppendJsonEscaped(out, s);
  out += '"';
}

const char* ReasonPhrase(int status) {
  static constexpr std::pair<int, const char*> kReasons[] = {
      {101, "Switching Protocols"},
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {204, "No Content"},
      {206, "Partial Content"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {304, "Not Modified"},
      {307, "Temporary Redirect"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {413, "Content Too Large"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"}};
  for (const auto& [code, reason] : kReasons) {
    if (code == status) return reason;
  }
  return "Unknown";
}

struct Options {
  std::string address = "127.0.0.1";
  int port = 0;
  std::string name = "echo";
  std::string port_file;
};

struct Stats {
  uint64_t connections_total = 0;
  uint64_t connections_active = 0;
  uint64_t requests_total = 0;
};

class Connection;

// Owns the listener, the signal handlers, the counters and the set of open connections.
class Server {
 public:
  Server(uv_loop_t* loop, Options options);
  int Listen();
  void Stop();

  uv_loop_t* loop() { return loop_; }
  Stats& stats() { return stats_; }
  const std::string& name_json() const { return name_json_; }
  const std::string& header_line() const { return header_line_; }
  char* read_buffer() { return read_buffer_; }
  void Add(Connection* c) { connections_.insert(c); }
  void Remove(Connection* c) { connections_.erase(c); }
  // Deterministic /fail: request n fails when floor(n*P/100) steps up, i.e. P in every 100.
  bool NextFails(uint64_t percent) {
    ++fail_counter_;
    return fail_counter_ * percent / 100 != (fail_counter_ - 1) * percent / 100;
  }

 private:
  static void OnConnection(uv_stream_t* listener, int status);
  static void OnSignal(uv_signal_t* handle, int signum);

  uv_loop_t* loop_;
  Options options_;
  uv_tcp_t listener_;
  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  Stats stats_;
  uint64_t fail_counter_ = 0;
  std::string name_json_;
  std::string header_line_;
  std::unordered_set<Connection*> connections_;
  bool stopped_ = false;
  char read_buffer_[kReadBufferSize];  // shared: each read is consumed before the next one
};

struct WriteReq {
  uv_write_t req;
  std::string data;
  Connection* conn;
};

// One accepted client connection: HTTP/1.1 parsing, the endpoints, and WebSocket echo.
class Connection {
 public:
  explicit Connection(Server& server);
  ~Connection();
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  void Start();
  void Close(bool reset = false);

 private:
  enum class Route {
    kJson,
    kStatus,
    kBytes,
    kUpload,
    kEcho,
    kDelay,
    kHang,
    kClose,
    kStats,
    kFail,
    kReset,
    kWebSocket,
    kBadRequest
  };
  enum class Framing { kNone, kContentLength, kChunked, kUntilClose };
  struct Header {
    std::string name;
    std::string value;
  };

  static Connection* Self(llhttp_t* p) { return static_cast<Connection*>(p->data); }
  static const llhttp_settings_t* Settings();
  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void OnWriteCb(uv_write_t* req, int status);
  static void OnShutdownCb(uv_shutdown_t* req, int status);
  static void OnTimerCb(uv_timer_t* t);
  static void OnClosedCb(uv_handle_t* h);

  // llhttp callbacks.
  int OnMessageBegin();
  int OnUrl(const char* at, size_t len);
  int OnHeaderField(const char* at, size_t len);
  int OnHeaderFieldComplete();
  int OnHeaderValue(const char* at, size_t len);
  int OnHeadersComplete();
  int OnBody(const char* at, size_t len);
  int OnMessageComplete();

  void OnRead(ssize_t nread, const uv_buf_t* buf);
  void OnEof();
  void OnWriteDone(int status);
  void OnTimer();
  void Execute(const char* data, size_t len);
  void ResponseDone();
  void UpdateReading();
  void Flush();
  void GracefulClose();

  Route RouteFor(std::string_view path);
  void AppendHead(int status, std::string_view content_type, Framing framing, uint64_t length,
                  std::string_view extra_headers = {});
  void SendFull(int status, std::string_view content_type, std::string_view body);
  void SendEchoJson();
  void StartBytes();
  void PumpBytes();
  void ProcessWebSocket();
  void AppendWebSocketFrame(uint8_t first_byte, const char* payload, uint64_t len);

  Server& server_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_shutdown_t shutdown_req_;
  llhttp_t parser_;
  int open_handles_ = 0;
  bool closing_ = false;
  bool shutting_down_ = false;
  bool eof_ = false;
  bool reading_ = false;
  bool async_ = false;      // the current response is finished outside the parse callbacks
  bool websocket_ = false;  // past the 101: ws_in_ holds frame bytes

  // The request being parsed (or answered, while async_).
  std::string url_;
  std::vector<Header> headers_;  // reused; the first num_headers_ are this request's
  size_t num_headers_ = 0;
  bool in_header_field_ = false;
  size_t header_bytes_ = 0;
  uint64_t body_bytes_ = 0;
  Route route_ = Route::kJson;
  uint64_t route_arg_ = 0;  // N of /status/N, /bytes/N, /delay/MS
  bool keep_alive_ = true;
  bool http10_ = false;
  bool head_ = false;
  bool response_started_ = false;
  Framing framing_ = Framing::kNone;  // of a streamed response (/echo, /bytes)
  uint64_t bytes_left_ = 0;
  uint64_t bytes_offset_ = 0;
  bool streaming_ = false;
  EVP_MD_CTX* sha_ = nullptr;
  std::string ws_accept_;

  std::string out_;         // response bytes not yet handed to libuv
  std::string pending_in_;  // input received while the parser is paused
  std::string ws_in_;
  std::string scratch_;
};

// ---------------------------------------------------------------------------------------------
// Connection

Connection::Connection(Server& server) : server_(server) {
  uv_tcp_init(server_.loop(), &tcp_);
  uv_timer_init(server_.loop(), &timer_);
  tcp_.data = this;
  timer_.data = this;
  shutdown_req_.data = this;
  open_handles_ = 2;
  llhttp_init(&parser_, HTTP_REQUEST, Settings());
  parser_.data = this;
  server_.Add(this);
  ++server_.stats().connections_total;
  ++server_.stats().connections_active;
}

Connection::~Connection() {
  if (sha_ != nullptr) EVP_MD_CTX_free(sha_);
  server_.Remove(this);
  --server_.stats().connections_active;
}

const llhttp_settings_t* Connection::Settings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = [](llhttp_t* p) { return Self(p)->OnMessageBegin(); };
    s.on_url = [](llhttp_t* p, const char* at, size_t n) { return Self(p)->OnUrl(at, n); };
    s.on_header_field = [](llhttp_t* p, const char* at, size_t n) {
      return Self(p)->OnHeaderField(at, n);
    };
    s.on_header_field_complete = [](llhttp_t* p) { return Self(p)->OnHeaderFieldComplete(); };
    s.on_header_value = [](llhttp_t* p, const char* at, size_t n) {
      return Self(p)->OnHeaderValue(at, n);
    };
    s.on_headers_complete = [](llhttp_t* p) { return Self(p)->OnHeadersComplete(); };
    s.on_body = [](llhttp_t* p, const char* at, size_t n) { return Self(p)->OnBody(at, n); };
    s.on_message_complete = [](llhttp_t* p) { return Self(p)->OnMessageComplete(); };
    return s;
  }();
  return &settings;
}

void Connection::Start() {
  uv_tcp_nodelay(&tcp_, 1);
  UpdateReading();
}

void Connection::Close(bool reset) {
  if (closing_) return;
  closing_ = true;
  // close_reset sets SO_LINGER 0 so the kernel sends RST; it refuses after a shutdown.
  if (!reset || shutting_down_ || uv_tcp_close_reset(&tcp_, OnClosedCb) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), OnClosedCb);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), OnClosedCb);
}

void Connection::OnClosedCb(uv_handle_t* h) {
  auto* c = static_cast<Connection*>(h->data);
  if (--c->open_handles_ == 0) delete c;
}

void Connection::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(h->data);
  *buf = uv_buf_init(c->server_.read_buffer(), kReadBufferSize);
}

void Connection::OnReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  static_cast<Connection*>(s->data)->OnRead(nread, buf);
}

void Connection::OnRead(ssize_t nread, const uv_buf_t* buf) {
  if (closing_ || nread == 0) return;
  if (nread < 0) {
    if (nread == UV_EOF) {
      OnEof();
    } else {
      Close();
    }
    return;
  }
  if (shutting_down_) return;  // lingering after our FIN: discard
  if (websocket_) {
    ws_in_.append(buf->base, nread);
    ProcessWebSocket();
  } else if (async_) {
    pending_in_.append(buf->base, nread);
  } else {
    Execute(buf->base, nread);
  }
  Flush();
  UpdateReading();
}

void Connection::OnEof() {
  eof_ = true;
  reading_ = false;  // libuv stops reading by itself at EOF
  if (shutting_down_ || (async_ && route_ == Route::kHang)) {
    Close();
  } else if (!async_) {
    GracefulClose();
  }  // else: finish the response in progress; ResponseDone() closes
}

// Feeds bytes to llhttp until they are used up, the parser pauses, or the connection ends.
void Connection::Execute(const char* data, size_t len) {
  while (len > 0 && !closing_ && !shutting_down_) {
    llhttp_errno_t err = llhttp_execute(&parser_, data, len);
    if (err == HPE_OK || closing_ || shutting_down_) return;
    const char* pos = llhttp_get_error_pos(&parser_);
    if (pos == nullptr) pos = data + len;
    size_t rest = static_cast<size_t>(data + len - pos);
    if (err == HPE_PAUSED) {  // async_: keep the rest until ResponseDone()
      pending_in_.assign(pos, rest);
      return;
    }
    if (err == HPE_PAUSED_UPGRADE) {
      if (websocket_) {
        ws_in_.append(pos, rest);
        ProcessWebSocket();
        return;
      }
      llhttp_resume_after_upgrade(&parser_);  // an Upgrade we ignore: keep speaking HTTP/1.1
      data = pos;
      len = rest;
      continue;
    }
    // A protocol error: answer 400 unless a response is already under way, then close.
    if (response_started_) {
      Close();
    } else {
      keep_alive_ = false;
      head_ = false;
      int status = header_bytes_ > kMaxHeaderBytes ? 431 : 400;
      SendFull(status, "text/plain", status == 431 ? "headers too large\n" : "bad request\n");
      GracefulClose();
    }
    return;
  }
}

// Called when an async response has been fully queued: continue with pipelined input.
void Connection::ResponseDone() {
  async_ = false;
  streaming_ = false;
  Flush();
  if (closing_) return;
  if (!keep_alive_) {
    GracefulClose();
    return;
  }
  llhttp_resume(&parser_);
  std::string input = std::move(pending_in_);
  pending_in_.clear();
  Execute(input.data(), input.size());
  Flush();
  if (eof_ && !async_) GracefulClose();
  UpdateReading();
}

// Reads while there is room: stops when too much output is queued (the client is slow) or too
// much input is parked behind a paused parser, with hysteresis.
void Connection::UpdateReading() {
  if (closing_ || eof_) return;
  bool want = true;
  if (!shutting_down_) {
    size_t queued = tcp_.write_queue_size;
    want = pending_in_.size() < kMaxPendingInput &&
           (reading_ ? queued <= kHighWater : queued < kLowWater);
  }
  if (want == reading_) return;
  if (want) {
    reading_ = uv_read_start(stream(), OnAlloc, OnReadCb) == 0;
  } else {
    uv_read_stop(stream());
    reading_ = false;
  }
}

// Hands out_ to the kernel: try_write first (no allocation), queue what is left.
void Connection::Flush() {
  if (out_.empty() || closing_) return;
  size_t written = 0;
  if (tcp_.write_queue_size == 0) {
    uv_buf_t buf = uv_buf_init(out_.data(), out_.size());
    int n = uv_try_write(stream(), &buf, 1);
    if (n < 0 && n != UV_EAGAIN) {
      Close();
      return;
    }
    written = n > 0 ? static_cast<size_t>(n) : 0;
  }
  if (written == out_.size()) {
    out_.clear();
    return;
  }
  auto* w = new WriteReq;
  w->conn = this;
  w->req.data = w;
  if (written == 0) {
    w->data.swap(out_);
  } else {
    w->data.assign(out_, written);
  }
  out_.clear();
  uv_buf_t buf = uv_buf_init(w->data.data(), w->data.size());
  if (uv_write(&w->req, stream(), &buf, 1, OnWriteCb) != 0) {
    delete w;
    Close();
  }
}

void Connection::OnWriteCb(uv_write_t* req, int status) {
  auto* w = static_cast<WriteReq*>(req->data);
  Connection* c = w->conn;  // alive: libuv runs write callbacks before the close callback
  delete w;
  c->OnWriteDone(status);
}

void Connection::OnWriteDone(int status) {
  if (closing_) return;
  if (status < 0) {
    Close();
    return;
  }
  if (streaming_ && tcp_.write_queue_size < kLowWater) {
    PumpBytes();
    if (!streaming_ && !closing_) ResponseDone();
  }
  UpdateReading();
}

// Sends FIN once queued writes are out, then reads and discards until the client closes (so
// unread input does not turn our close into an RST that destroys the response), or a timeout.
void Connection::GracefulClose() {
  if (closing_ || shutting_down_) return;
  Flush();
  if (closing_) return;
  shutting_down_ = true;
  uv_timer_stop(&timer_);
  if (uv_shutdown(&shutdown_req_, stream(), OnShutdownCb) != 0) {
    Close();
    return;
  }
  UpdateReading();
}

void Connection::OnShutdownCb(uv_shutdown_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  if (c->closing_) return;
  if (status < 0 || c->eof_) {
    c->Close();
  } else {
    uv_timer_start(&c->timer_, OnTimerCb, kLingerMs, 0);
  }
}

void Connection::OnTimerCb(uv_timer_t* t) { static_cast<Connection*>(t->data)->OnTimer(); }

void Connection::OnTimer() {
  if (closing_) return;
  if (shutting_down_) {
    Close();
  } else if (async_ && route_ == Route::kDelay) {
    SendEchoJson();
    ResponseDone();
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP request parsing

int Connection::OnMessageBegin() {
  url_.clear();
  num_headers_ = 0;
  in_header_field_ = false;
  header_bytes_ = 0;
  body_bytes_ = 0;
  route_ = Route::kJson;
  response_started_ = false;
  framing_ = Framing::kNone;
  return 0;
}

int Connection::OnUrl(const char* at, size_t len) {
  header_bytes_ += len;
  if (header_bytes_ > kMaxHeaderBytes) return -1;
  url_.append(at, len);
  return 0;
}

int Connection::OnHeaderField(const char* at, size_t len) {
  header_bytes_ += len;
  if (header_bytes_ > kMaxHeaderBytes) return -1;
  if (!in_header_field_) {
    in_header_field_ = true;
    if (num_headers_ == headers_.size()) headers_.emplace_back();
    Header& h = headers_[num_headers_++];
    h.name.clear();
    h.value.clear();
  }
  headers_[num_headers_ - 1].name.append(at, len);
  return 0;
}

int Connection::OnHeaderFieldComplete() {
  in_header_field_ = false;
  if (num_headers_ == 0) return 0;
  for (char& c : headers_[num_headers_ - 1].name) c = Lower(c);
  return 0;
}

int Connection::OnHeaderValue(const char* at, size_t len) {
  header_bytes_ += len;
  if (header_bytes_ > kMaxHeaderBytes || num_headers_ == 0) return -1;
  headers_[num_headers_ - 1].value.append(at, len);
  return 0;
}

Connection::Route Connection::RouteFor(std::string_view path) {
  auto numeric = [&](std::string_view prefix) {
    return path.substr(0, prefix.size()) == prefix &&
           ParseUint(path.substr(prefix.size()), &route_arg_);
  };
  if (path.starts_with("/status/")) {
    return numeric("/status/") && route_arg_ >= 200 && route_arg_ <= 599 ? Route::kStatus
                                                                         : Route::kBadRequest;
  }
  if (path.starts_with("/bytes/")) return numeric("/bytes/") ? Route::kBytes : Route::kBadRequest;
  if (path.starts_with("/delay/")) return numeric("/delay/") ? Route::kDelay : Route::kBadRequest;
  if (path == "/upload") return Route::kUpload;
  if (path == "/echo") return Route::kEcho;
  if (path == "/hang") return Route::kHang;
  if (path == "/close") return Route::kClose;
  if (path == "/stats") return Route::kStats;
  if (path == "/fail") return Route::kFail;
  if (path == "/reset") return Route::kReset;
  return Route::kJson;
}

int Connection::OnHeadersComplete() {
  ++server_.stats().requests_total;
  keep_alive_ = llhttp_should_keep_alive(&parser_) != 0;
  http10_ = parser_.http_major == 1 && parser_.http_minor == 0;
  head_ = parser_.method == HTTP_HEAD;
  std::string_view expect, upgrade, connection, ws_key, content_type;
  for (size_t i = 0; i < num_headers_; ++i) {
    const Header& h = headers_[i];
    if (h.name == "expect")
      expect = h.value;
    else if (h.name == "upgrade")
      upgrade = h.value;
    else if (h.name == "connection")
      connection = h.value;
    else if (h.name == "sec-websocket-key")
      ws_key = Trim(h.value);
    else if (h.name == "content-type")
      content_type = h.value;
  }
  bool has_body = (parser_.flags & F_CHUNKED) != 0 || parser_.content_length > 0;
  if (!http10_ && has_body && EqualsIgnoreCase(Trim(expect), "100-continue")) {
    out_ += "HTTP/1.1 100 Continue\r\n\r\n";
  }

  if (parser_.upgrade && parser_.method != HTTP_CONNECT && HasToken(upgrade, "websocket") &&
      HasToken(connection, "upgrade") && !ws_key.empty()) {
    route_ = Route::kWebSocket;
    scratch_.assign(ws_key);
    scratch_ += kWebSocketGuid;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    EVP_Digest(scratch_.data(), scratch_.size(), digest, &digest_len, EVP_sha1(), nullptr);
    ws_accept_.resize(4 * ((digest_len + 2) / 3) + 1);
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(ws_accept_.data()), digest,
                            static_cast<int>(digest_len));
    ws_accept_.resize(n);
    return 0;
  }

  std::string_view target = url_;
  route_ = RouteFor(target.substr(0, target.find('?')));
  if (route_ == Route::kUpload) {
    if (sha_ == nullptr) sha_ = EVP_MD_CTX_new();
    EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr);
  } else if (route_ == Route::kEcho) {
    // Mirror the request's framing; an HTTP/1.0 client cannot take chunked, so it gets EOF.
    uint64_t length = 0;
    Framing framing = Framing::kContentLength;
    if (parser_.flags & F_CHUNKED) {
      framing = http10_ ? Framing::kUntilClose : Framing::kChunked;
    } else if (parser_.flags & F_CONTENT_LENGTH) {
      length = parser_.content_length;
    }
    framing_ = framing;
    AppendHead(200, content_type.empty() ? "application/octet-stream" : content_type, framing,
               length);
  }
  return 0;
}

int Connection::OnBody(const char* at, size_t len) {
  body_bytes_ += len;
  if (route_ == Route::kUpload) {
    EVP_DigestUpdate(sha_, at, len);
  } else if (route_ == Route::kEcho && !head_) {
    if (framing_ == Framing::kChunked) {
      AppendHex(out_, len);
      out_ += "\r\n";
      out_.append(at, len);
      out_ += "\r\n";
    } else {
      out_.append(at, len);
    }
    if (out_.size() >= kPieceSize) Flush();
  }
  return 0;
}

int Connection::OnMessageComplete() {
  switch (route_) {
    case Route::kJson:
      SendEchoJson();
      break;
    case Route::kStatus: {
      scratch_.clear();
      AppendUint(scratch_, route_arg_);
      scratch_ += '\n';
      SendFull(static_cast<int>(route_arg_), "text/plain", scratch_);
      break;
    }
    case Route::kBytes:
      StartBytes();
      break;
    case Route::kUpload: {
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int digest_len = 0;
      EVP_DigestFinal_ex(sha_, digest, &digest_len);
      static constexpr char kHex[] = "0123456789abcdef";
      scratch_.assign("{\"bytes\":");
      AppendUint(scratch_, body_bytes_);
      scratch_ += ",\"sha256\":\"";
      for (unsigned int i = 0; i < digest_len; ++i) {
        scratch_ += kHex[digest[i] >> 4];
        scratch_ += kHex[digest[i] & 15];
      }
      scratch_ += "\"}\n";
      SendFull(200, "application/json", scratch_);
      break;
    }
    case Route::kEcho:
      if (framing_ == Framing::kChunked && !head_) out_ += "0\r\n\r\n";
      break;
    case Route::kDelay:
      async_ = true;
      uv_timer_start(&timer_, OnTimerCb, route_arg_, 0);
      break;
    case Route::kHang:
      async_ = true;
      break;
    case Route::kClose:
      keep_alive_ = false;
      SendFull(200, "text/plain", "closing\n");
      break;
    case Route::kStats: {
      const Stats& s = server_.stats();
      scratch_.assign("{\"connections_total\":");
      AppendUint(scratch_, s.connections_total);
      scratch_ += ",\"connections_active\":";
      AppendUint(scratch_, s.connections_active);
      scratch_ += ",\"requests_total\":";
      AppendUint(scratch_, s.requests_total);
      scratch_ += "}\n";
      SendFull(200, "application/json", scratch_);
      break;
    }
    case Route::kFail: {
      uint64_t percent = 50;
      std::string_view rate = QueryParam(url_, "rate");
      if (!rate.empty() && (!ParseUint(rate, &percent) || percent > 100)) {
        SendFull(400, "text/plain", "rate must be an integer percentage 0..100\n");
        break;
      }
      if (server_.NextFails(percent)) {
        SendFull(500, "text/plain", "fail\n");
      } else {
        SendFull(200, "text/plain", "ok\n");
      }
      break;
    }
    case Route::kReset:
      Flush();
      Close(/*reset=*/true);
      break;
    case Route::kWebSocket:
      out_ +=
          "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
          "sec-websocket-accept: ";
      out_ += ws_accept_;
      out_ += "\r\n";
      out_ += server_.header_line();
      out_ += "\r\n";
      websocket_ = true;
      return 0;  // llhttp now returns HPE_PAUSED_UPGRADE; Execute() switches to frames
    case Route::kBadRequest:
      SendFull(400, "text/plain", "bad request\n");
      break;
  }
  if (closing_ || async_) return HPE_PAUSED;
  if (!keep_alive_) {
    GracefulClose();
    return HPE_PAUSED;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Responses

void Connection::AppendHead(int status, std::string_view content_type, Framing framing,
                            uint64_t length, std::string_view extra_headers) {
  response_started_ = true;
  out_ += "HTTP/1.1 ";
  AppendUint(out_, status);
  out_ += ' ';
  out_ += ReasonPhrase(status);
  out_ += "\r\n";
  if (!content_type.empty()) {
    out_ += "content-type: ";
    out_ += content_type;
    out_ += "\r\n";
  }
  switch (framing) {
    case Framing::kNone:
      break;
    case Framing::kContentLength:
      out_ += "content-length: ";
      AppendUint(out_, length);
      out_ += "\r\n";
      break;
    case Framing::kChunked:
      out_ += "transfer-encoding: chunked\r\n";
      break;
    case Framing::kUntilClose:
      keep_alive_ = false;
      break;
  }
  out_ += server_.header_line();
  out_ += extra_headers;
  if (!keep_alive_) {
    out_ += "connection: close\r\n";
  } else if (http10_) {
    out_ += "connection: keep-alive\r\n";
  }
  out_ += "\r\n";
}

void Connection::SendFull(int status, std::string_view content_type, std::string_view body) {
  bool no_body = status == 204 || status == 304;
  AppendHead(status, no_body ? "" : content_type,
             no_body ? Framing::kNone : Framing::kContentLength, body.size());
  if (!head_ && !no_body) out_ += body;
}

void Connection::SendEchoJson() {
  std::string& b = scratch_;
  b.assign("{\"server\":");
  b += server_.name_json();
  b += ",\"method\":";
  AppendJsonString(b, llhttp_method_name(static_cast<llhttp_method_t>(parser_.method)));
  b += ",\"path\":";
  AppendJsonString(b, url_);
  b += ",\"headers\":{";
  bool first = true;
  for (size_t i = 0; i < num_headers_; ++i) {
    const std::string& name = headers_[i].name;
    bool seen = false;
    for (size_t j = 0; j < i && !seen; ++j) seen = headers_[j].name == name;
    if (seen) continue;  // repeated names are joined with ", " at their first occurrence
    if (!first) b += ',';
    first = false;
    AppendJsonString(b, name);
    b += ":\"";
    AppendJsonEscaped(b, headers_[i].value);
    for (size_t k = i + 1; k < num_headers_; ++k) {
      if (headers_[k].name != name) continue;
      b += ", ";
      AppendJsonEscaped(b, headers_[k].value);
    }
    b += '"';
  }
  b += "},\"body_bytes\":";
  AppendUint(b, body_bytes_);
  b += "}\n";
  SendFull(200, "application/json", b);
}

void Connection::StartBytes() {
  bool chunked = QueryParam(url_, "chunked") == "1";
  framing_ =
      !chunked ? Framing::kContentLength : (http10_ ? Framing::kUntilClose : Framing::kChunked);
  AppendHead(200, "application/octet-stream", framing_, route_arg_);
  if (head_) return;
  bytes_left_ = route_arg_;
  bytes_offset_ = 0;
  streaming_ = true;
  PumpBytes();
  if (streaming_ && !closing_) async_ = true;
}

// Produces /bytes output until done or the socket's queue passes the high-water mark; the
// write callback calls it again below the low-water mark.
void Connection::PumpBytes() {
  while (bytes_left_ > 0 && !closing_ && tcp_.write_queue_size <= kHighWater) {
    size_t piece = framing_ == Framing::kChunked ? kChunkSize : kPieceSize;
    if (bytes_left_ < piece) piece = static_cast<size_t>(bytes_left_);
    if (framing_ == Framing::kChunked) {
      AppendHex(out_, piece);
      out_ += "\r\n";
    }
    out_.append(Pattern() + bytes_offset_ % 26, piece);
    if (framing_ == Framing::kChunked) out_ += "\r\n";
    bytes_left_ -= piece;
    bytes_offset_ += piece;
    if (bytes_left_ > 0) Flush();
  }
  if (bytes_left_ == 0 && !closing_) {
    if (framing_ == Framing::kChunked) out_ += "0\r\n\r\n";
    Flush();
    streaming_ = false;
  }
}

// ---------------------------------------------------------------------------------------------
// WebSocket (RFC 6455) echo

void Connection::ProcessWebSocket() {
  size_t off = 0;
  while (!closing_ && !shutting_down_) {
    size_t avail = ws_in_.size() - off;
    if (avail < 2) break;
    const auto* p = reinterpret_cast<const uint8_t*>(ws_in_.data() + off);
    uint64_t len = p[1] & 0x7f;
    size_t header = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
    }
    if (len > kMaxWebSocketFrame) {
      AppendWebSocketFrame(0x88, "\x03\xf1", 2);  // 1009: message too big
      GracefulClose();
      break;
    }
    bool masked = (p[1] & 0x80) != 0;
    if (masked) header += 4;
    if (avail < header + len) break;
    char* payload = ws_in_.data() + off + header;
    if (masked) {
      const uint8_t* mask = p + header - 4;
      for (uint64_t i = 0; i < len; ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
    }
    off += header + len;
    uint8_t fin = p[0] & 0x80;
    uint8_t opcode = p[0] & 0x0f;
    AppendWebSocketFrame(fin | (opcode == 0x9 ? 0xA : opcode), payload, len);
    if (opcode == 0x8) {
      GracefulClose();
      break;
    }
  }
  ws_in_.erase(0, off);
}

void Connection::AppendWebSocketFrame(uint8_t first_byte, const char* payload, uint64_t len) {
  out_ += static_cast<char>(first_byte);
  if (len < 126) {
    out_ += static_cast<char>(len);
  } else if (len <= 0xffff) {
    out_ += static_cast<char>(126);
    out_ += static_cast<char>(len >> 8);
    out_ += static_cast<char>(len & 0xff);
  } else {
    out_ += static_cast<char>(127);
    for (int i = 7; i >= 0; --i) out_ += static_cast<char>((len >> (8 * i)) & 0xff);
  }
  out_.append(payload, len);
}

// ---------------------------------------------------------------------------------------------
// Server

Server::Server(uv_loop_t* loop, Options options) : loop_(loop), options_(std::move(options)) {
  AppendJsonString(name_json_, options_.name);
  header_line_ = "x-echo-server: " + options_.name + "\r\n";
}

int Server::Listen() {
  sockaddr_storage addr{};
  bool v6 = options_.address.find(':') != std::string::npos;
  int rc = v6 ? uv_ip6_addr(options_.address.c_str(), options_.port,
                            reinterpret_cast<sockaddr_in6*>(&addr))
              : uv_ip4_addr(options_.address.c_str(), options_.port,
                            reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) return rc;
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  if ((rc = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&addr), 0)) != 0) return rc;
  if ((rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 4096, OnConnection)) != 0) {
    return rc;
  }
  sockaddr_storage bound{};
  int bound_len = sizeof(bound);
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  int port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                      : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  uv_signal_init(loop_, &sigterm_);
  uv_signal_init(loop_, &sigint_);
  sigterm_.data = this;
  sigint_.data = this;
  uv_signal_start(&sigterm_, OnSignal, SIGTERM);
  uv_signal_start(&sigint_, OnSignal, SIGINT);

  if (!options_.port_file.empty()) {
    // Write then rename, so a test polling for the file never reads half of it.
    std::string tmp = options_.port_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr || std::fprintf(f, "%d\n", port) < 0 || std::fclose(f) != 0 ||
        std::rename(tmp.c_str(), options_.port_file.c_str()) != 0) {
      std::fprintf(stderr, "pf_echo_server: cannot write %s\n", options_.port_file.c_str());
      return UV_EIO;
    }
  }
  std::printf(v6 ? "listening on [%s]:%d\n" : "listening on %s:%d\n", options_.address.c_str(),
              port);
  std::fflush(stdout);
  return 0;
}

void Server::OnConnection(uv_stream_t* listener, int status) {
  if (status < 0) return;
  auto* self = static_cast<Server*>(listener->data);
  auto* c = new Connection(*self);
  if (uv_accept(listener, c->stream()) != 0) {
    c->Close();
    return;
  }
  c->Start();
}

void Server::OnSignal(uv_signal_t* handle, int) { static_cast<Server*>(handle->data)->Stop(); }

// Closes everything so uv_run returns and the process exits 0.
void Server::Stop() {
  if (stopped_) return;
  stopped_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  std::vector<Connection*> open(connections_.begin(), connections_.end());
  for (Connection* c : open) c->Close();
}

bool ParseArgs(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    std::string_view value;
    size_t eq = arg.find('=');
    if (eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "pf_echo_server: %s needs a value\n", argv[i]);
      return false;
    }
    if (arg == "--port") {
      uint64_t port = 0;
      if (!ParseUint(value, &port) || port > 65535) {
        std::fprintf(stderr, "pf_echo_server: bad --port %.*s\n", static_cast<int>(value.size()),
                     value.data());
        return false;
      }
      options->port = static_cast<int>(port);
    } else if (arg == "--address") {
      options->address = value;
    } else if (arg == "--name") {
      options->name = value;
    } else if (arg == "--port-file") {
      options->port_file = value;
    } else {
      std::fprintf(stderr, "pf_echo_server: unknown flag %.*s\n%s", static_cast<int>(arg.size()),
                   arg.data(), kUsage);
      return false;
    }
  }
  return true;
}

}  // namespace
}  // namespace pilotfish::echo_server

int main(int argc, char** argv) {
  using namespace pilotfish::echo_server;
  signal(SIGPIPE, SIG_IGN);  // a peer that went away shows up as EPIPE from write, not a signal
  Options options;
  if (!ParseArgs(argc, argv, &options)) return 2;
  uv_loop_t* loop = uv_default_loop();
  Pattern();
  auto* server = new Server(loop, options);  // heap: it holds a 64 KiB read buffer
  if (int rc = server->Listen(); rc != 0) {
    std::fprintf(stderr, "pf_echo_server: cannot listen on %s:%d: %s\n", options.address.c_str(),
                 options.port, uv_strerror(rc));
    return 1;
  }
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  delete server;
  return 0;
}
