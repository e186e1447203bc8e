// Envoy's StringMatcher (exact, prefix, suffix, contains, safe_regex; ignore_case), compiled once
// (RE2 for safe_regex) and matched many times. Shared by routes, retry policies and stats_matcher.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "proxy/config/types.h"

namespace pilotfish::matcher {

// An RE2 compiled for matching; the error names the pattern.
absl::StatusOr<std::shared_ptr<const RE2>> CompileRegex(const std::string& pattern,
                                                        bool case_sensitive = true);

class StringMatcherImpl {
 public:
  // Fails when a safe_regex does not compile.
  static absl::StatusOr<StringMatcherImpl> Create(const config::StringMatcher& m);
  bool Matches(std::string_view value) const;

 private:
  config::StringMatcher config_;
  std::shared_ptr<const RE2> regex_;
};

}  // namespace pilotfish::matcher
