// InitialFetchTimeouts: deadlines of the subscriptions still waiting for their first answer.
#include "bootstrap/initial_fetch.h"

#include <algorithm>

namespace pilotfish::bootstrap {

void InitialFetchTimeouts::Start(const Key& key, std::chrono::milliseconds timeout) {
  std::optional<event::MonotonicTime> deadline;
  if (timeout.count() > 0) deadline = time_.Now() + timeout;
  waiting_.try_emplace(key, deadline);
}

std::vector<InitialFetchTimeouts::Key> InitialFetchTimeouts::WaitingOfType(
    const std::string& type_url) const {
  std::vector<Key> out;
  for (const auto& [key, deadline] : waiting_) {
    if (key.first == type_url) out.push_back(key);
  }
  return out;
}

std::vector<InitialFetchTimeouts::Key> InitialFetchTimeouts::TakeExpired() {
  const event::MonotonicTime now = time_.Now();
  std::vector<Key> out;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second.has_value() && *it->second <= now) {
      out.push_back(it->first);
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::optional<std::chrono::milliseconds> InitialFetchTimeouts::NextDelay() const {
  std::optional<event::MonotonicTime> first;
  for (const auto& [key, deadline] : waiting_) {
    if (deadline.has_value() && (!first.has_value() || *deadline < *first)) first = deadline;
  }
  if (!first.has_value()) return std::nullopt;
  const auto left = *first - time_.Now();
  // Rounded up: a timer firing a little early finds nothing expired and waits again.
  return std::max(std::chrono::milliseconds(0), std::chrono::ceil<std::chrono::milliseconds>(left));
}

}  // namespace pilotfish::bootstrap
