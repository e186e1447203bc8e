// START_TIME's formats: Envoy's default (%Y-%m-%dT%H:%M:%E3SZ in UTC) and custom strftime-style
// formats with absl's %E#S / %E*S, plus Envoy's own %s (epoch seconds) and %f / %[1-9]f
// (fractional second digits, 9 by default, truncated).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace pilotfish::access_log {

class TimeFormat {
 public:
  // "" selects Envoy's default format (with a per-thread cache of the formatted second).
  explicit TimeFormat(std::string_view format);

  void Append(std::chrono::system_clock::time_point t, std::string& out) const;

 private:
  struct Segment {
    enum class Kind { kAbsl, kEpochSeconds, kFraction } kind;
    std::string text;  // kAbsl: an absl::FormatTime format
    int digits = 9;    // kFraction
  };
  std::vector<Segment> segments_;  // empty: the default format
};

}  // namespace pilotfish::access_log
