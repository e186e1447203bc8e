// Envoy's initial_fetch_timeout: each xDS subscription still waiting for its first answer, with
// the deadline after which initialization stops waiting for it. Time comes from a TimeSource so
// tests can move it.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proxy/event/dispatcher.h"

namespace pilotfish::bootstrap {

class InitialFetchTimeouts {
 public:
  // A subscription: the type URL and the resource name ("" for the wildcard LDS/CDS), or, for
  // EDS, the cluster that waits.
  using Key = std::pair<std::string, std::string>;

  explicit InitialFetchTimeouts(const event::TimeSource& time) : time_(time) {}

  // Starts waiting for `key` (a no-op if it already waits). A zero timeout waits forever.
  void Start(const Key& key, std::chrono::milliseconds timeout);
  // The first answer for `key` arrived, failed, or nobody needs it any more.
  void Stop(const Key& key) { waiting_.erase(key); }
  bool Waiting(const Key& key) const { return waiting_.contains(key); }
  // Every waiting subscription of `type_url`.
  std::vector<Key> WaitingOfType(const std::string& type_url) const;
  // Removes and returns the subscriptions whose deadline has passed.
  std::vector<Key> TakeExpired();
  // Time until the earliest deadline (zero once passed); nullopt when none has one.
  std::optional<std::chrono::milliseconds> NextDelay() const;

 private:
  const event::TimeSource& time_;
  std::map<Key, std::optional<event::MonotonicTime>> waiting_;  // nullopt: waits forever
};

}  // namespace pilotfish::bootstrap
