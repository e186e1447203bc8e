// StatsMatcher: Envoy's string matcher semantics (safe_regex must match the whole name).
#include "proxy/stats/stats_matcher.h"

namespace pilotfish::stats {

StatsMatcher::StatsMatcher(const config::StatsMatcher& config) : kind_(config.kind) {
  for (const config::StringMatcher& m : config.patterns) {
    auto p = matcher::StringMatcherImpl::Create(m);
    if (p.ok()) patterns_.push_back(std::move(*p));
  }
}

bool StatsMatcher::AnyMatches(std::string_view name) const {
  for (const matcher::StringMatcherImpl& p : patterns_) {
    if (p.Matches(name)) return true;
  }
  return false;
}

bool StatsMatcher::Rejects(std::string_view name) const {
  switch (kind_) {
    case config::StatsMatcher::Kind::kAcceptAll:
      return false;
    case config::StatsMatcher::Kind::kRejectAll:
      return true;
    case config::StatsMatcher::Kind::kInclusionList:
      return !AnyMatches(name);
    case config::StatsMatcher::Kind::kExclusionList:
      return AnyMatches(name);
  }
  return false;
}

}  // namespace pilotfish::stats
