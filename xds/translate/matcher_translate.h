// Matchers shared by routes, retry policies and access-log filters: RE2 regexes (validated by
// compiling them), string matchers, header matchers and query-parameter matchers.
#pragma once

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/type/matcher/v3/regex.pb.h"
#include "envoy/type/matcher/v3/string.pb.h"
#include "proxy/config/types.h"

namespace pilotfish::xds {

// Compiles `regex` with RE2; the error names `path` and carries RE2's message.
absl::Status ValidateRegex(const std::string& regex, absl::string_view path);

// The RE2 pattern of a RegexMatcher, validated.
absl::StatusOr<std::string> TranslateRegexMatcher(
    const envoy::type::matcher::v3::RegexMatcher& matcher, absl::string_view path);

// (pattern, substitution) of a RegexMatchAndSubstitute; the substitution's \N references must
// exist in the pattern.
absl::StatusOr<std::pair<std::string, std::string>> TranslateRegexRewrite(
    const envoy::type::matcher::v3::RegexMatchAndSubstitute& rewrite, absl::string_view path);

absl::StatusOr<config::StringMatcher> TranslateStringMatcher(
    const envoy::type::matcher::v3::StringMatcher& matcher, absl::string_view path);

absl::StatusOr<config::HeaderMatcher> TranslateHeaderMatcher(
    const envoy::config::route::v3::HeaderMatcher& matcher, absl::string_view path);

absl::StatusOr<config::QueryParameterMatcher> TranslateQueryParameterMatcher(
    const envoy::config::route::v3::QueryParameterMatcher& matcher, absl::string_view path);

}  // namespace pilotfish::xds
