// Connection: libuv TCP stream with a shared per-thread read buffer and write watermarks.
#include "proxy/net/connection.h"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <memory>

namespace pilotfish::net {
namespace {
constexpr size_t kReadBufferSize = 64 * 1024;
// One read buffer per thread: data is handed to callbacks synchronously and copied if kept.
// Allocated on the thread's first read, not as a thread_local array: glibc zeroes a thread's
// static TLS when it starts, so an array would cost 64 KiB of RSS in every thread (gRPC's,
// libuv's pool, the access log writer), and allocated pages are only touched as reads fill them.
char* ReadBuffer() {
  thread_local std::unique_ptr<char[]> buffer(new char[kReadBufferSize]);
  return buffer.get();
}
std::atomic<uint64_t> g_next_id{1};
}  // namespace

const char* CloseReasonName(CloseReason r) {
  switch (r) {
    case CloseReason::kLocal:
      return "local";
    case CloseReason::kRemoteClose:
      return "remote";
    case CloseReason::kConnectFail:
      return "connect_fail";
    case CloseReason::kConnectTimeout:
      return "connect_timeout";
    case CloseReason::kError:
      return "error";
  }
  return "unknown";
}

struct Connection::WriteReq {
  uv_write_t req;
  std::string data;
};

Connection::Connection(event::Dispatcher& dispatcher)
    : dispatcher_(dispatcher), id_(g_next_id.fetch_add(1, std::memory_order_relaxed)) {
  tcp_ = new uv_tcp_t;
  uv_tcp_init(dispatcher.loop(), tcp_);
  tcp_->data = this;
}

Connection::~Connection() {
  dispatcher_.CancelFlush(this);
  callbacks_ = nullptr;
  if (tcp_ != nullptr) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
    event::Dispatcher::CloseAndDelete(tcp_);
    tcp_ = nullptr;
  }
}

std::unique_ptr<Connection> Connection::Accept(event::Dispatcher& dispatcher, uv_stream_t* server) {
  std::unique_ptr<Connection> c(new Connection(dispatcher));
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(c->tcp_)) != 0) return nullptr;
  uv_tcp_nodelay(c->tcp_, 1);
  c->InitAddresses();
  return c;
}

std::unique_ptr<Connection> Connection::Connect(event::Dispatcher& dispatcher, const Address& to,
                                                std::chrono::milliseconds timeout,
                                                const Address* bind_source) {
  std::unique_ptr<Connection> c(new Connection(dispatcher));
  c->state_ = State::kConnecting;
  c->remote_ = to;
  if (bind_source != nullptr) uv_tcp_bind(c->tcp_, bind_source->sockaddr_ptr(), 0);
  auto* req = new uv_connect_t;
  int rc = uv_tcp_connect(req, c->tcp_, to.sockaddr_ptr(), &Connection::OnConnect);
  if (rc != 0) {
    delete req;
    // Report asynchronously so callers always see the same callback order.
    Connection* raw = c.get();
    c->connect_timer_ = std::make_unique<event::Timer>(
        dispatcher, [raw] { raw->CloseSocket(CloseReason::kConnectFail); });
    c->connect_timer_->Enable(std::chrono::milliseconds(0));
    return c;
  }
  Connection* raw = c.get();
  c->connect_timer_ = std::make_unique<event::Timer>(dispatcher, [raw] {
    if (raw->state_ == State::kConnecting) raw->CloseSocket(CloseReason::kConnectTimeout);
  });
  c->connect_timer_->Enable(timeout);
  return c;
}

void Connection::OnConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<Connection*>(req->handle->data);
  delete req;
  if (self == nullptr || self->state_ != State::kConnecting) return;
  self->connect_timer_.reset();
  if (status != 0) {
    self->CloseSocket(CloseReason::kConnectFail);
    return;
  }
  self->state_ = State::kOpen;
  uv_tcp_nodelay(self->tcp_, 1);
  self->InitAddresses();
  if (self->callbacks_ != nullptr) self->callbacks_->OnConnected();
}

void Connection::InitAddresses() {
  sockaddr_storage ss{};
  int len = sizeof(ss);
  if (uv_tcp_getsockname(tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    if (auto a = Address::FromSockaddr(reinterpret_cast<sockaddr*>(&ss))) local_ = *a;
  }
  len = sizeof(ss);
  if (uv_tcp_getpeername(tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    if (auto a = Address::FromSockaddr(reinterpret_cast<sockaddr*>(&ss))) remote_ = *a;
  }
}

int Connection::fd() const {
  uv_os_fd_t fd = -1;
  if (tcp_ != nullptr) uv_fileno(reinterpret_cast<const uv_handle_t*>(tcp_), &fd);
  return fd;
}

void Connection::StartReading() {
  reading_started_ = true;
  if (state_ == State::kOpen && read_disable_count_ == 0 && !read_eof_) {
    uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), &Connection::OnAlloc, &Connection::OnRead);
  }
}

void Connection::ReadDisable(bool disable) {
  if (state_ == State::kClosed) return;
  if (disable) {
    if (read_disable_count_++ == 0) uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
    return;
  }
  if (read_disable_count_ == 0) return;
  if (--read_disable_count_ == 0 && reading_started_) StartReading();
}

void Connection::OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  buf->base = ReadBuffer();
  buf->len = kReadBufferSize;
}

void Connection::OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(s->data);
  if (self == nullptr || nread == 0) return;
  if (nread > 0) {
    self->bytes_read_ += static_cast<uint64_t>(nread);
    if (self->callbacks_ != nullptr) {
      self->callbacks_->OnData(std::string_view(buf->base, static_cast<size_t>(nread)));
    }
    return;
  }
  if (nread == UV_EOF) {
    self->read_eof_ = true;
    uv_read_stop(s);
    if (self->callbacks_ != nullptr) self->callbacks_->OnEof();
    return;
  }
  self->CloseSocket(CloseReason::kRemoteClose);
}

void Connection::Write(std::string_view data) { DoWrite(data, nullptr); }
void Connection::Write(std::string&& data) { DoWrite(data, &data); }

bool Connection::Writable() const {
  return state_ != State::kClosed && state_ != State::kClosing && !shutdown_sent_;
}

void Connection::DoWrite(std::string_view data, std::string* owned) {
  if (data.empty() || !Writable()) return;
  // Take over a large string rather than copy it; copy a small one into the kept buffer.
  if (out_.empty() && owned != nullptr && owned->size() > out_.capacity()) {
    out_ = std::move(*owned);
  } else {
    out_.append(data);
  }
  Buffered(data.size());
}

void Connection::Buffered(size_t added) {
  if (added == 0) return;
  buffered_bytes_ += added;
  dispatcher_.ScheduleFlush(this);
  CheckWatermarks();
}

// A connection keeps its write buffer between flushes up to this size: the usual headers and
// small bodies then need no allocation, and an idle connection holds little.
constexpr size_t kKeptWriteBuffer = 16 * 1024;

void Connection::Flush() {
  if (state_ == State::kClosed || out_.empty()) return;
  size_t written = 0;
  // Try the socket directly unless earlier writes are still queued (order) or connecting.
  if (state_ != State::kConnecting && in_flight_bytes_ == 0) {
    // send(), not libuv's write(): the socket call skips the VFS layer (HAProxy does the same).
    ssize_t n;
    do {
      n = ::send(fd(), out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      written = static_cast<size_t>(n);
      bytes_written_ += written;
      buffered_bytes_ -= written;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      CloseSocket(CloseReason::kError);
      return;
    }
  }
  if (written == 0) {
    QueueWrite(std::move(out_));  // hand the whole buffer over: no copy
    out_ = std::string();
  } else {
    if (written < out_.size()) QueueWrite(out_.substr(written));
    out_.clear();
    if (out_.capacity() > kKeptWriteBuffer) out_ = std::string();
  }
  if (state_ == State::kClosed) return;
  CheckWatermarks();
  if (shutdown_sent_) DoShutdown();
  MaybeFinishFlushClose();
}

void Connection::QueueWrite(std::string data) {
  // libuv queues a write issued while connecting until the connection is up.
  auto* req = new WriteReq;
  req->data = std::move(data);
  in_flight_bytes_ += req->data.size();
  uv_buf_t b = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
  req->req.data = req;
  int rc = uv_write(&req->req, reinterpret_cast<uv_stream_t*>(tcp_), &b, 1,
                    [](uv_write_t* w, int status) {
                      auto* r = static_cast<WriteReq*>(w->data);
                      auto* self = static_cast<Connection*>(w->handle->data);
                      size_t n = r->data.size();
                      delete r;
                      if (self != nullptr) self->OnWriteDone(n, status);
                    });
  if (rc != 0) {
    in_flight_bytes_ -= req->data.size();
    delete req;
    CloseSocket(CloseReason::kError);
  }
}

void Connection::OnWriteDone(size_t bytes, int status) {
  in_flight_bytes_ -= bytes;
  buffered_bytes_ -= bytes;
  if (status != 0) {
    if (state_ != State::kClosed) CloseSocket(CloseReason::kError);
    return;
  }
  bytes_written_ += bytes;
  CheckWatermarks();
  MaybeFinishFlushClose();
}

void Connection::SetWriteBufferLimits(uint32_t high) {
  high_watermark_ = high;
  CheckWatermarks();
}

void Connection::CheckWatermarks() {
  if (high_watermark_ == 0 || state_ == State::kClosed) return;
  if (!above_high_ && buffered_bytes_ > high_watermark_) {
    above_high_ = true;
    if (callbacks_ != nullptr) callbacks_->OnAboveWriteHighWatermark();
  } else if (above_high_ && buffered_bytes_ <= high_watermark_ / 2) {
    above_high_ = false;
    if (callbacks_ != nullptr) callbacks_->OnBelowWriteLowWatermark();
  }
}

void Connection::ShutdownWrite() {
  if (state_ != State::kOpen || shutdown_sent_) return;
  shutdown_sent_ = true;
  // FIN goes after the pending output: Flush() sends it once that is queued.
  if (out_.empty()) DoShutdown();
}

void Connection::DoShutdown() {
  if (shutdown_done_ || state_ == State::kClosed) return;
  shutdown_done_ = true;
  auto* req = new uv_shutdown_t;
  if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(tcp_),
                  [](uv_shutdown_t* r, int) { delete r; }) != 0) {
    delete req;
  }
}

void Connection::Close(CloseType type) {
  if (state_ == State::kClosed) return;
  if (type == CloseType::kFlushWrite && buffered_bytes_ > 0 && state_ == State::kOpen) {
    state_ = State::kClosing;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
    return;  // Flush() / OnWriteDone finish the close once everything is written
  }
  CloseSocket(CloseReason::kLocal);
}

void Connection::MaybeFinishFlushClose() {
  if (state_ == State::kClosing && buffered_bytes_ == 0) CloseSocket(CloseReason::kLocal);
}

void Connection::CloseSocket(CloseReason reason) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  dispatcher_.CancelFlush(this);
  out_.clear();
  connect_timer_.reset();
  uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
  tcp_->data = nullptr;
  event::Dispatcher::CloseAndDelete(tcp_);
  tcp_ = nullptr;
  if (callbacks_ != nullptr) {
    ConnectionCallbacks* cb = callbacks_;
    callbacks_ = nullptr;
    cb->OnClose(reason);
  }
}

}  // namespace pilotfish::net
