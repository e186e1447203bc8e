// stats_matcher: decides, when a stat is created, whether it exists at all (Envoy's
// StatsMatcher: reject_all, or an inclusion or exclusion list of string matchers).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "proxy/config/stats.h"

namespace re2 {
class RE2;
}

namespace pilotfish::stats {

class StatsMatcher {
 public:
  // Patterns are validated by translation; an invalid regex here never matches.
  explicit StatsMatcher(const config::StatsMatcher& config);
  ~StatsMatcher();

  bool Rejects(std::string_view name) const;
  bool accepts_all() const { return kind_ == config::StatsMatcher::Kind::kAcceptAll; }

 private:
  struct Pattern {
    config::StringMatcher config;
    std::unique_ptr<re2::RE2> regex;  // kSafeRegex
    bool Matches(std::string_view name) const;
  };
  bool AnyMatches(std::string_view name) const;

  config::StatsMatcher::Kind kind_;
  std::vector<Pattern> patterns_;
};

}  // namespace pilotfish::stats
