// HTTP/1.1 serialization of response and request heads and of message bodies.
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http1/codec.h"
#include "proxy/http1/head_writer.h"

namespace pilotfish::http1 {
namespace {

void AppendHex(std::string& out, uint64_t v) {
  char buf[16];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v, 16);
  out.append(buf, static_cast<size_t>(result.ptr - buf));
}

// HeaderMap stores names lower-cased, so a plain comparison with a lower-case name suffices.
bool Is(const std::string& name, std::string_view lower_name) { return name == lower_name; }

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Bytes of "name: value\r\n" for every entry, to size the output once.
size_t EntriesSize(const http::HeaderMap& headers) {
  size_t n = 0;
  for (const auto& [name, value] : headers.entries()) n += name.size() + value.size() + 4;
  return n;
}

}  // namespace

void EncodeResponseHeaders(const http::ResponseHeaders& headers, int request_version_minor,
                           bool head_request, bool keep_alive, std::string& out,
                           BodyFraming* framing) {
  const int status = headers.status;
  const std::string_view reason = headers.reason.empty() || HasLineBreak(headers.reason)
                                      ? http::StatusReason(status)
                                      : std::string_view(headers.reason);
  // Status line (at most 32 bytes besides the reason), the entries, and what may be added:
  // "transfer-encoding: chunked" or "connection: keep-alive|close" lines and the blank line.
  HeadWriter w(out, EntriesSize(headers.headers) + reason.size() + 96);
  w.Put("HTTP/1.1 ");
  w.Decimal(static_cast<uint64_t>(status));
  w.Put(' ');
  w.Put(reason);
  w.Put("\r\n");

  if (status < 200) {
    // 1xx (including 101): never a body, so no framing headers (RFC 9110 8.6, 9112 6.1); the
    // connection header is written as given (a 101 needs "connection: upgrade").
    for (const auto& [name, value] : headers.headers.entries()) {
      if (Is(name, "content-length") || Is(name, "transfer-encoding")) continue;
      w.Header(name, value);
    }
    w.Put("\r\n");
    *framing = BodyFraming::kNone;
    return;
  }

  const bool http10 = request_version_minor == 0;
  const std::string* content_length = nullptr;
  for (const auto& [name, value] : headers.headers.entries()) {
    if (Is(name, "content-length")) {
      content_length = &value;
      break;
    }
  }
  // 204 must not carry Content-Length; HEAD and 304 may (it describes the GET/200 body).
  const bool no_body = head_request || status == 204 || status == 304;
  bool keep_cl = content_length != nullptr && status != 204;
  bool add_chunked = false;
  bool keep_te = false;  // a 304 for an HTTP/1.1 client may announce chunked
  if (no_body) {
    *framing = BodyFraming::kNone;
    // A HEAD response without a length gets Envoy's guess that the GET would be chunked.
    add_chunked = head_request && !keep_cl && !http10 && status != 204 && status != 304;
    keep_te = !add_chunked && !keep_cl && !http10 && status != 204;
  } else if (content_length != nullptr) {
    *framing = BodyFraming::kContentLength;
  } else if (!http10) {
    *framing = BodyFraming::kChunked;
    add_chunked = true;
  } else {
    *framing = BodyFraming::kUntilClose;
  }
  const bool persistent = keep_alive && *framing != BodyFraming::kUntilClose;
  // Write "connection" ourselves when the answer must be explicit; otherwise keep the caller's.
  const bool own_connection = !persistent || http10;

  bool cl_written = false;
  bool te_written = false;
  for (const auto& [name, value] : headers.headers.entries()) {
    if (Is(name, "content-length")) {
      if (!keep_cl || cl_written) continue;
      cl_written = true;
    } else if (Is(name, "transfer-encoding")) {
      if (!keep_te || te_written) continue;
      te_written = true;
    } else if (own_connection && Is(name, "connection")) {
      continue;
    }
    w.Header(name, value);
  }
  if (add_chunked) w.Put("transfer-encoding: chunked\r\n");
  if (!persistent) {
    w.Put("connection: close\r\n");
  } else if (http10) {
    w.Put("connection: keep-alive\r\n");
  }
  w.Put("\r\n");
}

void EncodeBody(std::string_view data, bool end_stream, BodyFraming framing, std::string& out) {
  switch (framing) {
    case BodyFraming::kNone:
      return;
    case BodyFraming::kContentLength:
    case BodyFraming::kUntilClose:
      out.append(data);
      return;
    case BodyFraming::kChunked:
      if (!data.empty()) {
        out.reserve(out.size() + data.size() + 24);
        AppendHex(out, data.size());
        out.append("\r\n");
        out.append(data);
        out.append("\r\n");
      }
      if (end_stream) out.append("0\r\n\r\n");
      return;
  }
}

void EncodeRequestHeaders(const http::RequestHeaders& headers, BodyFraming framing,
                          std::string& out) {
  HeadWriter w(out, EntriesSize(headers.headers) + headers.method.size() + headers.path.size() +
                        2 * headers.authority.size() + 64);
  w.Put(headers.method);
  w.Put(' ');
  if (headers.method == "CONNECT") {
    w.Put(headers.authority);
  } else if (headers.path.empty()) {
    w.Put('/');
  } else {
    w.Put(headers.path);
  }
  w.Put(" HTTP/1.1\r\n");
  w.Header("host", headers.authority);

  bool cl_written = false;
  for (const auto& [name, value] : headers.headers.entries()) {
    if (Is(name, "host") || Is(name, "transfer-encoding")) continue;
    if (Is(name, "content-length")) {
      // kNone keeps an explicit "0": some servers answer 411 to a bodyless POST without it.
      const bool keep =
          framing == BodyFraming::kContentLength || (framing == BodyFraming::kNone && value == "0");
      if (!keep || cl_written) continue;
      cl_written = true;
    }
    w.Header(name, value);
  }
  if (framing == BodyFraming::kChunked) w.Put("transfer-encoding: chunked\r\n");
  w.Put("\r\n");
}

}  // namespace pilotfish::http1
