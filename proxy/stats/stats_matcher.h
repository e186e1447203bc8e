// stats_matcher: decides, when a stat is created, whether it exists at all (Envoy's
// StatsMatcher: reject_all, or an inclusion or exclusion list of string matchers).
#pragma once

#include <string_view>
#include <vector>

#include "proxy/config/stats.h"
#include "proxy/matcher/string_matcher.h"

namespace pilotfish::stats {

class StatsMatcher {
 public:
  // Patterns are validated by translation; an invalid regex here is left out (never matches).
  explicit StatsMatcher(const config::StatsMatcher& config);

  bool Rejects(std::string_view name) const;
  bool accepts_all() const { return kind_ == config::StatsMatcher::Kind::kAcceptAll; }

 private:
  bool AnyMatches(std::string_view name) const;

  config::StatsMatcher::Kind kind_;
  std::vector<matcher::StringMatcherImpl> patterns_;
};

}  // namespace pilotfish::stats
