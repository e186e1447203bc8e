// StatsConfig translation; see stats_translate.h.
#include "xds/translate/stats_translate.h"

#include <re2/re2.h>

#include "absl/strings/str_cat.h"
#include "proxy/stats/tag_extractor.h"
#include "xds/translate/field_check.h"
#include "xds/translate/matcher_translate.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {
namespace {

using envoy::config::metrics::v3::StatsMatcher;
using envoy::config::metrics::v3::TagSpecifier;

absl::StatusOr<config::StatsTag> TranslateTag(const TagSpecifier& tag, const std::string& path) {
  XDS_RETURN_IF_ERROR(CheckFields(tag, path, {.handled = {"tag_name", "regex", "fixed_value"}}));
  config::StatsTag out;
  out.tag_name = tag.tag_name();
  if (out.tag_name.empty()) return InvalidAt(FieldPath(path, "tag_name"), "must not be empty");
  switch (tag.tag_value_case()) {
    case TagSpecifier::kFixedValue:
      out.fixed_value = tag.fixed_value();
      break;
    case TagSpecifier::kRegex: {
      out.regex = tag.regex();
      // Envoy's tag regexes are ECMAScript; pilotfish runs them with RE2 after rewriting the
      // one lookahead form Istio uses (see ToRe2TagRegex).
      const std::string re2 = stats::ToRe2TagRegex(out.regex);
      RE2 re(re2, RE2::Quiet);
      if (!re.ok()) {
        return InvalidAt(FieldPath(path, "regex"),
                         absl::StrCat("invalid regex '", out.regex, "': ", re.error()));
      }
      if (re.NumberOfCapturingGroups() < 1) {
        return InvalidAt(FieldPath(path, "regex"),
                         absl::StrCat("regex '", out.regex,
                                      "' needs a capture group (the part cut from the name)"));
      }
      break;
    }
    default:
      if (!stats::IsDefaultTagName(out.tag_name)) {
        return InvalidAt(path, absl::StrCat("no regex for tag '", out.tag_name,
                                            "' and Envoy has no default regex for that name"));
      }
      break;
  }
  return out;
}

absl::StatusOr<config::StatsMatcher> TranslateMatcher(const StatsMatcher& matcher,
                                                      const std::string& path) {
  XDS_RETURN_IF_ERROR(
      CheckFields(matcher, path, {.handled = {"reject_all", "exclusion_list", "inclusion_list"}}));
  config::StatsMatcher out;
  const envoy::type::matcher::v3::ListStringMatcher* list = nullptr;
  std::string list_path;
  switch (matcher.stats_matcher_case()) {
    case StatsMatcher::kRejectAll:
      out.kind = matcher.reject_all() ? config::StatsMatcher::Kind::kRejectAll
                                      : config::StatsMatcher::Kind::kAcceptAll;
      return out;
    case StatsMatcher::kExclusionList:
      out.kind = config::StatsMatcher::Kind::kExclusionList;
      list = &matcher.exclusion_list();
      list_path = FieldPath(path, "exclusion_list");
      break;
    case StatsMatcher::kInclusionList:
      out.kind = config::StatsMatcher::Kind::kInclusionList;
      list = &matcher.inclusion_list();
      list_path = FieldPath(path, "inclusion_list");
      break;
    default:
      return out;
  }
  XDS_RETURN_IF_ERROR(CheckFields(*list, list_path, {.handled = {"patterns"}}));
  for (int i = 0; i < list->patterns_size(); ++i) {
    XDS_ASSIGN_OR_RETURN(
        config::StringMatcher m,
        TranslateStringMatcher(list->patterns(i), IndexPath(list_path, "patterns", i)));
    out.patterns.push_back(std::move(m));
  }
  return out;
}

}  // namespace

absl::StatusOr<config::StatsConfig> TranslateStatsConfig(
    const envoy::config::metrics::v3::StatsConfig& stats, const std::string& path,
    std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(
      CheckFields(stats, path,
                  {.handled = {"stats_tags", "use_all_default_tags", "stats_matcher"},
                   .ignored = {"histogram_bucket_settings"}},
                  warnings));
  config::StatsConfig out;
  for (int i = 0; i < stats.stats_tags_size(); ++i) {
    XDS_ASSIGN_OR_RETURN(config::StatsTag tag,
                         TranslateTag(stats.stats_tags(i), IndexPath(path, "stats_tags", i)));
    out.stats_tags.push_back(std::move(tag));
  }
  if (stats.has_use_all_default_tags()) {
    out.use_all_default_tags = stats.use_all_default_tags().value();
  }
  if (stats.has_stats_matcher()) {
    XDS_ASSIGN_OR_RETURN(out.stats_matcher,
                         TranslateMatcher(stats.stats_matcher(), FieldPath(path, "stats_matcher")));
  }
  return out;
}

}  // namespace pilotfish::xds
