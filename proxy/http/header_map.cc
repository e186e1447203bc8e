// HeaderMap and status-line helpers.
#include "proxy/http/header_map.h"

#include <algorithm>
#include <cctype>

namespace pilotfish::http {
namespace {
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }
std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}
}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

void HeaderMap::Add(std::string_view name, std::string_view value) {
  entries_.emplace_back(ToLower(name), std::string(value));
}

void HeaderMap::Set(std::string_view name, std::string_view value) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return EqualsIgnoreCase(e.first, name); });
  if (it == entries_.end()) {
    Add(name, value);
    return;
  }
  it->second.assign(value);
  auto rest = std::remove_if(it + 1, entries_.end(),
                             [&](const Entry& e) { return EqualsIgnoreCase(e.first, name); });
  entries_.erase(rest, entries_.end());
}

size_t HeaderMap::Remove(std::string_view name) {
  auto rest = std::remove_if(entries_.begin(), entries_.end(),
                             [&](const Entry& e) { return EqualsIgnoreCase(e.first, name); });
  size_t n = static_cast<size_t>(entries_.end() - rest);
  entries_.erase(rest, entries_.end());
  return n;
}

const std::string* HeaderMap::Get(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (EqualsIgnoreCase(e.first, name)) return &e.second;
  }
  return nullptr;
}

size_t HeaderMap::Count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return EqualsIgnoreCase(e.first, name);
  }));
}

size_t HeaderMap::ByteSize() const {
  size_t n = 0;
  for (const Entry& e : entries_) n += e.first.size() + e.second.size();
  return n;
}

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
