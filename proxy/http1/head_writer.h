// HeadWriter: fills an HTTP/1 message head into a string's buffer with plain copies.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pilotfish::http1 {

// Writes a message head straight into `out`'s buffer: sized once for the whole head, then
// filled with plain copies (four std::string appends per header cost several times as much).
// The constructor's size is an estimate; a write past it grows the buffer.
class HeadWriter {
 public:
  HeadWriter(std::string& out, size_t estimate) : out_(out) {
    const size_t at = out.size();
    out.resize(at + estimate);
    p_ = out.data() + at;
    end_ = out.data() + out.size();
  }
  ~HeadWriter() { out_.resize(static_cast<size_t>(p_ - out_.data())); }
  HeadWriter(const HeadWriter&) = delete;
  HeadWriter& operator=(const HeadWriter&) = delete;

  void Put(std::string_view s) {
    Room(s.size());
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void Put(char c) {
    Room(1);
    *p_++ = c;
  }
  void Decimal(uint64_t v) {
    Room(20);
    p_ = std::to_chars(p_, end_, v).ptr;
  }
  void Header(std::string_view name, std::string_view value) {
    Room(name.size() + value.size() + 4);
    std::memcpy(p_, name.data(), name.size());
    p_ += name.size();
    *p_++ = ':';
    *p_++ = ' ';
    std::memcpy(p_, value.data(), value.size());
    p_ += value.size();
    *p_++ = '\r';
    *p_++ = '\n';
  }

 private:
  void Room(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) Grow(n);
  }
  [[gnu::noinline]] void Grow(size_t n) {
    const size_t used = static_cast<size_t>(p_ - out_.data());
    out_.resize(used + n + 256);
    p_ = out_.data() + used;
    end_ = out_.data() + out_.size();
  }

  std::string& out_;
  char* p_;
  char* end_;
};

}  // namespace pilotfish::http1
