// Matcher translation and RE2 validation; see matcher_translate.h.
#include "xds/translate/matcher_translate.h"

#include <re2/re2.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "xds/translate/field_check.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

absl::Status NonEmpty(const std::string& value, absl::string_view path) {
  if (value.empty()) return InvalidAt(path, "must not be empty");
  return absl::OkStatus();
}

config::StringMatcher Literal(config::StringMatchKind kind, const std::string& value) {
  config::StringMatcher m;
  m.kind = kind;
  m.value = value;
  return m;
}

}  // namespace

absl::Status ValidateRegex(const std::string& regex, absl::string_view path) {
  RE2 re(regex, RE2::Quiet);
  if (!re.ok()) {
    return InvalidAt(path, absl::StrCat("invalid regex '", regex, "': ", re.error()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> TranslateRegexMatcher(
    const envoy::type::matcher::v3::RegexMatcher& matcher, absl::string_view path) {
  // google_re2 (deprecated) only selects the engine we use anyway.
  XDS_RETURN_IF_ERROR(CheckFields(matcher, path, {.handled = {"regex", "google_re2"}}));
  const std::string regex_path = FieldPath(path, "regex");
  XDS_RETURN_IF_ERROR(NonEmpty(matcher.regex(), regex_path));
  XDS_RETURN_IF_ERROR(ValidateRegex(matcher.regex(), regex_path));
  return matcher.regex();
}

absl::StatusOr<std::pair<std::string, std::string>> TranslateRegexRewrite(
    const envoy::type::matcher::v3::RegexMatchAndSubstitute& rewrite, absl::string_view path) {
  XDS_RETURN_IF_ERROR(CheckFields(rewrite, path, {.handled = {"pattern", "substitution"}}));
  XDS_ASSIGN_OR_RETURN(std::string pattern,
                       TranslateRegexMatcher(rewrite.pattern(), FieldPath(path, "pattern")));
  RE2 re(pattern, RE2::Quiet);
  std::string error;
  if (!re.CheckRewriteString(rewrite.substitution(), &error)) {
    return InvalidAt(FieldPath(path, "substitution"), error);
  }
  return std::make_pair(std::move(pattern), rewrite.substitution());
}

absl::StatusOr<config::StringMatcher> TranslateStringMatcher(
    const envoy::type::matcher::v3::StringMatcher& matcher, absl::string_view path) {
  using envoy::type::matcher::v3::StringMatcher;
  XDS_RETURN_IF_ERROR(CheckFields(
      matcher, path,
      {.handled = {"exact", "prefix", "suffix", "safe_regex", "contains", "ignore_case"}}));
  config::StringMatcher out;
  switch (matcher.match_pattern_case()) {
    case StringMatcher::kExact:
      out = Literal(config::StringMatchKind::kExact, matcher.exact());
      break;
    case StringMatcher::kPrefix:
      XDS_RETURN_IF_ERROR(NonEmpty(matcher.prefix(), FieldPath(path, "prefix")));
      out = Literal(config::StringMatchKind::kPrefix, matcher.prefix());
      break;
    case StringMatcher::kSuffix:
      XDS_RETURN_IF_ERROR(NonEmpty(matcher.suffix(), FieldPath(path, "suffix")));
      out = Literal(config::StringMatchKind::kSuffix, matcher.suffix());
      break;
    case StringMatcher::kContains:
      XDS_RETURN_IF_ERROR(NonEmpty(matcher.contains(), FieldPath(path, "contains")));
      out = Literal(config::StringMatchKind::kContains, matcher.contains());
      break;
    case StringMatcher::kSafeRegex: {
      XDS_ASSIGN_OR_RETURN(std::string regex, TranslateRegexMatcher(matcher.safe_regex(),
                                                                    FieldPath(path, "safe_regex")));
      out = Literal(config::StringMatchKind::kSafeRegex, regex);
      break;
    }
    default:
      return InvalidAt(path, "one of exact, prefix, suffix, contains or safe_regex is required");
  }
  out.ignore_case = matcher.ignore_case();
  return out;
}

// The legacy *_match fields are deprecated in favour of string_match; Envoy still accepts them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
absl::StatusOr<config::HeaderMatcher> TranslateHeaderMatcher(
    const envoy::config::route::v3::HeaderMatcher& matcher, absl::string_view path) {
  using envoy::config::route::v3::HeaderMatcher;
  XDS_RETURN_IF_ERROR(
      CheckFields(matcher, path,
                  {.handled = {"name", "exact_match", "safe_regex_match", "range_match",
                               "present_match", "prefix_match", "suffix_match", "contains_match",
                               "string_match", "invert_match", "treat_missing_header_as_empty"}}));
  config::HeaderMatcher out;
  out.name = absl::AsciiStrToLower(matcher.name());
  XDS_RETURN_IF_ERROR(NonEmpty(out.name, FieldPath(path, "name")));
  out.invert_match = matcher.invert_match();
  out.treat_missing_header_as_empty = matcher.treat_missing_header_as_empty();
  auto string_kind = [&out](config::StringMatchKind kind, const std::string& value) {
    out.kind = config::HeaderMatcher::Kind::kString;
    out.string_match = Literal(kind, value);
  };
  switch (matcher.header_match_specifier_case()) {
    case HeaderMatcher::kExactMatch:
      string_kind(config::StringMatchKind::kExact, matcher.exact_match());
      break;
    case HeaderMatcher::kSafeRegexMatch: {
      XDS_ASSIGN_OR_RETURN(
          std::string regex,
          TranslateRegexMatcher(matcher.safe_regex_match(), FieldPath(path, "safe_regex_match")));
      string_kind(config::StringMatchKind::kSafeRegex, regex);
      break;
    }
    case HeaderMatcher::kRangeMatch:
      out.kind = config::HeaderMatcher::Kind::kRange;
      out.range_start = matcher.range_match().start();
      out.range_end = matcher.range_match().end();
      break;
    case HeaderMatcher::kPresentMatch:
      out.kind = config::HeaderMatcher::Kind::kPresent;
      out.present_match = matcher.present_match();
      break;
    case HeaderMatcher::kPrefixMatch:
      XDS_RETURN_IF_ERROR(NonEmpty(matcher.prefix_match(), FieldPath(path, "prefix_match")));
      string_kind(config::StringMatchKind::kPrefix, matcher.prefix_match());
      break;
    case HeaderMatcher::kSuffixMatch:
      XDS_RETURN_IF_ERROR(NonEmpty(matcher.suffix_match(), FieldPath(path, "suffix_match")));
      string_kind(config::StringMatchKind::kSuffix, matcher.suffix_match());
      break;
    case HeaderMatcher::kContainsMatch:
      XDS_RETURN_IF_ERROR(NonEmpty(matcher.contains_match(), FieldPath(path, "contains_match")));
      string_kind(config::StringMatchKind::kContains, matcher.contains_match());
      break;
    case HeaderMatcher::kStringMatch: {
      XDS_ASSIGN_OR_RETURN(
          config::StringMatcher m,
          TranslateStringMatcher(matcher.string_match(), FieldPath(path, "string_match")));
      out.kind = config::HeaderMatcher::Kind::kString;
      out.string_match = std::move(m);
      break;
    }
    default:
      // Envoy: with no match specifier the header only has to be present.
      out.kind = config::HeaderMatcher::Kind::kPresent;
      out.present_match = true;
      break;
  }
  return out;
}
#pragma GCC diagnostic pop

absl::StatusOr<config::QueryParameterMatcher> TranslateQueryParameterMatcher(
    const envoy::config::route::v3::QueryParameterMatcher& matcher, absl::string_view path) {
  XDS_RETURN_IF_ERROR(
      CheckFields(matcher, path, {.handled = {"name", "string_match", "present_match"}}));
  config::QueryParameterMatcher out;
  out.name = matcher.name();
  XDS_RETURN_IF_ERROR(NonEmpty(out.name, FieldPath(path, "name")));
  if (matcher.has_string_match()) {
    XDS_ASSIGN_OR_RETURN(out.string_match, TranslateStringMatcher(matcher.string_match(),
                                                                  FieldPath(path, "string_match")));
  } else {
    // present_match (true or false) or nothing: Envoy matches whenever the parameter is present.
    out.present_match = true;
  }
  return out;
}

}  // namespace pilotfish::xds
