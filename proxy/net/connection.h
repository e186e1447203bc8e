// A TCP connection on a dispatcher: reads into the worker's shared buffer, collects writes and
// flushes them once per loop iteration (try-write first), tracks buffered bytes against
// watermarks, and closes before it frees.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/event/dispatcher.h"
#include "proxy/net/address.h"

namespace pilotfish::net {

enum class CloseReason {
  kLocal,        // we closed it
  kRemoteClose,  // peer closed/reset while we were not done
  kConnectFail,  // outbound connect failed (refused, unreachable)
  kConnectTimeout,
  kError  // read/write error
};
const char* CloseReasonName(CloseReason r);

class ConnectionCallbacks {
 public:
  virtual ~ConnectionCallbacks() = default;
  virtual void OnConnected() {}
  // Bytes read. The view is only valid during the call.
  virtual void OnData(std::string_view data) = 0;
  // The peer finished sending (FIN). The connection stays open for writing.
  virtual void OnEof() = 0;
  // Called once, when the connection is closed for any reason (also after Close()).
  virtual void OnClose(CloseReason reason) = 0;
  // Flow control: buffered outbound bytes crossed the high watermark / drained to the low one.
  virtual void OnAboveWriteHighWatermark() {}
  virtual void OnBelowWriteLowWatermark() {}
};

class Connection : public event::DeferredDeletable, public event::Flushable {
 public:
  // Takes an accepted client from `server`. nullptr if accept failed.
  static std::unique_ptr<Connection> Accept(event::Dispatcher& dispatcher, uv_stream_t* server);
  // Starts connecting to `to`; OnConnected or OnClose(kConnectFail/kConnectTimeout) follows.
  static std::unique_ptr<Connection> Connect(event::Dispatcher& dispatcher, const Address& to,
                                             std::chrono::milliseconds timeout,
                                             const Address* bind_source = nullptr);
  ~Connection() override;

  void SetCallbacks(ConnectionCallbacks* cb) { callbacks_ = cb; }
  // Starts reading (accepted connections start paused until callbacks are set).
  void StartReading();
  // Stops/resumes reads; nested disables count (two disables need two enables).
  void ReadDisable(bool disable);
  bool reading_enabled() const { return read_disable_count_ == 0; }

  // Buffers `data`; it goes to the socket at the end of this loop iteration, as in Envoy, so a
  // Close(kNoFlush) in the same iteration (e.g. a reset after a codec error) sends none of it.
  void Write(std::string_view data);
  void Write(std::string&& data);
  // The same, for an encoder: `append(std::string&)` appends its output straight to the write
  // buffer (and must only append), so no string of its own is allocated. It runs even when the
  // connection no longer writes, for what it computes on the way; the output is then dropped.
  template <typename AppendFn>
  void WriteWith(AppendFn&& append) {
    if (!Writable()) {
      std::string dropped;
      append(dropped);
      return;
    }
    const size_t before = out_.size();
    append(out_);
    Buffered(out_.size() - before);
  }
  // Sends FIN after everything buffered is written.
  void ShutdownWrite();
  enum class CloseType { kFlushWrite, kNoFlush };
  // Closes (after flushing when asked). OnClose(kLocal) is delivered once, from this call for
  // kNoFlush (dropping unwritten data) or after the flush.
  void Close(CloseType type = CloseType::kNoFlush);
  bool closed() const { return state_ == State::kClosed; }
  bool connecting() const { return state_ == State::kConnecting; }

  size_t buffered_write_bytes() const { return buffered_bytes_; }
  void SetWriteBufferLimits(uint32_t high);  // low = high / 2; 0 disables
  bool above_high_watermark() const { return above_high_; }

  uint64_t id() const { return id_; }
  event::Dispatcher& dispatcher() { return dispatcher_; }
  const Address& local_address() const { return local_; }
  const Address& remote_address() const { return remote_; }
  // The listener's view of the local address: the original destination when redirected.
  void RestoreLocalAddress(const Address& a) {
    local_ = a;
    local_restored_ = true;
  }
  bool local_address_restored() const { return local_restored_; }
  int fd() const;
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t bytes_written() const { return bytes_written_; }

  // event::Flushable: hands the collected output to the socket.
  void Flush() override;

 private:
  enum class State { kConnecting, kOpen, kClosing, kClosed };
  struct WriteReq;
  Connection(event::Dispatcher& dispatcher);
  void InitAddresses();
  void DoWrite(std::string_view data, std::string* owned);
  bool Writable() const;
  void Buffered(size_t added);  // `added` bytes were appended to out_
  void QueueWrite(std::string data);
  void DoShutdown();
  void OnWriteDone(size_t bytes, int status);
  void CheckWatermarks();
  void MaybeFinishFlushClose();
  void CloseSocket(CloseReason reason);
  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void OnConnect(uv_connect_t* req, int status);

  event::Dispatcher& dispatcher_;
  uv_tcp_t* tcp_;
  ConnectionCallbacks* callbacks_ = nullptr;
  event::TimerPtr connect_timer_;
  State state_ = State::kOpen;
  uint64_t id_;
  Address local_, remote_;
  bool local_restored_ = false;
  int read_disable_count_ = 0;
  bool reading_started_ = false;
  bool read_eof_ = false;
  bool shutdown_sent_ = false;  // requested
  bool shutdown_done_ = false;  // uv_shutdown issued
  std::string out_;             // written since the last flush; its buffer is reused
  size_t in_flight_bytes_ = 0;  // handed to uv_write, not yet completed
  size_t buffered_bytes_ = 0;   // out_ + in flight: what the watermarks look at
  uint32_t high_watermark_ = 0;
  bool above_high_ = false;
  uint64_t bytes_read_ = 0;
  uint64_t bytes_written_ = 0;
};
using ConnectionPtr = std::unique_ptr<Connection>;

}  // namespace pilotfish::net
