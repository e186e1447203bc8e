// The bootstrap's stats_config after translation: which stats exist (stats_matcher) and how
// their names become Prometheus names and labels (stats_tags, default tag extractors).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proxy/config/types.h"

namespace pilotfish::config {

// One stats_tags entry: a regex whose first capture group is cut from the name and whose second
// (or first) group is the tag value; or a fixed value added to every stat.
struct StatsTag {
  std::string tag_name;
  std::string regex;  // empty with no fixed_value: Envoy's default regex for tag_name
  std::optional<std::string> fixed_value;
};

// stats_matcher (a oneof in Envoy): a rejected stat is never created.
struct StatsMatcher {
  enum class Kind {
    kAcceptAll,
    kRejectAll,
    kInclusionList,
    kExclusionList
  } kind = Kind::kAcceptAll;
  std::vector<StringMatcher> patterns;  // for the inclusion / exclusion list
};

struct StatsConfig {
  std::vector<StatsTag> stats_tags;
  bool use_all_default_tags = true;
  StatsMatcher stats_matcher;
};

}  // namespace pilotfish::config
