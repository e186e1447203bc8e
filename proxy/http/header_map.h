// HTTP header storage shared by the codec, filters and the router: ordered, case-insensitive.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pilotfish::http {

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Request and response headers in wire order. Names are stored lower-cased (HTTP/1 names are
// case-insensitive and Envoy forwards them lower-cased). Pseudo-headers live in the typed
// fields of RequestHeaders / ResponseHeaders, never in the list.
class HeaderMap {
 public:
  using Entry = std::pair<std::string, std::string>;

  // Appends; `name` is lower-cased.
  void Add(std::string_view name, std::string_view value);
  // Replaces every entry named `name` with one entry (appended if absent).
  void Set(std::string_view name, std::string_view value);
  // Removes every entry named `name`; returns how many were removed.
  size_t Remove(std::string_view name);
  // The first value named `name`, or nullptr.
  const std::string* Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name) != nullptr; }
  size_t Count(std::string_view name) const;

  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& mutable_entries() { return entries_; }
  size_t size() const { return entries_.size(); }
  // Bytes of names plus values, used for the header size limit.
  size_t ByteSize() const;

 private:
  std::vector<Entry> entries_;
};

struct RequestHeaders {
  std::string method;           // :method
  std::string path;             // :path (request target as received, including the query)
  std::string authority;        // :authority (from Host, or the absolute-form target)
  std::string scheme = "http";  // :scheme
  int version_minor = 1;        // HTTP/1.<minor>
  HeaderMap headers;            // everything else, Host excluded
  // Value of a header or pseudo-header (":method", ":path", ":authority", ":scheme").
  const std::string* GetAny(std::string_view name) const;
};
using RequestHeadersPtr = std::unique_ptr<RequestHeaders>;

struct ResponseHeaders {
  int status = 200;
  std::string reason;  // as received from the upstream, may be empty
  HeaderMap headers;
};
using ResponseHeadersPtr = std::unique_ptr<ResponseHeaders>;

// The reason phrase Envoy/HTTP use for a status code ("Unknown" when none is known).
std::string_view StatusReason(int status);

}  // namespace pilotfish::http
