// Leveled logging to stderr with Envoy's level names; the level can change at runtime.
#pragma once

#include <atomic>
#include <string_view>

namespace pilotfish::log {

enum class Level { kTrace, kDebug, kInfo, kWarning, kError, kCritical, kOff };

// Parses Envoy's names: trace, debug, info, warning/warn, error, critical, off.
bool ParseLevel(std::string_view name, Level* out);
const char* LevelName(Level level);
void SetLevel(Level level);
Level GetLevel();
bool Enabled(Level level);
// printf-style; one line, prefixed with time and level.
void Write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace pilotfish::log

#define PF_LOG(level, ...)                                                  \
  do {                                                                      \
    if (::pilotfish::log::Enabled(::pilotfish::log::Level::level)) {        \
      ::pilotfish::log::Write(::pilotfish::log::Level::level, __VA_ARGS__); \
    }                                                                       \
  } while (0)
