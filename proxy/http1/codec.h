// HTTP/1.x codec on llhttp: parses requests (server side) and responses (client side) and
// serializes the other direction. Pure byte-in/byte-out; knows nothing about sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/http/header_map.h"

namespace pilotfish::http1 {

struct CodecLimits {
  // Total bytes of the request/status line plus all header names and values (Envoy: 60 KiB).
  size_t max_headers_bytes = 60 * 1024;
  uint32_t max_headers_count = 100;
};

// How a message body is delimited on the wire.
enum class BodyFraming { kNone, kContentLength, kChunked, kUntilClose };

// ---------------------------------------------------------------------------------------------
// Server side: parses requests from a downstream client.
class ServerCodecCallbacks {
 public:
  virtual ~ServerCodecCallbacks() = default;
  // A complete request head. `end_stream` is true when the request has no body.
  // Host is moved into authority; hop-by-hop headers are kept (the caller decides).
  virtual void OnRequestHeaders(http::RequestHeadersPtr headers, bool end_stream) = 0;
  // A piece of de-chunked body. `end_stream` marks the last piece (may be empty).
  virtual void OnRequestData(std::string_view data, bool end_stream) = 0;
};

enum class DispatchStatus {
  kOk,      // all input consumed (or the parser is paused, see consumed)
  kPaused,  // a request completed and the parser paused before the next one (pipelining)
  kError,   // protocol error: error_status()/error_details() say why; the connection must close
  kUpgrade  // an Upgrade/CONNECT head was accepted; bytes after it are tunnel payload
};

class ServerCodec {
 public:
  ServerCodec(ServerCodecCallbacks& callbacks, const CodecLimits& limits);
  ~ServerCodec();
  ServerCodec(const ServerCodec&) = delete;
  ServerCodec& operator=(const ServerCodec&) = delete;

  // Parses `data`. `*consumed` receives the bytes used; on kPaused/kUpgrade the rest belongs to
  // the next request / the tunnel. After each complete request the parser pauses so the caller
  // handles one request at a time; Resume() before dispatching the remainder.
  DispatchStatus Dispatch(std::string_view data, size_t* consumed);
  void Resume();
  // The downstream closed its write side. Returns kError if a request was cut short.
  DispatchStatus OnEof();

  // Set after kError: the status Envoy replies with (400, 413, 431, 501...) and a detail string
  // in Envoy's style (e.g. "http1.codec_error", "http1.headers_too_large").
  int error_status() const { return error_status_; }
  const std::string& error_details() const { return error_details_; }

  // True when the current request asked for keep-alive (HTTP/1.1 default, HTTP/1.0 with
  // "Connection: keep-alive") and did not say "Connection: close".
  bool request_keep_alive() const;
  bool request_expects_continue() const;  // "Expect: 100-continue"
  bool request_is_upgrade() const;        // Upgrade header with Connection: upgrade, or CONNECT
  int request_version_minor() const;
  // The request named its authority: a Host header (even an empty one), or a CONNECT or
  // absolute-form target.
  bool request_has_authority() const;

 private:
  friend struct ServerCodecImpl;
  std::unique_ptr<struct ServerCodecImpl> impl_;
  int error_status_ = 0;
  std::string error_details_;
};

// Serializes a response for a downstream client of HTTP/1.`request_version_minor`. Chooses the
// framing: Content-Length when present, otherwise chunked for HTTP/1.1 and close-delimited for
// HTTP/1.0 (sets *framing so the caller knows to close after). No body for HEAD/1xx/204/304.
// `keep_alive` false adds "connection: close". Appends to `out`.
void EncodeResponseHeaders(const http::ResponseHeaders& headers, int request_version_minor,
                           bool head_request, bool keep_alive, std::string& out,
                           BodyFraming* framing);
// Appends a body piece in `framing` (a chunk for kChunked). `end_stream` on kChunked appends the
// last-chunk "0\r\n\r\n".
void EncodeBody(std::string_view data, bool end_stream, BodyFraming framing, std::string& out);

// ---------------------------------------------------------------------------------------------
// Client side: parses responses from an upstream server.
class ClientCodecCallbacks {
 public:
  virtual ~ClientCodecCallbacks() = default;
  // 1xx informational responses other than 101 (e.g. 100 Continue).
  virtual void On1xxHeaders(http::ResponseHeadersPtr headers) = 0;
  virtual void OnResponseHeaders(http::ResponseHeadersPtr headers, bool end_stream) = 0;
  virtual void OnResponseData(std::string_view data, bool end_stream) = 0;
};

class ClientCodec {
 public:
  ClientCodec(ClientCodecCallbacks& callbacks, const CodecLimits& limits);
  ~ClientCodec();
  ClientCodec(const ClientCodec&) = delete;
  ClientCodec& operator=(const ClientCodec&) = delete;

  // Must be called before the response to each request arrives: a HEAD response has no body.
  void ExpectResponse(bool head_request);
  // Same contract as ServerCodec::Dispatch. kUpgrade after a 101 response.
  DispatchStatus Dispatch(std::string_view data, size_t* consumed);
  void Resume();
  // The upstream closed. Completes a close-delimited body (OnResponseData end_stream=true) or
  // returns kError when the response was incomplete.
  DispatchStatus OnEof();
  const std::string& error_details() const { return error_details_; }
  // The upstream said "connection: close" (or HTTP/1.0 without keep-alive) in this response.
  bool response_keep_alive() const;

 private:
  friend struct ClientCodecImpl;
  std::unique_ptr<struct ClientCodecImpl> impl_;
  std::string error_details_;
};

// Serializes a request for an upstream: "METHOD path HTTP/1.1", Host from authority, the
// headers, then framing: Content-Length as given, or "transfer-encoding: chunked" when the
// downstream body is chunked (framing kChunked), or no body. Appends to `out`.
void EncodeRequestHeaders(const http::RequestHeaders& headers, BodyFraming framing,
                          std::string& out);

}  // namespace pilotfish::http1
