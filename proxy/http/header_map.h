// HTTP header storage shared by the codec, filters and the router: ordered, case-insensitive.
#pragma once

#include <algorithm>
#include <cstddef>
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
// Removed and cleared entries stay in the vector past the live ones as spares whose strings
// keep their buffers, and the next Add or AppendEmpty reuses one in place (no string is moved):
// with the recycling below, a worker's steady stream of requests stores header names and values
// without allocating. Copies carry only the live entries.
class HeaderMap {
 public:
  using Entry = std::pair<std::string, std::string>;

  // The live entries, in order: a view that stays valid until the map is next changed.
  class Entries {
   public:
    using value_type = Entry;
    using iterator = const Entry*;
    using const_iterator = const Entry*;
    Entries(const Entry* begin, size_t size) : begin_(begin), size_(size) {}
    const Entry* begin() const { return begin_; }
    const Entry* end() const { return begin_ + size_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const Entry& operator[](size_t i) const { return begin_[i]; }
    const Entry& back() const { return begin_[size_ - 1]; }
    friend bool operator==(Entries a, Entries b) {
      return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
    }
    friend bool operator==(Entries a, const std::vector<Entry>& b) {
      return a == Entries(b.data(), b.size());
    }

   private:
    const Entry* begin_;
    size_t size_;
  };

  HeaderMap() = default;
  HeaderMap(const HeaderMap& other)
      : entries_(other.entries_.begin(),
                 other.entries_.begin() + static_cast<std::ptrdiff_t>(other.size_)),
        size_(other.size_) {}
  HeaderMap& operator=(const HeaderMap& other) {
    if (this != &other) {
      Clear();
      for (const Entry& e : other.entries()) AppendEmpty() = e;
    }
    return *this;
  }
  HeaderMap(HeaderMap&& other) noexcept
      : entries_(std::move(other.entries_)), size_(std::exchange(other.size_, 0)) {
    other.entries_.clear();
  }
  HeaderMap& operator=(HeaderMap&& other) noexcept {
    if (this != &other) {
      entries_ = std::move(other.entries_);
      size_ = std::exchange(other.size_, 0);
      other.entries_.clear();
    }
    return *this;
  }

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
  // Whether some name starts with `prefix`, which must be lower-case.
  bool HasNamePrefix(std::string_view prefix) const;
  size_t Count(std::string_view name) const;

  Entries entries() const { return Entries(entries_.data(), size_); }
  size_t size() const { return size_; }
  // Bytes of names plus values, used for the header size limit.
  size_t ByteSize() const;

  // For the codec, which fills names and values in place as they arrive.
  Entry& AppendEmpty();  // a new last entry with empty name and value
  Entry& back() { return entries_[size_ - 1]; }
  void PopBack() { --size_; }  // the entry stays as a spare
  void Reserve(size_t n) { entries_.reserve(n); }
  // Removes every entry (kept as spares, within limits).
  void Clear();

 private:
  template <typename Pred>
  size_t RemoveIf(size_t from, Pred pred);

  std::vector<Entry> entries_;  // [0, size_) live; the rest spares (strings cleared on reuse)
  size_t size_ = 0;
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
