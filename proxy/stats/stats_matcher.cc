// StatsMatcher: Envoy's string matcher semantics (safe_regex must match the whole name).
#include "proxy/stats/stats_matcher.h"

#include <re2/re2.h>

#include "proxy/common/str_util.h"

namespace pilotfish::stats {

StatsMatcher::StatsMatcher(const config::StatsMatcher& config) : kind_(config.kind) {
  for (const config::StringMatcher& m : config.patterns) {
    Pattern p;
    p.config = m;
    if (m.kind == config::StringMatchKind::kSafeRegex) {
      RE2::Options options;
      options.set_log_errors(false);
      options.set_case_sensitive(!m.ignore_case);
      p.regex = std::make_unique<RE2>(m.value, options);
    } else if (m.ignore_case) {
      p.config.value = ToLower(m.value);
    }
    patterns_.push_back(std::move(p));
  }
}

StatsMatcher::~StatsMatcher() = default;

bool StatsMatcher::Pattern::Matches(std::string_view name) const {
  std::string lowered;
  if (config.ignore_case && config.kind != config::StringMatchKind::kSafeRegex) {
    lowered = ToLower(name);
    name = lowered;
  }
  switch (config.kind) {
    case config::StringMatchKind::kExact:
      return name == config.value;
    case config::StringMatchKind::kPrefix:
      return StartsWith(name, config.value);
    case config::StringMatchKind::kSuffix:
      return EndsWith(name, config.value);
    case config::StringMatchKind::kContains:
      return Contains(name, config.value);
    case config::StringMatchKind::kSafeRegex:
      return regex->ok() && RE2::FullMatch(re2::StringPiece(name.data(), name.size()), *regex);
  }
  return false;
}

bool StatsMatcher::AnyMatches(std::string_view name) const {
  for (const Pattern& p : patterns_) {
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
