// START_TIME formatting; see time_format.h.
#include "proxy/access_log/time_format.h"

#include <time.h>

#include <charconv>
#include <cstdint>

#include "absl/time/time.h"

namespace pilotfish::access_log {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000;

// Seconds since the epoch (floor) and the nanoseconds within that second.
void Split(std::chrono::system_clock::time_point t, int64_t* seconds, int64_t* nanos) {
  const int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  *seconds = ns / kNanosPerSecond;
  *nanos = ns % kNanosPerSecond;
  if (*nanos < 0) {
    *nanos += kNanosPerSecond;
    --*seconds;
  }
}

void AppendDigits(int64_t value, int width, char* out) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ". The first 19 characters change once a second: each thread keeps
// the last second it formatted.
void AppendDefault(std::chrono::system_clock::time_point t, std::string& out) {
  struct Cache {
    int64_t second = INT64_MIN;
    char text[19];
  };
  thread_local Cache cache;
  int64_t seconds, nanos;
  Split(t, &seconds, &nanos);
  if (seconds != cache.second) {
    const time_t tt = static_cast<time_t>(seconds);
    struct tm tm;
    gmtime_r(&tt, &tm);
    char* p = cache.text;
    AppendDigits(tm.tm_year + 1900, 4, p);
    p[4] = '-';
    AppendDigits(tm.tm_mon + 1, 2, p + 5);
    p[7] = '-';
    AppendDigits(tm.tm_mday, 2, p + 8);
    p[10] = 'T';
    AppendDigits(tm.tm_hour, 2, p + 11);
    p[13] = ':';
    AppendDigits(tm.tm_min, 2, p + 14);
    p[16] = ':';
    AppendDigits(tm.tm_sec, 2, p + 17);
    cache.second = seconds;
  }
  char tail[5] = {'.', '0', '0', '0', 'Z'};
  AppendDigits(nanos / 1000000, 3, tail + 1);
  out.append(cache.text, sizeof(cache.text));
  out.append(tail, sizeof(tail));
}

}  // namespace

TimeFormat::TimeFormat(std::string_view format) {
  std::string current;
  auto flush = [&] {
    if (current.empty()) return;
    segments_.push_back({Segment::Kind::kAbsl, std::move(current), 0});
    current.clear();
  };
  for (size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c == '%' && i + 1 < format.size()) {
      const char next = format[i + 1];
      if (next == '%') {  // a literal '%': absl prints it
        current += "%%";
        ++i;
        continue;
      }
      if (next == 's') {
        flush();
        segments_.push_back({Segment::Kind::kEpochSeconds, "", 0});
        ++i;
        continue;
      }
      if (next == 'f') {
        flush();
        segments_.push_back({Segment::Kind::kFraction, "", 9});
        ++i;
        continue;
      }
      if (next >= '1' && next <= '9' && i + 2 < format.size() && format[i + 2] == 'f') {
        flush();
        segments_.push_back({Segment::Kind::kFraction, "", next - '0'});
        i += 2;
        continue;
      }
    }
    current.push_back(c);
  }
  flush();
}

void TimeFormat::Append(std::chrono::system_clock::time_point t, std::string& out) const {
  if (segments_.empty()) {
    AppendDefault(t, out);
    return;
  }
  int64_t seconds, nanos;
  Split(t, &seconds, &nanos);
  for (const Segment& s : segments_) {
    switch (s.kind) {
      case Segment::Kind::kAbsl:
        out += absl::FormatTime(s.text, absl::FromChrono(t), absl::UTCTimeZone());
        break;
      case Segment::Kind::kEpochSeconds: {
        char buf[24];
        out.append(buf, std::to_chars(buf, buf + sizeof(buf), seconds).ptr);
        break;
      }
      case Segment::Kind::kFraction: {
        char buf[9];
        AppendDigits(nanos, 9, buf);
        out.append(buf, static_cast<size_t>(s.digits));
        break;
      }
    }
  }
}

}  // namespace pilotfish::access_log
