// Request path normalization (see path_util.h).
#include "proxy/http/path_util.h"

#include <vector>

namespace pilotfish::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Bytes a canonical path never carries raw.
bool MustEscape(unsigned char c) {
  return c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>';
}

// Percent-escapes decoded when they name an unreserved character, upper-cased otherwise;
// backslashes become slashes; bytes that must not appear raw are escaped.
std::string CanonicalEscapes(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(path[i]);
    if (c == '%' && i + 2 < path.size() && HexValue(path[i + 1]) >= 0 &&
        HexValue(path[i + 2]) >= 0) {
      const auto decoded =
          static_cast<unsigned char>(HexValue(path[i + 1]) * 16 + HexValue(path[i + 2]));
      if (Unreserved(decoded)) {
        out.push_back(static_cast<char>(decoded));
      } else {
        out.push_back('%');
        out.push_back(kHex[decoded >> 4]);
        out.push_back(kHex[decoded & 0xf]);
      }
      i += 2;
    } else if (c == '\\') {
      out.push_back('/');
    } else if (MustEscape(c)) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// RFC 3986 5.2.4 on an absolute path: "." segments vanish, ".." removes the segment before it
// (never above the root); a trailing "." or ".." leaves a trailing slash.
std::string RemoveDotSegments(std::string_view path) {
  std::vector<std::string_view> out;
  std::string_view rest = path.substr(1);
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (seg == ".") {
      if (last) out.emplace_back();
    } else if (seg == "..") {
      if (!out.empty()) out.pop_back();
      if (last) out.emplace_back();
    } else {
      out.push_back(seg);
    }
    if (last) break;
    rest = rest.substr(slash + 1);
  }
  std::string result;
  result.reserve(path.size());
  for (std::string_view seg : out) {
    result.push_back('/');
    result.append(seg);
  }
  if (result.empty()) result.push_back('/');
  return result;
}

std::string MergeSlashes(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::optional<std::string> NormalizePath(std::string_view path, bool normalize,
                                         bool merge_slashes) {
  const size_t q = path.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view() : path.substr(q);
  std::string p(path.substr(0, q));
  if (p.empty() || (p.front() != '/' && !(normalize && p.front() == '\\'))) return std::nullopt;
  if (normalize) p = RemoveDotSegments(CanonicalEscapes(p));
  if (merge_slashes) p = MergeSlashes(p);
  p.append(query);
  return p;
}

}  // namespace pilotfish::http
