// HeaderMap and status-line helpers.
#include "proxy/http/header_map.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>

#include "proxy/common/thread_pooled.h"

namespace pilotfish::http {
namespace {
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

// Header names are folded and compared eight bytes at a time (they are mostly 10 to 30 bytes).
constexpr uint64_t kEachByte = 0x0101010101010101ULL;

// `w` with every byte in 'A'..'Z' lower-cased; other bytes, including those >= 0x80, unchanged.
inline uint64_t LowerWord(uint64_t w) {
  const uint64_t low7 = w & (0x7f * kEachByte);
  // Per byte, bit 7 of the sum says low7 >= 'A' (resp. > 'Z'); no sum carries into the next byte.
  const uint64_t at_least_a = low7 + (0x80 - 'A') * kEachByte;
  const uint64_t above_z = low7 + (0x80 - 'Z' - 1) * kEachByte;
  const uint64_t upper = at_least_a & ~above_z & ~w & (0x80 * kEachByte);
  return w | (upper >> 2);  // bit 7 -> bit 5: +0x20
}

inline uint64_t LoadWord(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

void CopyLower(char* out, const char* in, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t w = LowerWord(LoadWord(in + i));
    std::memcpy(out + i, &w, sizeof(w));
  }
  for (; i < n; ++i) out[i] = Lower(in[i]);
}
}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

namespace {
// `stored` is lower-case already (every way in lower-cases it): only `name` needs folding.
inline bool NameIs(const std::string& stored, std::string_view name) {
  const size_t n = name.size();
  if (stored.size() != n) return false;
  const char* a = stored.data();
  const char* b = name.data();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (LoadWord(a + i) != LowerWord(LoadWord(b + i))) return false;
  }
  for (; i < n; ++i) {
    if (a[i] != Lower(b[i])) return false;
  }
  return true;
}

// Spares kept per map, and the largest buffers worth keeping: a request with a huge header
// does not pin that memory in the pool.
constexpr size_t kMaxSpareEntries = 32;
constexpr size_t kMaxSpareName = 256;
constexpr size_t kMaxSpareValue = 1024;
}  // namespace

HeaderMap::Entry& HeaderMap::AppendEmpty() {
  if (size_ == entries_.size()) {
    ++size_;
    return entries_.emplace_back();
  }
  Entry& e = entries_[size_++];
  e.first.clear();
  e.second.clear();
  return e;
}

void HeaderMap::Clear() {
  size_ = 0;
  if (entries_.size() > kMaxSpareEntries) entries_.resize(kMaxSpareEntries);
  for (Entry& e : entries_) {
    if (e.first.capacity() > kMaxSpareName) std::string().swap(e.first);
    if (e.second.capacity() > kMaxSpareValue) std::string().swap(e.second);
  }
}

void HeaderMap::Add(std::string_view name, std::string_view value) {
  Entry& e = AppendEmpty();
  e.first.resize(name.size());
  CopyLower(e.first.data(), name.data(), name.size());
  e.second.assign(value);
}

// Removes the live entries from index `from` on that match `pred`, keeping the order of the
// rest. Entries are swapped, not moved, so every string keeps its buffer for reuse.
template <typename Pred>
size_t HeaderMap::RemoveIf(size_t from, Pred pred) {
  size_t kept = from;  // [kept, i) holds the entries to remove
  for (size_t i = from; i < size_; ++i) {
    if (pred(entries_[i])) continue;
    if (kept != i) std::swap(entries_[kept], entries_[i]);
    ++kept;
  }
  const size_t removed = size_ - kept;
  size_ = kept;
  return removed;
}

void HeaderMap::Set(std::string_view name, std::string_view value) {
  for (size_t i = 0; i < size_; ++i) {
    if (!NameIs(entries_[i].first, name)) continue;
    entries_[i].second.assign(value);
    RemoveIf(i + 1, [&](const Entry& e) { return NameIs(e.first, name); });
    return;
  }
  Add(name, value);
}

size_t HeaderMap::Remove(std::string_view name) {
  return RemoveIf(0, [&](const Entry& e) { return NameIs(e.first, name); });
}

size_t HeaderMap::RemoveAll(std::initializer_list<std::string_view> names) {
  // Bit L set: some name is L bytes long (L < 64); most entries are ruled out by length alone.
  uint64_t lengths = 0;
  bool long_names = false;
  for (std::string_view n : names) {
    if (n.size() < 64) {
      lengths |= uint64_t{1} << n.size();
    } else {
      long_names = true;
    }
  }
  return RemoveIf(0, [&](const Entry& e) {
    const size_t len = e.first.size();
    if (len < 64 ? (lengths & (uint64_t{1} << len)) == 0 : !long_names) return false;
    for (std::string_view n : names) {
      if (NameIs(e.first, n)) return true;
    }
    return false;
  });
}

const std::string* HeaderMap::Get(std::string_view name) const {
  for (const Entry& e : entries()) {
    if (NameIs(e.first, name)) return &e.second;
  }
  return nullptr;
}

bool HeaderMap::HasNamePrefix(std::string_view prefix) const {
  for (const Entry& e : entries()) {
    if (std::string_view(e.first).starts_with(prefix)) return true;
  }
  return false;
}

size_t HeaderMap::Count(std::string_view name) const {
  const Entries live = entries();
  return static_cast<size_t>(std::count_if(live.begin(), live.end(),
                                           [&](const Entry& e) { return NameIs(e.first, name); }));
}

size_t HeaderMap::ByteSize() const {
  size_t n = 0;
  for (const Entry& e : entries()) n += e.first.size() + e.second.size();
  return n;
}

// ------------------------------------------------------------------ recycling of header blocks
namespace {
constexpr size_t kPoolSize = 64;  // per thread and type: about the streams in flight at once

template <typename T>
void DeleteBlock(T* p) {
  delete p;
}
template <typename T>
using BlockPool = common::ThreadFreeList<T*, kPoolSize, &DeleteBlock<T>>;

// Back to exactly what a new block holds, keeping the storage of its strings and headers.
// Field by field (assigning a new T() constructed and destroyed one, twice the work): a field
// added to either struct must be reset here too, which the size checks below make loud.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(RequestHeaders) == 4 * sizeof(std::string) + 8 + sizeof(HeaderMap),
              "RequestHeaders changed: reset the new field in ResetForReuse");
static_assert(sizeof(ResponseHeaders) == 8 + sizeof(std::string) + sizeof(HeaderMap),
              "ResponseHeaders changed: reset the new field in ResetForReuse");
#endif
void ResetForReuse(RequestHeaders& h) {
  h.method.clear();
  h.path.clear();
  h.authority.clear();
  h.scheme.assign("http");
  h.version_minor = 1;
  h.headers.Clear();
}

void ResetForReuse(ResponseHeaders& h) {
  h.status = 200;
  h.reason.clear();
  h.headers.Clear();
}

template <typename T>
T* Take() {
  if (T* p = BlockPool<T>::Take(); p != nullptr) return p;
  return new T();
}
}  // namespace

template <typename T>
void RecyclingDelete<T>::operator()(T* p) const {
  if (!BlockPool<T>::HasRoom()) {  // off (ASan), full or gone: no reset for nothing
    delete p;
    return;
  }
  ResetForReuse(*p);
  BlockPool<T>::Keep(p);  // room was just checked, on this thread
}

template struct RecyclingDelete<RequestHeaders>;
template struct RecyclingDelete<ResponseHeaders>;

RequestHeadersPtr NewRequestHeaders() { return RequestHeadersPtr(Take<RequestHeaders>()); }
ResponseHeadersPtr NewResponseHeaders() { return ResponseHeadersPtr(Take<ResponseHeaders>()); }

const std::string* RequestHeaders::GetAny(std::string_view name) const {
  if (!name.empty() && name[0] == ':') {
    if (name == ":method") return &method;
    if (name == ":path") return &path;
    if (name == ":authority") return &authority;
    if (name == ":scheme") return &scheme;
    return nullptr;
  }
  if (EqualsIgnoreCase(name, "host")) return &authority;
  return headers.Get(name);
}

std::string_view StatusReason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace pilotfish::http
