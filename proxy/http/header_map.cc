// HeaderMap and status-line helpers.
#include "proxy/http/header_map.h"

#include <algorithm>
#include <cctype>

namespace pilotfish::http {
namespace {
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }
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
  if (stored.size() != name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (stored[i] != Lower(name[i])) return false;
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
  for (size_t i = 0; i < name.size(); ++i) e.first[i] = Lower(name[i]);
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
  return RemoveIf(0, [&](const Entry& e) {
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
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kPoolSize = 0;  // ASan must see every block freed
#else
constexpr size_t kPoolSize = 64;  // per thread and type: about the streams in flight at once
#endif

// Set when the calling thread's pool has been destroyed (thread exit): blocks freed after
// that are deleted. A plain bool, so reading it late is fine.
template <typename T>
thread_local bool pool_gone = false;

template <typename T>
struct Pool {
  std::vector<T*> free;
  Pool() { free.reserve(kPoolSize); }
  ~Pool() {
    for (T* p : free) delete p;
    pool_gone<T> = true;
  }
};

template <typename T>
std::vector<T*>* ThreadPool() {
  if (kPoolSize == 0 || pool_gone<T>) return nullptr;
  thread_local Pool<T> pool;
  return &pool.free;
}

// Back to exactly what a new block holds, keeping only the header storage.
template <typename T>
void ResetForReuse(T& h) {
  HeaderMap kept = std::move(h.headers);
  kept.Clear();
  h = T();
  h.headers = std::move(kept);
}

template <typename T>
T* Take() {
  std::vector<T*>* pool = ThreadPool<T>();
  if (pool == nullptr || pool->empty()) return new T();
  T* p = pool->back();
  pool->pop_back();
  return p;
}
}  // namespace

template <typename T>
void RecyclingDelete<T>::operator()(T* p) const {
  std::vector<T*>* pool = ThreadPool<T>();
  if (pool == nullptr || pool->size() >= kPoolSize) {
    delete p;
    return;
  }
  ResetForReuse(*p);
  pool->push_back(p);
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
