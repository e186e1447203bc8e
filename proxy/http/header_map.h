// HTTP header storage shared by the codec, filters and the router: ordered, case-insensitive.
#pragma once

#include <initializer_list>
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
//
// Removed and cleared entries are kept as spares whose strings keep their buffers, and the next
// Add or AppendEmpty reuses one: with the recycling below, a worker's steady stream of requests
// stores header names and values without allocating. Copies carry only the live entries.
class HeaderMap {
 public:
  using Entry = std::pair<std::string, std::string>;

  HeaderMap() = default;
  HeaderMap(const HeaderMap& other) : entries_(other.entries_) {}
  HeaderMap& operator=(const HeaderMap& other) {
    if (this != &other) entries_ = other.entries_;
    return *this;
  }
  HeaderMap(HeaderMap&&) noexcept = default;
  HeaderMap& operator=(HeaderMap&&) noexcept = default;

  // Appends; `name` is lower-cased.
  void Add(std::string_view name, std::string_view value);
  // Replaces every entry named `name` with one entry (appended if absent).
  void Set(std::string_view name, std::string_view value);
  // Removes every entry named `name`; returns how many were removed.
  size_t Remove(std::string_view name);
  // Removes every entry whose (lower-cased) name is in `names`, in one pass.
  size_t RemoveAll(std::initializer_list<std::string_view> names);
  // The first value named `name`, or nullptr.
  const std::string* Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name) != nullptr; }
  size_t Count(std::string_view name) const;

  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  // Bytes of names plus values, used for the header size limit.
  size_t ByteSize() const;

  // For the codec, which fills names and values in place as they arrive.
  Entry& AppendEmpty();  // a new last entry with empty name and value
  Entry& back() { return entries_.back(); }
  void PopBack();
  void Reserve(size_t n) { entries_.reserve(n); }
  // Removes every entry (kept as spares, within limits).
  void Clear();

 private:
  void Retire(Entry&& e);  // keeps `e`'s buffers as a spare, unless there are enough or too big
  template <typename Pred>
  size_t RemoveIf(size_t from, Pred pred);

  std::vector<Entry> entries_;
  std::vector<Entry> spare_;  // empty strings, capacity kept
};

// Header blocks come from NewRequestHeaders / NewResponseHeaders and go back, when their
// pointer is destroyed, to a small per-thread pool that keeps their header storage (outside
// sanitizer builds, where reuse would hide a use after free). A recycled block is reset to
// exactly what a new one holds. A pointer made with std::make_unique converts and recycles too.
template <typename T>
struct RecyclingDelete {
  RecyclingDelete() = default;
  RecyclingDelete(std::default_delete<T>) {}  // NOLINT(google-explicit-constructor)
  void operator()(T* p) const;
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
using RequestHeadersPtr = std::unique_ptr<RequestHeaders, RecyclingDelete<RequestHeaders>>;

struct ResponseHeaders {
  int status = 200;
  std::string reason;  // as received from the upstream, may be empty
  HeaderMap headers;
};
using ResponseHeadersPtr = std::unique_ptr<ResponseHeaders, RecyclingDelete<ResponseHeaders>>;

RequestHeadersPtr NewRequestHeaders();
ResponseHeadersPtr NewResponseHeaders();

// The reason phrase Envoy/HTTP use for a status code ("Unknown" when none is known).
std::string_view StatusReason(int status);

}  // namespace pilotfish::http
