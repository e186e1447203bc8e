// Tag extraction (Envoy's TagProducer): turns "cluster.foo.upstream_rq_200" into the name
// "cluster.upstream_rq" with tags envoy.cluster_name="foo" and envoy.response_code="200", for
// Prometheus. Each extractor is a regex matched against the full name: its first capture group
// is cut from the name, its second (or first) is the tag value.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/config/stats.h"

namespace re2 {
class RE2;
}

namespace pilotfish::stats {

struct Tag {
  std::string name;
  std::string value;
  bool operator==(const Tag& o) const { return name == o.name && value == o.value; }
};

// Envoy's stats_tags regexes are ECMAScript; Istio's use the lookahead "(?=\.)" before ".*?\.",
// which RE2 lacks. "x(?=\.).*?\." and "x\..*?\." match the same names whenever anything sits
// between the two dots, so the lookahead becomes a plain "\.". Other patterns are unchanged.
inline std::string ToRe2TagRegex(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size());
  constexpr std::string_view kLookahead = "(?=\\.)";
  for (size_t i = 0; i < pattern.size();) {
    if (pattern.substr(i, kLookahead.size()) == kLookahead &&
        pattern.substr(i + kLookahead.size(), 2) == ".*") {
      out += "\\.";
      i += kLookahead.size();
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

class TagExtractor {
 public:
  // nullptr when `regex` does not compile (translation reports that; here it is skipped).
  static std::unique_ptr<TagExtractor> Create(std::string name, std::string_view regex,
                                              std::string substr = {},
                                              std::string negative_value = {});
  ~TagExtractor();

  // On a match: appends the tag and the [begin, end) range of `name` to cut.
  bool Extract(std::string_view name, std::vector<Tag>* tags,
               std::vector<std::pair<size_t, size_t>>* cut) const;
  const std::string& name() const { return name_; }

 private:
  TagExtractor() = default;
  std::string name_;
  std::string prefix_;  // the name must start with "<prefix>." (from a "^prefix\." regex)
  std::string substr_;  // ... and contain this
  std::string negative_value_;
  std::unique_ptr<re2::RE2> regex_;
};

// Envoy's default extractors for the stat families pilotfish can emit: the tag name, its regex,
// a substring a name must contain to be tried, and a tag value that means "no match".
struct DefaultTagRegex {
  const char* name;
  const char* regex;
  const char* substr;
  const char* negative_value;
};
// An IPv4 or [IPv6] address with "_port", as listener stat prefixes spell them.
#define PF_STATS_ADDRESS R"((?:(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[a-fA-F_\d]+\])_\d+))"
inline const std::vector<DefaultTagRegex>& DefaultTagRegexes() {
  // Envoy's well_known_names.cc, in its order (most specific first), for the stat families
  // pilotfish emits or may emit: responses, clusters, HCMs, listeners, workers, vhosts, tcp.
  static const std::vector<DefaultTagRegex> kDefaults = {
      {"envoy.response_code", R"(_rq(_(\d{3}))$)", "_rq_", ""},
      {"envoy.response_code_class", R"(_rq_((\d))xx$)", "_rq_", ""},
      {"envoy.http_user_agent", R"(^http\.[^.]+\.user_agent\.(([^.]+)\.))", ".user_agent.", ""},
      {"envoy.virtual_cluster", R"(^vhost\.[^.]+\.vcluster\.(([^.]+)\.))", ".vcluster.", ""},
      {"envoy.fault_downstream_cluster", R"(^http\.[^.]+\.fault\.(([^.]+)\.))", ".fault.", ""},
      {"envoy.tcp_prefix", R"(^tcp\.(([^.]+)\.))", "", ""},
      {"envoy.udp_prefix", R"(^udp\.(([^.]+)\.))", "", ""},
      {"envoy.cluster_name", R"(^cluster\.(([^.]+)\.))", "", ""},
      {"envoy.http_conn_manager_prefix", R"(^listener\..*?\.http\.(([^.]+)\.))", ".http.", ""},
      {"envoy.http_conn_manager_prefix", R"(^http\.(([^.]+)\.))", "", ""},
      {"envoy.worker_id",
       R"(^(?:listener\.(?:)" PF_STATS_ADDRESS
       R"(|[^.]+)\.|server\.|listener_manager\.)worker_((\d+)\.))",
       "worker_", ""},
      {"envoy.listener_address", R"(^listener\.(()" PF_STATS_ADDRESS R"(|[^.]+)\.))", "", "admin"},
      {"envoy.virtual_host", R"(^vhost\.(([^.]+)\.))", "", ""},
      {"envoy.rds_route_config", R"(^http\.[^.]+\.rds\.(([\w\-.]+)\.)\w+?$)", ".rds.", ""},
      {"envoy.route", R"(^vhost\.[^.]+\.route\.(([^.]+)\.))", ".route.", ""},
  };
  return kDefaults;
}
#undef PF_STATS_ADDRESS

// Whether Envoy has a default regex for `tag_name` (a stats_tags entry may then omit it).
inline bool IsDefaultTagName(std::string_view tag_name) {
  for (const DefaultTagRegex& d : DefaultTagRegexes()) {
    if (tag_name == d.name) return true;
  }
  return false;
}

// Istio's inline labels: each "<key>=.=<value>;.;" segment of a name becomes the tag <key> and
// is cut ("istiocustom.reporter=.=source;.;istio_requests_total" -> "istiocustom.
// istio_requests_total" with reporter="source"). Segments an earlier extractor already cut
// (Istio's own stats_tags regexes for the same keys) are skipped.
void ExtractInlineTags(std::string_view name, std::vector<Tag>* tags,
                       std::vector<std::pair<size_t, size_t>>* cut);

class TagProducer {
 public:
  explicit TagProducer(const config::StatsConfig& config);
  ~TagProducer();

  // The tag-extracted name of `name` (what Prometheus names the metric), filling `tags`.
  std::string Produce(std::string_view name, std::vector<Tag>* tags) const;

 private:
  std::vector<std::unique_ptr<TagExtractor>> extractors_;
  std::vector<Tag> fixed_tags_;
};

}  // namespace pilotfish::stats
