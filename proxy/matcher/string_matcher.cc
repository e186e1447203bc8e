// StringMatcherImpl and CompileRegex: Envoy's StringMatcher semantics, compiled once.
#include "proxy/matcher/string_matcher.h"

#include "absl/strings/str_cat.h"
#include "proxy/common/str_util.h"

namespace pilotfish::matcher {

absl::StatusOr<std::shared_ptr<const RE2>> CompileRegex(const std::string& pattern,
                                                        bool case_sensitive) {
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_case_sensitive(case_sensitive);
  auto re = std::make_shared<const RE2>(pattern, opts);
  if (!re->ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid regex '", pattern, "': ", re->error()));
  }
  return re;
}

absl::StatusOr<StringMatcherImpl> StringMatcherImpl::Create(const config::StringMatcher& m) {
  StringMatcherImpl impl;
  impl.config_ = m;
  if (m.kind == config::StringMatchKind::kSafeRegex) {
    auto re = CompileRegex(m.value, !m.ignore_case);
    if (!re.ok()) return re.status();
    impl.regex_ = *re;
  } else if (m.ignore_case) {
    impl.config_.value = ToLower(m.value);
  }
  return impl;
}

bool StringMatcherImpl::Matches(std::string_view value) const {
  std::string lowered;
  if (config_.ignore_case && config_.kind != config::StringMatchKind::kSafeRegex) {
    lowered = ToLower(value);
    value = lowered;
  }
  switch (config_.kind) {
    case config::StringMatchKind::kExact:
      return value == config_.value;
    case config::StringMatchKind::kPrefix:
      return StartsWith(value, config_.value);
    case config::StringMatchKind::kSuffix:
      return EndsWith(value, config_.value);
    case config::StringMatchKind::kContains:
      return Contains(value, config_.value);
    case config::StringMatchKind::kSafeRegex:
      return RE2::FullMatch(value, *regex_);
  }
  return false;
}

}  // namespace pilotfish::matcher
