// Small string helpers on std::string_view. Debian's abseil is built with its own
// absl::string_view (not std::string_view), so absl's string functions do not take ours.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace pilotfish {

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
inline bool Contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}
inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}
inline std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}
inline std::string_view TrimWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
// `v` in decimal, written into `buf` (no allocation, unlike std::to_string).
struct DecimalBuffer {
  char buf[24];
};
inline std::string_view FormatDecimal(DecimalBuffer& b, int64_t v) {
  const auto r = std::to_chars(b.buf, b.buf + sizeof(b.buf), v);
  return std::string_view(b.buf, static_cast<size_t>(r.ptr - b.buf));
}
// Whole-string unsigned/signed decimal or hex parse; false on any junk or overflow.
template <typename T>
bool ParseInt(std::string_view s, T* out, int base = 10) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace pilotfish
